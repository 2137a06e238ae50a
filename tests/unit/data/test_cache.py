"""The Parquet cache: round trips, freshness from metadata, safe names, atomic writes."""

from __future__ import annotations

import logging
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from harvester.core.errors import DataError
from harvester.data.cache import ParquetCache
from harvester.data.panel import Panel

NOW = datetime(2024, 1, 6, 12, 0, tzinfo=UTC)
TTL = timedelta(hours=12)


def _bars(dates: list[str], *, base: float = 100.0) -> pd.DataFrame:
    close = base + np.arange(len(dates), dtype=np.float64)
    return pd.DataFrame(
        {
            "open": close - 0.5,
            "high": close + 1.0,
            "low": close - 1.0,
            "close": close,
            "volume": np.full(len(dates), 1000.0),
        },
        index=pd.DatetimeIndex(dates, name="date"),
    )


DAYS = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]


@pytest.fixture
def cache(tmp_path: Path) -> ParquetCache:
    return ParquetCache(tmp_path / "cache")


def test_put_then_get_round_trips_values_and_types(cache: ParquetCache) -> None:
    bars = _bars(DAYS)
    path = cache.put("yfinance", "AAPL", bars, fetched_at=NOW)

    got = cache.get("yfinance", "AAPL", max_age=TTL, now=NOW)

    assert path == cache.root / "yfinance" / "AAPL.parquet"
    assert got is not None
    assert got.index.dtype == np.dtype("datetime64[ns]") and got.index.name == "date"
    assert list(got.columns) == ["open", "high", "low", "close", "volume"]
    np.testing.assert_array_equal(got.to_numpy(), bars.to_numpy())
    assert got.index.equals(pd.DatetimeIndex(DAYS, name="date"))


def test_get_is_fresh_up_to_max_age_and_stale_after(cache: ParquetCache) -> None:
    cache.put("yfinance", "AAPL", _bars(DAYS), fetched_at=NOW - TTL)

    assert cache.get("yfinance", "AAPL", max_age=TTL, now=NOW) is not None
    later = NOW + timedelta(seconds=1)
    assert cache.get("yfinance", "AAPL", max_age=TTL, now=later) is None


def test_get_ignores_file_times_and_reads_the_stored_fetch_time(cache: ParquetCache) -> None:
    path = cache.put("yfinance", "AAPL", _bars(DAYS), fetched_at=NOW)
    os.utime(path, (0, 0))  # 1970: a file-time TTL would call this stale

    entry = cache.entry("yfinance", "AAPL")

    assert entry is not None and entry.fetched_at == NOW
    assert cache.get("yfinance", "AAPL", max_age=TTL, now=NOW) is not None


def test_get_with_a_fetch_time_in_the_future_is_a_miss(cache: ParquetCache) -> None:
    cache.put("yfinance", "AAPL", _bars(DAYS), fetched_at=NOW + timedelta(hours=1))

    assert cache.get("yfinance", "AAPL", max_age=TTL, now=NOW) is None


def test_get_with_a_range_needs_coverage_and_slices(cache: ParquetCache) -> None:
    cache.put(
        "yfinance",
        "AAPL",
        _bars(DAYS),
        fetched_at=NOW,
        start=date(2024, 1, 1),
        end=date(2024, 1, 5),
    )

    inside = cache.get(
        "yfinance", "AAPL", max_age=TTL, now=NOW, start=date(2024, 1, 3), end=date(2024, 1, 4)
    )
    wider = cache.get(
        "yfinance", "AAPL", max_age=TTL, now=NOW, start=date(2023, 12, 1), end=date(2024, 1, 4)
    )

    assert inside is not None and list(inside["close"]) == [101.0, 102.0]
    assert wider is None


def test_put_without_range_records_the_first_and_last_bar(cache: ParquetCache) -> None:
    cache.put("yfinance", "AAPL", _bars(DAYS), fetched_at=NOW)

    entry = cache.entry("yfinance", "AAPL")

    assert entry is not None
    assert (entry.start, entry.end) == (date(2024, 1, 2), date(2024, 1, 5))


@pytest.mark.parametrize(
    ("symbol", "file_name"),
    [("^VIX", "%5EVIX.parquet"), ("BRK/B", "BRK%2FB.parquet"), (".X", "%2EX.parquet")],
)
def test_symbols_are_made_file_safe_and_listed_back(
    cache: ParquetCache, symbol: str, file_name: str
) -> None:
    path = cache.put("yfinance", symbol, _bars(DAYS), fetched_at=NOW)

    assert path.name == file_name and path.parent == cache.root / "yfinance"
    assert cache.symbols("yfinance") == [symbol]


def test_provider_names_cannot_escape_the_cache_root(cache: ParquetCache) -> None:
    with pytest.raises(ValueError, match="provider name"):
        cache.path("../outside", "AAPL")


def test_a_failed_write_leaves_nothing_and_keeps_the_old_file(
    cache: ParquetCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache.put("yfinance", "AAPL", _bars(DAYS), fetched_at=NOW)

    def half_write(table: Any, where: Path, **kwargs: Any) -> None:
        Path(where).write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", half_write)
    with pytest.raises(OSError, match="disk full"):
        cache.put("yfinance", "AAPL", _bars(DAYS, base=1.0), fetched_at=NOW)
    monkeypatch.undo()

    assert sorted(p.name for p in (cache.root / "yfinance").iterdir()) == ["AAPL.parquet"]
    kept = cache.get("yfinance", "AAPL", max_age=TTL, now=NOW)
    assert kept is not None and kept["close"].iloc[0] == 100.0


def test_a_failed_first_write_leaves_no_file(
    cache: ParquetCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(table: Any, where: Path, **kwargs: Any) -> None:
        Path(where).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", failing)
    with pytest.raises(OSError):
        cache.put("yfinance", "MSFT", _bars(DAYS), fetched_at=NOW)

    assert list((cache.root / "yfinance").iterdir()) == []
    assert cache.get("yfinance", "MSFT", max_age=TTL, now=NOW) is None


def test_put_rejects_a_naive_fetch_time(cache: ParquetCache) -> None:
    with pytest.raises(ValueError, match="time-zone aware"):
        cache.put("yfinance", "AAPL", _bars(DAYS), fetched_at=datetime(2024, 1, 6, 12))


def test_put_rejects_a_frame_without_bar_columns(cache: ParquetCache) -> None:
    frame = _bars(DAYS).drop(columns="volume")

    with pytest.raises(DataError, match="columns"):
        cache.put("yfinance", "AAPL", frame, fetched_at=NOW)


def test_a_corrupt_file_is_a_miss_with_a_warning(
    cache: ParquetCache, caplog: pytest.LogCaptureFixture
) -> None:
    path = cache.path("yfinance", "AAPL")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not parquet at all")

    with caplog.at_level(logging.WARNING):
        assert cache.get("yfinance", "AAPL", max_age=TTL, now=NOW) is None
    assert "unreadable cache file" in caplog.text
    with pytest.raises(DataError, match="delete it and fetch again"):
        cache.read_many("yfinance", ["AAPL"])


def test_read_many_returns_one_long_frame_in_symbol_order(cache: ParquetCache) -> None:
    cache.put("yfinance", "MSFT", _bars(DAYS[:2], base=300.0), fetched_at=NOW)
    cache.put("yfinance", "AAPL", _bars(DAYS, base=100.0), fetched_at=NOW)

    long = cache.read_many("yfinance", ["MSFT", "AAPL"])

    assert list(long.columns) == ["date", "symbol", "open", "high", "low", "close", "volume"]
    assert list(long["symbol"]) == ["MSFT", "MSFT", "AAPL", "AAPL", "AAPL", "AAPL"]
    assert list(long["close"]) == [300.0, 301.0, 100.0, 101.0, 102.0, 103.0]
    assert list(long["date"].dt.strftime("%Y-%m-%d")) == DAYS[:2] + DAYS


def test_read_many_names_the_symbols_that_are_not_cached(cache: ParquetCache) -> None:
    cache.put("yfinance", "AAPL", _bars(DAYS), fetched_at=NOW)

    with pytest.raises(DataError, match=r"1 symbol\(s\) not cached for yfinance.*'TSLA'"):
        cache.read_many("yfinance", ["AAPL", "TSLA"])


def test_load_panel_aligns_symbols_on_the_union_of_dates(cache: ParquetCache) -> None:
    cache.put("yfinance", "MSFT", _bars(DAYS[1:3], base=300.0), fetched_at=NOW)
    cache.put("yfinance", "AAPL", _bars(DAYS), fetched_at=NOW)

    panel = cache.load_panel("yfinance", ["AAPL", "MSFT"])

    assert panel.shape == (4, 2) and panel.symbols == ("AAPL", "MSFT")
    close = panel.frame("close")
    assert list(close["AAPL"]) == [100.0, 101.0, 102.0, 103.0]
    assert np.isnan(close["MSFT"].iloc[0]) and close["MSFT"].iloc[1] == 300.0


def test_symbols_of_an_unknown_provider_is_empty_and_creates_nothing(
    cache: ParquetCache,
) -> None:
    assert cache.symbols("alpaca") == []
    assert cache.entry("alpaca", "AAPL") is None
    assert not cache.root.exists()


def test_load_panel_equals_the_panel_of_the_long_frame(cache: ParquetCache) -> None:
    cache.put("yfinance", "MSFT", _bars(DAYS[1:3], base=300.0), fetched_at=NOW)
    cache.put("yfinance", "AAPL", _bars(DAYS), fetched_at=NOW)
    cache.put("yfinance", "IBM", _bars(DAYS[2:], base=50.0), fetched_at=NOW)
    order = ["MSFT", "IBM", "AAPL"]

    direct = cache.load_panel("yfinance", order)
    via_long = Panel.from_long(cache.read_many("yfinance", order))

    assert direct.symbols == via_long.symbols == ("AAPL", "IBM", "MSFT")
    assert direct.fingerprint() == via_long.fingerprint()
