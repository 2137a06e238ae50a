"""Malformed input never escapes as anything but a HarvesterError.

Random CSV texts, random bytes and random frames go through the whole loading path
(``read_long_file`` or ``normalize_long`` → ``check_frame`` → ``clean_frame`` →
``Panel.from_long``). Each example ends in a valid Panel or in a HarvesterError with a
one-line message; any other exception is a bug.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harvester.config.models import SanityConfig
from harvester.core.errors import HarvesterError
from harvester.data.panel import Panel
from harvester.data.readers import normalize_long, read_long_file
from harvester.data.sanity import check_frame, clean_frame

CANONICAL = ["date", "symbol", "open", "high", "low", "close", "volume"]
OTHER_NAMES = [
    "Date", "timestamp", "datetime", "time", "Ticker", "Name", "Symbol", "Open", "HIGH",
    "Adj Close", "adj_close", "attention", "extra", "", "Unnamed: 0", "close", "Volume",
]  # fmt: skip
CONFIG = SanityConfig(stale_bars=3, zero_volume_bars=2, max_abs_return=0.3)
EXAMPLES = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

good_dates = st.dates(min_value=date(1985, 1, 1), max_value=date(2030, 12, 31)).map(str)
bad_dates = st.sampled_from(
    ["", "not-a-date", "2024-13-45", "0", "1e9", "NaT", "20240230", "1700000000", "99999999"]
)
aware_dates = st.sampled_from(["2024-01-02T10:00:00+05:00", "2024-01-02 00:00:00-03:00"])
dates = st.one_of(good_dates, good_dates, good_dates, bad_dates, aware_dates, st.text(max_size=8))
symbols = st.one_of(
    st.sampled_from(["SPY", "AAPL", "BTC-USD", "eth-usd", "", " "]), st.text(max_size=4)
)
prices = st.floats(min_value=0.01, max_value=1000.0).map(lambda x: f"{x:.4f}")
odd_numbers = st.one_of(
    st.sampled_from(["", "nan", "null", "abc", "-1", "0", "1e400", "inf", "-0", "1,5"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.text(max_size=5),
)
numbers = st.one_of(prices, prices, prices, odd_numbers)
# Values that load but may break sanity rules: zero, negative and missing prices.
loadable_numbers = st.one_of(prices, prices, prices, st.sampled_from(["", "0", "-1.5", "nan"]))
loadable_symbols = st.sampled_from(["SPY", "AAPL", "BTC-USD", "eth-usd"])


def cell_for(name: str, *, loadable: bool) -> st.SearchStrategy[str]:
    key = name.strip().lower()
    if key in ("date", "timestamp", "datetime", "time"):
        return good_dates if loadable else dates
    if key in ("symbol", "ticker", "name"):
        return loadable_symbols if loadable else symbols
    return loadable_numbers if loadable else numbers


@st.composite
def headers(draw: st.DrawFn) -> list[str]:
    if draw(st.booleans()):
        names = list(CANONICAL)
        for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):  # drop, rename or add
            action = draw(st.sampled_from(["drop", "rename", "add"]))
            if action == "drop" and names:
                names.pop(draw(st.integers(0, len(names) - 1)))
            elif action == "rename" and names:
                names[draw(st.integers(0, len(names) - 1))] = draw(st.sampled_from(OTHER_NAMES))
            else:
                names.append(draw(st.sampled_from(OTHER_NAMES)))
        return draw(st.permutations(names))
    return draw(st.lists(st.sampled_from(CANONICAL + OTHER_NAMES), max_size=9))


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    names = draw(headers())
    loadable = draw(st.booleans())
    row = st.tuples(*(cell_for(name, loadable=loadable) for name in names)).map(list)
    rows: list[list[str]] = draw(st.lists(row, max_size=12))
    duplicate = draw(st.booleans())
    if rows and duplicate:
        rows += draw(st.lists(st.sampled_from(rows), max_size=4))  # duplicated rows
    return names, draw(st.permutations(rows))


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    names, rows = draw(tables())
    if draw(st.integers(0, 9)) == 0:  # raw join: unquoted commas and ragged rows
        return "\n".join(",".join(r) for r in [names, *rows]) + "\n"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([names, *rows])
    return out.getvalue()


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    names, rows = draw(tables())
    unique = list(dict.fromkeys(names))
    columns: dict[str, list[object]] = {}
    for name in unique:
        position = names.index(name)
        values = [r[position] for r in rows]
        typed = draw(st.booleans()) and name.lower() not in ("date", "symbol", "ticker")
        columns[name] = [_as_number(v) for v in values] if typed else list(values)
    frame = pd.DataFrame(columns, columns=unique)
    if "date" in frame.columns and draw(st.booleans()):
        frame["date"] = pd.to_datetime(frame["date"], errors="coerce", format="mixed", utc=True)
    return frame


def _as_number(value: str) -> object:
    try:
        return float(value)
    except ValueError:
        return None if value == "" else value


def run_pipeline(read: Callable[[], pd.DataFrame]) -> Panel | HarvesterError:
    try:
        frame = read()
        report = check_frame(frame, config=CONFIG, source="generated")
        report.raise_if_failed("warn")
        return Panel.from_long(clean_frame(frame, report))
    except HarvesterError as e:
        return e


def assert_panel_or_clear_error(result: Panel | HarvesterError) -> None:
    if isinstance(result, HarvesterError):
        assert len(str(result).splitlines()) == 1, str(result)
        return
    assert isinstance(result, Panel)
    assert result.index.is_monotonic_increasing and result.index.is_unique
    assert all(a.dtype == np.float64 for a in result.fields.values())


@pytest.mark.filterwarnings("ignore::UserWarning")
@EXAMPLES
@given(text=csv_texts(), suffix=st.sampled_from([".csv", ".txt", ".csv.gz"]))
def test_csv_text_loads_or_fails_cleanly(tmp_path: Path, text: str, suffix: str) -> None:
    path = tmp_path / f"generated{suffix}"
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if suffix == ".csv.gz" else data)
    assert_panel_or_clear_error(run_pipeline(lambda: read_long_file(path)))


@EXAMPLES
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".csv.gz", ".parquet"]))
def test_random_bytes_fail_cleanly(tmp_path: Path, data: bytes, suffix: str) -> None:
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    assert_panel_or_clear_error(run_pipeline(lambda: read_long_file(path)))


@pytest.mark.filterwarnings("ignore::UserWarning")
@EXAMPLES
@given(frame=frames())
def test_frames_load_or_fail_cleanly(frame: pd.DataFrame) -> None:
    assert_panel_or_clear_error(run_pipeline(lambda: normalize_long(frame, source="frame")))


def test_the_generators_reach_the_happy_path() -> None:
    # A well-formed table from the same generators builds a Panel, so the properties above
    # exercise the whole path and not only the first error.
    text = "date,symbol,open,high,low,close,volume\n2017-07-05,SPY,1,2,0.5,1.5,10\n"
    frame = pd.read_csv(io.StringIO(text))
    assert isinstance(run_pipeline(lambda: normalize_long(frame, source="frame")), Panel)
