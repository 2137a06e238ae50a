"""Each data-sanity rule on a tiny hand-made frame, with the finding worked out by hand.

Dates are July 2017 on the NYSE calendar: Monday 3rd, Tuesday 4th (Independence Day, no
session), Wednesday 5th, Thursday 6th, Friday 7th, Monday 10th; Saturday 1st and Sunday
2nd are sessions only on the 24/7 crypto calendar.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from harvester.config.models import SanityConfig
from harvester.core.errors import ConfigError, DataError
from harvester.data.sanity import RULES, SanityReport, check_frame, clean_frame

CONFIG = SanityConfig(stale_bars=3, zero_volume_bars=3, max_abs_return=0.5)
SESSIONS = ("2017-07-03", "2017-07-05", "2017-07-06", "2017-07-07")
CLOSES = (10.0, 10.5, 10.2, 10.8)

Row = tuple[str, str, float, float, float, float, float]
Found = tuple[str, str, str, float]


def bar(
    date: str,
    symbol: str = "SPY",
    *,
    close: float = 10.0,
    open_: float | None = None,
    high: float | None = None,
    low: float | None = None,
    volume: float = 100.0,
) -> Row:
    """One bar; by default open = close and the range is close ± 1."""
    opened = close if open_ is None else open_
    return (
        date,
        symbol,
        opened,
        close + 1 if high is None else high,
        close - 1 if low is None else low,
        close,
        volume,
    )


def frame(*rows: Row) -> pd.DataFrame:
    columns = ["date", "symbol", "open", "high", "low", "close", "volume"]
    long = pd.DataFrame(list(rows), columns=columns)
    long["date"] = pd.to_datetime(long["date"])
    return long


def clean_rows(symbol: str = "SPY") -> list[Row]:
    return [bar(d, symbol, close=c) for d, c in zip(SESSIONS, CLOSES, strict=True)]


def findings(long: pd.DataFrame, config: SanityConfig = CONFIG) -> list[Found]:
    report = check_frame(long, config=config, source="test.csv")
    return [(f.symbol, f.date.strftime("%Y-%m-%d"), f.rule, f.value) for f in report.findings]


def replaced(rows: list[Row], index: int, new: Row) -> list[Row]:
    return [new if n == index else row for n, row in enumerate(rows)]


# -- clean data -----------------------------------------------------------------------------


def test_clean_data_has_no_findings() -> None:
    long = frame(*clean_rows("SPY"), *clean_rows("AAPL"))
    report = check_frame(long, config=CONFIG, source="clean.csv")
    assert report.findings == ()
    assert (report.rows, report.symbols, report.source) == (8, 2, "clean.csv")
    assert report.summary_line() == "clean.csv: 8 rows, 2 symbols: no sanity findings"


def test_empty_frame_has_no_findings_and_cleans_to_empty() -> None:
    empty = frame()
    report = check_frame(empty, config=CONFIG, source="empty")
    assert (report.findings, report.rows, report.symbols) == ((), 0, 0)
    assert clean_frame(empty, report).empty


def test_every_rule_has_a_severity() -> None:
    errors = {rule for rule, severity in RULES.items() if severity == "error"}
    assert errors == {
        "duplicate_date",
        "unsorted_dates",
        "non_positive_price",
        "high_below_low",
        "close_outside_range",
        "open_outside_range",
        "negative_volume",
    }
    assert set(RULES) - errors == {
        "missing_price",
        "zero_volume_streak",
        "stale_price",
        "extreme_jump",
        "calendar_gap",
        "off_calendar",
    }


# -- row rules --------------------------------------------------------------------------------


def test_duplicate_date() -> None:
    rows = clean_rows()
    long = frame(*rows[:2], rows[1], *rows[2:])
    assert findings(long) == [("SPY", "2017-07-05", "duplicate_date", 2.0)]


def test_unsorted_dates_gives_one_finding_per_symbol() -> None:
    rows = clean_rows()
    # File order 3rd, 6th, 5th, 7th: the 5th comes after a later date.
    assert findings(frame(rows[0], rows[2], rows[1], rows[3])) == [
        ("SPY", "2017-07-05", "unsorted_dates", 1.0)
    ]
    # Newest first: three bars each follow a later one; the first of them is the 6th.
    assert findings(frame(*reversed(rows))) == [("SPY", "2017-07-06", "unsorted_dates", 3.0)]


def test_unsorted_dates_is_per_symbol_not_across_symbols() -> None:
    spy, aapl = clean_rows("SPY"), clean_rows("AAPL")
    interleaved = [row for pair in zip(spy, aapl, strict=True) for row in pair]
    assert findings(frame(*interleaved)) == []


def test_non_positive_price() -> None:
    rows = replaced(clean_rows(), 1, bar("2017-07-05", close=0.5, open_=1.0, high=1.0, low=-0.5))
    rows = replaced(rows, 2, bar("2017-07-06", close=0.0, open_=0.5, high=0.5, low=0.0))
    # On the 6th low and close are 0; the value is the first of them in OHLC order (low).
    assert findings(frame(*rows)) == [
        ("SPY", "2017-07-05", "non_positive_price", -0.5),
        ("SPY", "2017-07-05", "extreme_jump", pytest.approx(0.5 / 10.0 - 1)),
        ("SPY", "2017-07-06", "non_positive_price", 0.0),
    ]
    report = check_frame(frame(*rows), config=CONFIG)
    assert report.findings[2].message.startswith("low 0, close 0; expected prices above 0")


def test_missing_price_gives_one_finding_per_run() -> None:
    rows = clean_rows()
    rows[1] = (*rows[1][:2], np.nan, *rows[1][3:])
    rows[2] = (*rows[2][:2], np.nan, *rows[2][3:])
    assert findings(frame(*rows)) == [("SPY", "2017-07-05", "missing_price", 2.0)]


def test_high_below_low_without_range_findings() -> None:
    rows = replaced(clean_rows(), 1, bar("2017-07-05", close=9.5, high=9.0, low=10.0))
    assert findings(frame(*rows)) == [("SPY", "2017-07-05", "high_below_low", -1.0)]


def test_close_outside_range() -> None:
    rows = replaced(clean_rows(), 1, bar("2017-07-05", close=11.5, open_=10.0, high=11, low=9))
    assert findings(frame(*rows)) == [("SPY", "2017-07-05", "close_outside_range", 11.5)]


def test_open_outside_range() -> None:
    rows = replaced(clean_rows(), 1, bar("2017-07-05", close=10.0, open_=8.5, high=11, low=9))
    assert findings(frame(*rows)) == [("SPY", "2017-07-05", "open_outside_range", 8.5)]


def test_range_tolerates_rounding() -> None:
    # A close one part in ten million above the high is rounding, not a bad bar.
    rows = replaced(clean_rows(), 1, bar("2017-07-05", close=11 * (1 + 1e-7), high=11, low=9))
    assert findings(frame(*rows)) == []


def test_negative_volume() -> None:
    rows = replaced(clean_rows(), 2, bar("2017-07-06", close=10.2, volume=-5.0))
    assert findings(frame(*rows)) == [("SPY", "2017-07-06", "negative_volume", -5.0)]


# -- series rules -----------------------------------------------------------------------------


def test_zero_volume_streak_at_the_threshold() -> None:
    rows = [
        bar(d, close=c, volume=0.0 if n else 100.0)
        for n, (d, c) in enumerate(zip(SESSIONS, CLOSES, strict=True))
    ]
    assert findings(frame(*rows)) == [("SPY", "2017-07-05", "zero_volume_streak", 3.0)]


def test_zero_volume_below_the_threshold_is_fine() -> None:
    rows = replaced(clean_rows(), 1, bar("2017-07-05", close=10.5, volume=0.0))
    rows = replaced(rows, 2, bar("2017-07-06", close=10.2, volume=0.0))
    assert findings(frame(*rows)) == []


def test_stale_price() -> None:
    rows = [bar(d, close=c) for d, c in zip(SESSIONS, (10.0, 10.5, 10.5, 10.5), strict=True)]
    assert findings(frame(*rows)) == [("SPY", "2017-07-05", "stale_price", 3.0)]
    two = [bar(d, close=c) for d, c in zip(SESSIONS, (10.0, 10.5, 10.5, 10.8), strict=True)]
    assert findings(frame(*two)) == []


def test_extreme_jump_up_and_down() -> None:
    closes = (10.0, 16.0, 6.4, 6.5)  # +60 %, then -60 %, then +1.6 %
    rows = [bar(d, close=c) for d, c in zip(SESSIONS, closes, strict=True)]
    found = findings(frame(*rows))
    assert [f[:3] for f in found] == [
        ("SPY", "2017-07-05", "extreme_jump"),
        ("SPY", "2017-07-06", "extreme_jump"),
    ]
    assert [f[3] for f in found] == pytest.approx([0.6, -0.6])


def test_jump_is_measured_within_a_symbol_only() -> None:
    low = [bar(d, "AAA", close=c) for d, c in zip(SESSIONS, CLOSES, strict=True)]
    high = [bar(d, "BBB", close=c * 100) for d, c in zip(SESSIONS, CLOSES, strict=True)]
    assert findings(frame(*low, *high)) == []


# -- calendar rules -------------------------------------------------------------------------


def with_independence_day() -> list[Row]:
    rows = clean_rows()
    return [rows[0], bar("2017-07-04", close=10.3), *rows[1:]]


def test_equity_bar_on_independence_day_is_off_calendar() -> None:
    rows = with_independence_day()
    assert findings(frame(*rows)) == [("SPY", "2017-07-04", "off_calendar", 1.0)]


def test_equity_bars_on_a_weekend_are_one_run() -> None:
    rows = [bar("2017-06-30", close=9.9), bar("2017-07-01"), bar("2017-07-02", close=10.1)]
    assert findings(frame(*rows, *clean_rows())) == [("SPY", "2017-07-01", "off_calendar", 2.0)]


def test_missing_session_is_a_calendar_gap() -> None:
    rows = clean_rows()
    del rows[1]  # no bar on Wednesday 5th
    assert findings(frame(*rows)) == [("SPY", "2017-07-05", "calendar_gap", 1.0)]


def test_a_long_gap_is_one_finding() -> None:
    rows = [bar("2017-07-03"), bar("2017-07-12", close=10.5)]
    # Missed: 5th, 6th, 7th, 10th and 11th (the 4th is a holiday).
    assert findings(frame(*rows)) == [("SPY", "2017-07-05", "calendar_gap", 5.0)]


def test_crypto_trades_on_weekends() -> None:
    days = ("2017-06-30", "2017-07-01", "2017-07-02", "2017-07-03", "2017-07-04")
    closes = (2500.0, 2450.0, 2520.0, 2560.0, 2600.0)
    rows = [bar(d, "BTC-USD", close=c) for d, c in zip(days, closes, strict=True)]
    assert findings(frame(*rows)) == []
    assert findings(frame(*rows[:1], *rows[2:])) == [("BTC-USD", "2017-07-01", "calendar_gap", 1.0)]


def test_calendar_rules_can_be_turned_off() -> None:
    rows = [bar("2017-07-03"), bar("2017-07-04", close=10.2), bar("2017-07-12", close=10.5)]
    no_calendar = SanityConfig(stale_bars=3, zero_volume_bars=3, check_calendar=False)
    assert findings(frame(*rows), no_calendar) == []


def test_dates_before_the_calendar_range_are_not_checked() -> None:
    rows = [bar("1985-07-04"), bar("1985-07-06", close=10.5)]  # a holiday, then a Saturday
    assert findings(frame(*rows)) == []


# -- the report and the modes ---------------------------------------------------------------


def broken_report() -> SanityReport:
    rows = replaced(
        with_independence_day(), 2, bar("2017-07-05", close=11.5, open_=10, high=11, low=9)
    )
    return check_frame(frame(*rows), config=CONFIG, source="broken.csv")


def test_report_views_counts_and_summary() -> None:
    report = broken_report()
    assert [f.rule for f in report.errors] == ["close_outside_range"]
    assert [f.rule for f in report.warnings] == ["off_calendar"]
    assert report.counts_by_rule() == {"close_outside_range": 1, "off_calendar": 1}
    assert report.summary_line() == (
        "broken.csv: 5 rows, 1 symbols: 1 error (close_outside_range 1), 1 warning (off_calendar 1)"
    )


def test_report_json_lists_every_finding() -> None:
    document = json.loads(broken_report().to_json())
    assert document["source"] == "broken.csv"
    assert (document["rows"], document["errors"], document["warnings"]) == (5, 1, 1)
    assert [
        (f["symbol"], f["date"], f["rule"], f["value"], f["severity"]) for f in document["findings"]
    ] == [
        ("SPY", "2017-07-04", "off_calendar", 1, "warning"),
        ("SPY", "2017-07-05", "close_outside_range", 11.5, "error"),
    ]
    assert all(f["message"] for f in document["findings"])


def test_enforce_raises_one_line_naming_the_first_error() -> None:
    with pytest.raises(DataError) as caught:
        broken_report().raise_if_failed("enforce")
    message = str(caught.value)
    assert len(message.splitlines()) == 1
    assert message.startswith("broken.csv: 1 sanity error in 5 rows; first: SPY 2017-07-05 ")
    assert "close_outside_range (value 11.5)" in message
    assert "--report FILE" in message


def test_enforce_passes_on_warnings_only() -> None:
    report = check_frame(frame(*with_independence_day()), config=CONFIG)
    assert [f.rule for f in report.findings] == ["off_calendar"]
    report.raise_if_failed("enforce")  # off_calendar is a warning


def test_warn_logs_and_does_not_raise(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="harvester.data.sanity"):
        broken_report().raise_if_failed("warn")
    assert len(caplog.records) == 1
    assert "broken.csv: 5 rows" in caplog.records[0].getMessage()
    assert "close_outside_range" in caplog.records[0].getMessage()


def test_off_neither_raises_nor_logs(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="harvester.data.sanity"):
        broken_report().raise_if_failed("off")
    assert caplog.records == []


def test_unknown_mode_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        broken_report().raise_if_failed("strict")  # type: ignore[arg-type]


def test_frame_without_dates_is_a_data_error() -> None:
    with pytest.raises(DataError, match="normalised long frame"):
        check_frame(pd.DataFrame({"symbol": ["A"], "close": [1.0]}), config=CONFIG)


# -- cleaning ---------------------------------------------------------------------------------


def test_clean_frame_sorts_and_keeps_the_last_duplicate() -> None:
    rows = clean_rows()
    corrected = bar("2017-07-05", close=10.6)
    long = frame(rows[3], rows[1], bar("2017-07-03", "AAPL", close=5.0), rows[0], corrected)
    cleaned = clean_frame(long, check_frame(long, config=CONFIG))
    assert list(zip(cleaned["symbol"], cleaned["date"].dt.strftime("%d"), strict=True)) == [
        ("AAPL", "03"),
        ("SPY", "03"),
        ("SPY", "05"),
        ("SPY", "07"),
    ]
    assert cleaned["close"].tolist() == [5.0, 10.0, 10.6, 10.8]


def test_clean_frame_does_not_repair_prices() -> None:
    rows = replaced(clean_rows(), 1, bar("2017-07-05", close=-1.0, high=0.0, low=-2.0))
    long = frame(*rows)
    pd.testing.assert_frame_equal(clean_frame(long, check_frame(long, config=CONFIG)), long)


def test_clean_frame_rejects_a_report_of_another_frame() -> None:
    long = frame(*clean_rows())
    with pytest.raises(DataError, match="report covers 3 rows"):
        clean_frame(long, check_frame(long.iloc[:3], config=CONFIG))
