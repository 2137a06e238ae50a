"""The Panel: aligned (time × symbols) market data, the one input every layer above reads.

A Panel holds a sorted session index, a tuple of symbols, and per field (``open``, ``high``,
``low``, ``close``, ``volume``, optionally ``attention`` and others) a read-only float64 array
of shape ``(time, symbols)`` with NaN where a symbol has no bar. Market-wide auxiliary series
(``vix``, ``oil``, ``benchmark``, ...) are 1-D float64 arrays on the same index. Per-symbol
metadata carries the asset class, name and sector.

Kernels take the arrays (``panel.array("close")``); people take DataFrames
(``panel.frame("close")``).

Examples
--------
>>> import pandas as pd
>>> long = pd.DataFrame({
...     "date": pd.to_datetime(["2024-01-02", "2024-01-02", "2024-01-03"]),
...     "symbol": ["AAPL", "BTC-USD", "BTC-USD"],
...     "open": [1.0, 2.0, 2.1], "high": [1.1, 2.2, 2.3], "low": [0.9, 1.9, 2.0],
...     "close": [1.05, 2.1, 2.2], "volume": [100.0, 5.0, 6.0]})
>>> panel = Panel.from_long(long)
>>> panel.shape, panel.symbols
((2, 2), ('AAPL', 'BTC-USD'))
>>> float(panel.frame("close").loc["2024-01-03", "AAPL"])
nan
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from harvester.core.errors import DataError
from harvester.core.types import FloatArray
from harvester.domain.asset_class import AssetClass, detect_asset_class

__all__ = ["OHLCV", "Panel", "SymbolMeta"]

OHLCV: tuple[str, ...] = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True, slots=True)
class SymbolMeta:
    """What is known about one symbol besides its prices."""

    asset_class: AssetClass
    name: str = ""
    sector: str = ""


def _numeric_column(column: pd.Series, *, name: str) -> FloatArray:
    try:
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        raise DataError(f"column {name!r} is not numeric; expected numbers in every row") from None


def _frozen_array(values: Any, *, shape: tuple[int, ...], what: str) -> FloatArray:
    # astype, not np.array(dtype=): an unpickled array's float64 dtype is an equal but
    # distinct object that np.array keeps, and np.asarray(x, dtype=np.float64) would then
    # copy the array on every call (defeating the shared-results memo in worker processes).
    array = np.asarray(values).astype(np.float64)
    if array.shape != shape:
        raise DataError(f"{what}: shape {array.shape}, expected {shape}")
    array.flags.writeable = False
    return array


@dataclass(frozen=True, slots=True)
class Panel:
    """Aligned market data for many symbols; immutable once built."""

    index: pd.DatetimeIndex
    symbols: tuple[str, ...]
    fields: Mapping[str, FloatArray]
    aux: Mapping[str, FloatArray] = field(default_factory=dict)
    meta: Mapping[str, SymbolMeta] = field(default_factory=dict)
    _fingerprint: list[str] = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = pd.DatetimeIndex(self.index)
        if index.tz is not None:
            index = index.tz_convert("UTC").tz_localize(None)
        # One time unit everywhere, so equal data has an equal fingerprint.
        index = index.as_unit("ns")
        if not index.is_monotonic_increasing or not index.is_unique:
            raise DataError("Panel index must be sorted and unique; sort and drop duplicates")
        if len(set(self.symbols)) != len(self.symbols):
            raise DataError("Panel symbols must be unique")
        if "close" not in self.fields:
            raise DataError(f"Panel needs a 'close' field; got {sorted(self.fields)}")
        shape = (len(index), len(self.symbols))
        fields = {
            k: _frozen_array(v, shape=shape, what=f"field {k!r}") for k, v in self.fields.items()
        }
        aux = {
            k: _frozen_array(v, shape=(shape[0],), what=f"aux {k!r}") for k, v in self.aux.items()
        }
        meta = {s: self.meta.get(s) or SymbolMeta(detect_asset_class(s)) for s in self.symbols}
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "symbols", tuple(self.symbols))
        object.__setattr__(self, "fields", MappingProxyType(fields))
        object.__setattr__(self, "aux", MappingProxyType(aux))
        object.__setattr__(self, "meta", MappingProxyType(meta))

    def __reduce__(self) -> tuple[type[Panel], tuple[object, ...]]:
        # Pickled as its constructor arguments (the read-only mappings do not pickle), so a
        # panel can travel to worker processes and Dask workers.
        fields, aux, meta = dict(self.fields), dict(self.aux), dict(self.meta)
        return (Panel, (self.index, self.symbols, fields, aux, meta))

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_long(
        cls,
        frame: pd.DataFrame,
        *,
        aux: Mapping[str, pd.Series] | None = None,
        meta: Mapping[str, SymbolMeta] | None = None,
    ) -> Panel:
        """Build a Panel from a long frame with columns ``date``, ``symbol`` and fields.

        Every numeric column other than ``date`` and ``symbol`` becomes a field. The frame
        must have at most one row per (date, symbol); run the sanity checks first to find
        duplicates. Auxiliary series are aligned to the panel's dates (see ``with_aux``).
        """
        missing = {"date", "symbol", "close"} - set(frame.columns)
        if missing:
            raise DataError(f"long frame lacks column(s) {sorted(missing)}")
        dates = pd.DatetimeIndex(pd.to_datetime(frame["date"]))
        if dates.tz is not None:
            dates = dates.tz_convert("UTC").tz_localize(None)
        date_codes, index = pd.factorize(dates, sort=True)
        symbol_codes, symbols = pd.factorize(frame["symbol"].astype(str), sort=True)
        keys = date_codes.astype(np.int64) * max(len(symbols), 1) + symbol_codes
        # bincount is ~100x faster than np.unique for the dense keys of a daily panel.
        if len(keys) and np.bincount(keys).max() > 1:
            raise DataError(
                "long frame has duplicate (date, symbol) rows; run `harvester data check`"
            )
        names = [c for c in frame.columns if c not in ("date", "symbol")]
        arrays: dict[str, FloatArray] = {}
        for name in names:
            grid = np.full((len(index), len(symbols)), np.nan)
            grid[date_codes, symbol_codes] = _numeric_column(frame[name], name=str(name))
            arrays[str(name)] = grid
        panel = cls(
            pd.DatetimeIndex(index), tuple(str(s) for s in symbols), arrays, meta=meta or {}
        )
        for name, series in (aux or {}).items():
            panel = panel.with_aux(name, series)
        return panel

    @classmethod
    def from_frames(
        cls,
        frames: Mapping[str, pd.DataFrame],
        *,
        aux: Mapping[str, pd.Series] | None = None,
        meta: Mapping[str, SymbolMeta] | None = None,
    ) -> Panel:
        """Build a Panel from per-symbol frames indexed by date with one column per field."""
        parts = []
        for symbol, frame in frames.items():
            part = frame.rename_axis("date").reset_index()
            part.insert(1, "symbol", symbol)
            parts.append(part)
        if not parts:
            raise DataError("no symbols given; pass at least one per-symbol frame")
        return cls.from_long(pd.concat(parts, ignore_index=True), aux=aux, meta=meta)

    def with_aux(self, name: str, series: pd.Series) -> Panel:
        """Return a copy with ``series`` aligned to the index as auxiliary series ``name``.

        Alignment carries the last known value forward (an oil price set on a London
        session is the latest price on the next New York session): causal, never backward.
        """
        source = series.copy()
        source.index = pd.DatetimeIndex(pd.to_datetime(source.index))
        source = source[~source.index.duplicated(keep="last")].sort_index()
        aligned = source.astype(np.float64).reindex(source.index.union(self.index)).ffill()
        values: FloatArray = np.asarray(aligned.reindex(self.index), dtype=np.float64)
        return replace(self, aux={**self.aux, name: values})

    def with_fields(self, **arrays: FloatArray) -> Panel:
        """Return a copy with extra or replaced (time × symbols) fields."""
        return replace(self, fields={**self.fields, **arrays})

    # -- access -------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, int]:
        """(number of sessions, number of symbols)."""
        return (len(self.index), len(self.symbols))

    @property
    def nbytes(self) -> int:
        """Bytes held by the field and auxiliary arrays."""
        return sum(a.nbytes for a in self.fields.values()) + sum(
            a.nbytes for a in self.aux.values()
        )

    def array(self, name: str) -> FloatArray:
        """Return the read-only (time × symbols) array of field ``name``."""
        try:
            return self.fields[name]
        except KeyError:
            raise DataError(
                f"panel has no field {name!r}; fields are {sorted(self.fields)}"
            ) from None

    def frame(self, name: str) -> pd.DataFrame:
        """Return field ``name`` as a DataFrame indexed by date with one column per symbol."""
        return pd.DataFrame(
            self.array(name), index=self.index, columns=list(self.symbols), copy=True
        )

    def aux_series(self, name: str) -> pd.Series:
        """Return auxiliary series ``name`` as a pandas Series on the panel's index."""
        try:
            values = self.aux[name]
        except KeyError:
            raise DataError(
                f"panel has no auxiliary series {name!r}; it has {sorted(self.aux)}"
            ) from None
        return pd.Series(values, index=self.index, name=name, copy=True)

    def symbol_frame(self, symbol: str) -> pd.DataFrame:
        """Return every field of one symbol as a DataFrame indexed by date."""
        column = self._column(symbol)
        return pd.DataFrame({k: v[:, column] for k, v in self.fields.items()}, index=self.index)

    def to_long(self) -> pd.DataFrame:
        """Return the panel as a long frame (date, symbol, fields), dropping rows with no close."""
        n_times, n_symbols = self.shape
        frame = pd.DataFrame(
            {
                "date": np.repeat(self.index.to_numpy(), n_symbols),
                "symbol": np.tile(np.array(self.symbols, dtype=object), n_times),
                **{k: v.reshape(-1) for k, v in self.fields.items()},
            }
        )
        return frame[frame["close"].notna()].reset_index(drop=True)

    def first_valid_dates(self) -> pd.Series:
        """Return each symbol's first date with a close (NaT when it has none)."""
        return self._edge_dates(self.array("close"))

    def last_valid_dates(self) -> pd.Series:
        """Return each symbol's last date with a close (NaT when it has none)."""
        return self._edge_dates(self.array("close")[::-1], reverse=True)

    def fingerprint(self) -> str:
        """Return a SHA-256 of index, symbols, fields and aux: equal data, equal fingerprint."""
        if self._fingerprint:  # the panel is immutable: hashed once (a research run asks often)
            return self._fingerprint[0]
        digest = hashlib.sha256()
        digest.update(self.index.asi8.tobytes())
        digest.update("\x1f".join(self.symbols).encode())
        for group in (self.fields, self.aux):
            for name in sorted(group):
                digest.update(name.encode())
                digest.update(np.ascontiguousarray(group[name]).tobytes())
        self._fingerprint.append(digest.hexdigest())
        return self._fingerprint[0]

    # -- slicing ------------------------------------------------------------------------

    def slice(
        self, start: str | pd.Timestamp | None = None, end: str | pd.Timestamp | None = None
    ) -> Panel:
        """Return the sessions between ``start`` and ``end`` (both inclusive)."""
        lo = 0 if start is None else int(self.index.searchsorted(pd.Timestamp(start), side="left"))
        hi = (
            len(self.index)
            if end is None
            else int(self.index.searchsorted(pd.Timestamp(end), side="right"))
        )
        # Row views of this panel's read-only, validated arrays: nothing to copy or check.
        sliced = object.__new__(Panel)
        for name, value in (
            ("index", self.index[lo:hi]),
            ("symbols", self.symbols),
            ("fields", MappingProxyType({k: v[lo:hi] for k, v in self.fields.items()})),
            ("aux", MappingProxyType({k: v[lo:hi] for k, v in self.aux.items()})),
            ("meta", self.meta),
            ("_fingerprint", []),
        ):
            object.__setattr__(sliced, name, value)
        return sliced

    def select(self, symbols: Iterable[str]) -> Panel:
        """Return only ``symbols``, in the order given."""
        wanted = tuple(symbols)
        columns = [self._column(s) for s in wanted]
        return replace(
            self,
            symbols=wanted,
            fields={k: v[:, columns] for k, v in self.fields.items()},
            meta={s: self.meta[s] for s in wanted},
        )

    def _column(self, symbol: str) -> int:
        try:
            return self.symbols.index(symbol)
        except ValueError:
            raise DataError(
                f"unknown symbol {symbol!r}; the panel has {len(self.symbols)} symbols"
            ) from None

    def _edge_dates(self, close: FloatArray, *, reverse: bool = False) -> pd.Series:
        has_bar = ~np.isnan(close)
        if len(self.index) == 0:
            return pd.Series(pd.NaT, index=list(self.symbols), name="date", dtype="datetime64[ns]")
        position = has_bar.argmax(axis=0)
        if reverse:
            position = len(self.index) - 1 - position
        dates = self.index.take(position).to_numpy(copy=True)
        dates[~has_bar.any(axis=0)] = np.datetime64("NaT")
        return pd.Series(dates, index=list(self.symbols), name="date")
