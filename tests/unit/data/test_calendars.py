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
