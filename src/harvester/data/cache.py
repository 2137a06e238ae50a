"""A Parquet cache of daily bars: one file per provider and symbol.

Layout: ``<root>/<provider>/<SYMBOL>.parquet`` (usually ``<home>/cache/bars``), the symbol
percent-encoded so that any ticker is a safe file name (``^VIX`` -> ``%5EVIX.parquet``).
Each file holds ``date`` (timestamp[ns]) and float64 ``open`` .. ``volume`` columns; its
Parquet schema metadata records when the bars were fetched and which date range was asked
for, so freshness never depends on file times and tests pass ``now`` instead of sleeping.
Files are written to a temporary name and renamed, so a failed write leaves nothing behind.

Examples
--------
>>> import tempfile
>>> from datetime import UTC, datetime, timedelta
>>> bars = pd.DataFrame({"open": [1.0], "high": [1.2], "low": [0.9], "close": [1.1],
...                      "volume": [10.0]}, index=pd.DatetimeIndex(["2024-01-02"], name="date"))
>>> cache = ParquetCache(Path(tempfile.mkdtemp()))
>>> fetched = datetime(2024, 1, 3, 12, tzinfo=UTC)
>>> _ = cache.put("yfinance", "^VIX", bars, fetched_at=fetched)
>>> cache.symbols("yfinance")
['^VIX']
>>> hit = cache.get("yfinance", "^VIX", max_age=timedelta(hours=12), now=fetched)
>>> float(hit.loc["2024-01-02", "close"])
1.1
>>> import shutil; shutil.rmtree(cache.root)
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, unquote

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from harvester.core.errors import DataError
from harvester.core.paths import atomic_path
from harvester.data.panel import Panel

__all__ = ["CacheEntry", "ParquetCache"]

logger = logging.getLogger(__name__)

_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
_PROVIDER_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_SUFFIX = ".parquet"
_FORMAT_VERSION = "1"
_SCHEMA = pa.schema(
    [pa.field("date", pa.timestamp("ns"))] + [pa.field(c, pa.float64()) for c in _COLUMNS]
)


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """What a cache file says about itself: when it was fetched and which range was asked."""

    provider: str
    symbol: str
    fetched_at: datetime
    start: date
    end: date

    def is_fresh(self, *, max_age: timedelta, now: datetime) -> bool:
        """Return True when the bars were fetched no longer than ``max_age`` before ``now``."""
        return timedelta(0) <= now - self.fetched_at <= max_age

    def covers(self, start: date, end: date) -> bool:
        """Return True when the range asked for at fetch time includes ``start``..``end``."""
        return self.start <= start and end <= self.end


class ParquetCache:
    """Per-provider, per-symbol Parquet files of daily bars under ``root``.

    Parameters
    ----------
    root
        Directory of the cache; created on first write, never on read.
    """

    def __init__(self, root: Path) -> None:
        self._root = Path(root)

    def __repr__(self) -> str:
        return f"ParquetCache({str(self._root)!r})"

    @property
    def root(self) -> Path:
        """The cache directory."""
        return self._root

    def path(self, provider: str, symbol: str) -> Path:
        """Return the file that holds ``symbol`` from ``provider`` (it may not exist)."""
        return self._provider_dir(provider) / f"{_file_stem(symbol)}{_SUFFIX}"

    def symbols(self, provider: str) -> list[str]:
        """Return the symbols cached for ``provider``, sorted."""
        folder = self._provider_dir(provider)
        if not folder.is_dir():
            return []
        names = (p.name for p in folder.iterdir() if not p.name.startswith("."))
        return sorted(unquote(n[: -len(_SUFFIX)]) for n in names if n.endswith(_SUFFIX))

    def put(
        self,
        provider: str,
        symbol: str,
        frame: pd.DataFrame,
        *,
        fetched_at: datetime,
        start: date | None = None,
        end: date | None = None,
    ) -> Path:
        """Write ``frame`` (bars indexed by date) atomically and return the file's path.

        Parameters
        ----------
        provider, symbol
            Where the bars came from.
        frame
            Per-symbol bars: a DatetimeIndex and float columns ``open`` .. ``volume``.
        fetched_at
            When the bars were downloaded (time-zone aware).
        start, end
            The range that was asked for; default to the first and last bar.
        """
        if fetched_at.tzinfo is None:
            raise ValueError("fetched_at must be time-zone aware (e.g. datetime.now(UTC))")
        table = _to_table(frame, what=f"{provider} {symbol!r}")
        if table.num_rows == 0 and (start is None or end is None):
            raise DataError(f"{provider} {symbol!r}: no bars to cache; pass start and end")
        dates = pd.DatetimeIndex(frame.index)
        entry = CacheEntry(
            provider,
            symbol,
            fetched_at.astimezone(UTC),
            start or dates.min().date(),
            end or dates.max().date(),
        )
        target = self.path(provider, symbol)
        with atomic_path(target) as tmp:
            pq.write_table(table.replace_schema_metadata(_metadata(entry)), tmp)
        logger.debug("cached %d bars of %s from %s", table.num_rows, symbol, provider)
        return target

    def entry(self, provider: str, symbol: str) -> CacheEntry | None:
        """Return the metadata of a cached symbol, or None when it is absent or unreadable."""
        path = self.path(provider, symbol)
        if not path.is_file():
            return None
        try:
            return _entry(pq.read_schema(path).metadata or {}, provider, symbol)
        except (OSError, pa.ArrowException, KeyError, ValueError) as e:
            logger.warning("ignoring unreadable cache file %s: %s", path, e)
            return None

    def get(
        self,
        provider: str,
        symbol: str,
        *,
        max_age: timedelta,
        now: datetime,
        start: date | None = None,
        end: date | None = None,
    ) -> pd.DataFrame | None:
        """Return cached bars fetched within ``max_age`` of ``now``, or None.

        With ``start`` and ``end`` the entry must have been fetched for a range that covers
        them, and only the bars in that range are returned.
        """
        entry = self.entry(provider, symbol)
        if entry is None or not entry.is_fresh(max_age=max_age, now=now):
            return None
        if start is not None and end is not None and not entry.covers(start, end):
            return None
        try:
            frame = _to_frame(pq.read_table(self.path(provider, symbol)))
        except (OSError, pa.ArrowException) as e:
            logger.warning("ignoring unreadable cache file for %s from %s: %s", symbol, provider, e)
            return None
        if start is None or end is None:
            return frame
        return frame.loc[pd.Timestamp(start) : pd.Timestamp(end)]

    def read_many(self, provider: str, symbols: Sequence[str]) -> pd.DataFrame:
        """Return every cached bar of ``symbols`` as one long frame, ignoring freshness.

        The frame has columns ``date``, ``symbol``, ``open`` .. ``volume``; files are read in
        parallel threads and concatenated without any per-symbol pandas work.

        Raises
        ------
        DataError
            A symbol has no cache file, or a file cannot be read.
        """
        tables = _read_tables(self._cached_paths(provider, symbols))
        counts = np.fromiter((t.num_rows for t in tables), dtype=np.int64, count=len(tables))
        table = pa.concat_tables(tables) if tables else _SCHEMA.empty_table()
        codes = np.repeat(np.arange(len(tables), dtype=np.int32), counts)
        names = pc.take(pa.array(list(symbols), type=pa.string()), pa.array(codes))
        frame: pd.DataFrame = table.add_column(1, "symbol", names).to_pandas(self_destruct=True)
        return frame

    def load_panel(self, provider: str, symbols: Sequence[str]) -> Panel:
        """Return a Panel of the cached bars of ``symbols`` (as ``Panel.from_long`` of
        ``read_many`` would, symbols sorted, dates the union of theirs).

        Each file's columns go straight into the (time × symbols) arrays, with no long
        frame in between: the peak memory is the Arrow tables plus the panel.
        """
        paths = self._cached_paths(provider, symbols)
        order = sorted(range(len(symbols)), key=lambda k: str(symbols[k]))
        tables = _read_tables([paths[k] for k in order])
        dates = [t.column("date").to_numpy().astype("datetime64[ns]") for t in tables]
        index = np.unique(np.concatenate(dates)) if dates else np.array([], "datetime64[ns]")
        # Filled symbol by symbol into (symbols × time) rows, contiguous writes, then
        # transposed once into the panel's (time × symbols) layout.
        by_symbol = {name: np.full((len(tables), len(index)), np.nan) for name in _COLUMNS}
        for j, (table, when) in enumerate(zip(tables, dates, strict=True)):
            rows = np.searchsorted(index, when)
            if len(np.unique(rows)) != len(rows):
                raise DataError(
                    f"cache file {paths[order[j]]} has duplicate dates; delete it and fetch again"
                )
            for name in _COLUMNS:
                by_symbol[name][j, rows] = table.column(name).to_numpy()
        del tables
        pa.default_memory_pool().release_unused()  # Arrow's allocator keeps freed pages
        fields = {name: np.ascontiguousarray(by_symbol.pop(name).T) for name in _COLUMNS}
        names = tuple(str(symbols[k]) for k in order)
        return Panel(pd.DatetimeIndex(index), names, fields, meta={})

    def _cached_paths(self, provider: str, symbols: Sequence[str]) -> list[Path]:
        paths = [self.path(provider, s) for s in symbols]
        missing = [s for s, p in zip(symbols, paths, strict=True) if not p.is_file()]
        if missing:
            raise DataError(
                f"{len(missing)} symbol(s) not cached for {provider}, e.g. {missing[:5]}; "
                "fetch them first"
            )
        return paths

    def _provider_dir(self, provider: str) -> Path:
        if not _PROVIDER_NAME.match(provider):
            raise ValueError(f"provider name {provider!r} must be lowercase letters and digits")
        return self._root / provider


def _file_stem(symbol: str) -> str:
    if not symbol:
        raise DataError("empty symbol; expected a ticker such as 'AAPL'")
    stem = quote(symbol, safe="")
    return "%2E" + stem[1:] if stem.startswith(".") else stem


def _to_table(frame: pd.DataFrame, *, what: str) -> pa.Table:
    missing = [c for c in _COLUMNS if c not in frame.columns]
    if missing or not isinstance(frame.index, pd.DatetimeIndex):
        raise DataError(f"{what}: bars need a DatetimeIndex and columns {list(_COLUMNS)}")
    index = frame.index.tz_localize(None) if frame.index.tz is not None else frame.index
    arrays = [pa.array(index.as_unit("ns").to_numpy(), type=pa.timestamp("ns"))]
    try:
        arrays += [pa.array(frame[c].to_numpy(np.float64, na_value=np.nan)) for c in _COLUMNS]
    except (TypeError, ValueError) as e:
        raise DataError(f"{what}: bar columns must be numeric ({e})") from e
    return pa.Table.from_arrays(arrays, schema=_SCHEMA)


def _to_frame(table: pa.Table) -> pd.DataFrame:
    frame: pd.DataFrame = table.to_pandas().set_index("date")
    frame.index = pd.DatetimeIndex(frame.index).as_unit("ns")
    return frame


def _metadata(entry: CacheEntry) -> dict[bytes, bytes]:
    values = {
        "format": _FORMAT_VERSION,
        "provider": entry.provider,
        "symbol": entry.symbol,
        "fetched_at": entry.fetched_at.isoformat(),
        "start": entry.start.isoformat(),
        "end": entry.end.isoformat(),
    }
    return {f"harvester.{k}".encode(): v.encode() for k, v in values.items()}


def _entry(metadata: dict[bytes, bytes], provider: str, symbol: str) -> CacheEntry:
    def read(key: str) -> str:
        return metadata[f"harvester.{key}".encode()].decode()

    fetched_at = datetime.fromisoformat(read("fetched_at"))
    if fetched_at.tzinfo is None:
        raise ValueError("fetched_at has no time zone")
    start, end = date.fromisoformat(read("start")), date.fromisoformat(read("end"))
    return CacheEntry(provider, symbol, fetched_at, start, end)


def _read_tables(paths: Sequence[Path]) -> list[pa.Table]:
    def read(path: Path) -> pa.Table:
        try:
            with pq.ParquetFile(path, memory_map=True) as parquet:
                return parquet.read(columns=list(_SCHEMA.names), use_threads=False)
        except (OSError, pa.ArrowException) as e:
            raise DataError(f"cannot read cache file {path}: {e}; delete it and fetch again") from e

    # Reading is CPU-bound in pyarrow (the GIL is released): one thread per core is best.
    workers = max(1, min(16, os.cpu_count() or 1, len(paths)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(read, paths))
