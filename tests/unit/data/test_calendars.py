"""Trading calendars from exchange_calendars: US holidays, early closes, crypto every day."""

from __future__ import annotations

import pandas as pd
import pytest

from harvester.core.errors import ConfigError
from harvester.data.calendars import calendar_name_for, early_closes, sessions


def test_us_holidays_have_no_session() -> None:
    days = sessions("XNYS", "2017-01-01", "2017-12-31")
    for holiday in ("2017-01-02", "2017-01-16", "2017-04-14", "2017-07-04", "2017-12-25"):
        assert pd.Timestamp(holiday) not in days
    # 2017 had 251 NYSE sessions (365 days - 105 weekend days - 9 holidays).
    assert len(days) == 251


def test_early_closes_are_known() -> None:
    closes = early_closes("XNYS", "2017-01-01", "2017-12-31")
    assert list(closes.strftime("%Y-%m-%d")) == ["2017-07-03", "2017-11-24"]


def test_crypto_trades_every_day_including_weekends() -> None:
    days = sessions(calendar_name_for("crypto"), "2017-07-01", "2017-07-09")
    assert len(days) == 9
    assert pd.Timestamp("2017-07-01") in days  # a Saturday
    assert pd.Timestamp("2017-07-04") in days


def test_equity_and_etf_use_the_exchange_calendar() -> None:
    assert calendar_name_for("equity") == "XNYS"
    assert calendar_name_for("etf") == "XNYS"


def test_unknown_calendar_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown trading calendar 'NOPE'"):
        sessions("NOPE", "2017-01-01", "2017-02-01")


def test_ranges_beyond_the_calendar_history_are_clipped() -> None:
    days = sessions("XNYS", "1985-01-01", "1990-01-05")
    assert [d.strftime("%Y-%m-%d") for d in days] == [
        "1990-01-02", "1990-01-03", "1990-01-04", "1990-01-05",
    ]  # fmt: skip
    assert len(sessions("XNYS", "1970-01-01", "1980-01-01")) == 0


def test_a_calendar_starting_after_1990_can_be_used() -> None:
    # Tokyo's history in exchange_calendars starts later than New York's.
    days = sessions("XTKS", "2017-01-01", "2017-01-10")
    assert pd.Timestamp("2017-01-04") in days
