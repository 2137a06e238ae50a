"""Attention: how much the public looks at a symbol, as a (time × symbols) array.

Three sources, all offline and all causal (the value at session t uses only data stamped at
or before t):

- :class:`PanelAttention`: the panel's own ``attention`` field (the synthetic generator
  fills it for some symbols; a Trends loader can attach one with ``panel.with_fields``);
- :class:`TrendsCsvAttention`: a Google Trends export on disk, in long form
  (``date, symbol, value``) or as the wide pytrends ``interest_over_time`` export (a
  ``date`` column, one column per search term, an optional ``isPartial`` column), aligned
  to the panel by carrying the last published value forward;
- :class:`VolumeProxyAttention`: the offline default, abnormal volume (volume over its
  ``period``-bar mean), so CRI and the Panic Score run on the bundled sample.

A live pytrends adapter is not written yet; export with pytrends and load the CSV.

The signals (CRI, Panic Score) read :func:`abnormal_attention`: attention over its own
``period``-bar mean where the panel has attention, abnormal volume where it does not, so the
two sources share a scale (1 = usual interest) and the same warm-up.

Examples
--------
>>> import numpy as np
>>> abnormal(np.array([[1.0], [1.0], [4.0]]), period=2)[:, 0].tolist()
[nan, 1.0, 1.6]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from harvester.core.errors import DataError
from harvester.core.types import FloatArray
from harvester.data.panel import Panel
from harvester.features._common import check_period, safe_divide
from harvester.features.technical import sma

__all__ = [
    "AttentionSource",
    "PanelAttention",
    "TrendsCsvAttention",
    "VolumeProxyAttention",
    "abnormal",
    "abnormal_attention",
    "read_trends_csv",
]


class AttentionSource(Protocol):
    """Anything that returns a (time × symbols) attention array for a panel."""

    def attention(self, panel: Panel) -> FloatArray:
        """Return attention aligned to ``panel`` (NaN where unknown)."""
        ...


def abnormal(values: FloatArray, *, period: int) -> FloatArray:
    """Return ``values`` over their ``period``-bar mean (which includes the current bar).

    NaN while the window holds a missing value, or when the mean is zero.
    """
    return safe_divide(values, sma(values, period=check_period(period, name="period")), fill=np.nan)


def abnormal_attention(attention: FloatArray, volume: FloatArray, *, period: int) -> FloatArray:
    """Return abnormal attention, falling back to abnormal volume bar by bar.

    Parameters
    ----------
    attention
        (time × symbols) attention, NaN where unknown (all-NaN when the panel has none).
    volume
        (time × symbols) volume, the proxy.
    period
        Bars of the mean both are divided by.

    Returns
    -------
    numpy.ndarray
        ``attention / mean(attention)`` where that is defined, else ``volume / mean(volume)``.
    """
    own = abnormal(attention, period=period)
    return np.where(np.isnan(own), abnormal(volume, period=period), own)


@dataclass(frozen=True, slots=True)
class PanelAttention:
    """The panel's own ``attention`` field (all NaN when it has none)."""

    def attention(self, panel: Panel) -> FloatArray:
        """Return the ``attention`` field, or NaN everywhere when the panel lacks it."""
        if "attention" not in panel.fields:
            return np.full(panel.shape, np.nan)
        return np.array(panel.array("attention"), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class VolumeProxyAttention:
    """Abnormal volume, ``volume / mean(volume over period bars)``: the offline default."""

    period: int = 20

    def attention(self, panel: Panel) -> FloatArray:
        """Return abnormal volume for every symbol of ``panel``."""
        return abnormal(panel.array("volume"), period=self.period)


@dataclass(frozen=True, slots=True)
class TrendsCsvAttention:
    """A Google Trends CSV export (long or wide pytrends form) aligned to the panel.

    Attributes
    ----------
    path
        The CSV file.
    terms
        Search term → symbol, for wide exports whose columns are terms (``{"bitcoin":
        "BTC-USD"}``); unmapped columns are taken to be symbols already.
    delay
        Added to every row's date before alignment: the time until the value is known. A
        weekly Trends row is stamped with the week's first day and covers the whole week,
        so use ``"6D"`` for weekly exports; daily exports need ``"0D"``.
    """

    path: Path
    terms: Mapping[str, str] = field(default_factory=dict)
    delay: str = "0D"

    def attention(self, panel: Panel) -> FloatArray:
        """Return the file's values per symbol, last known value carried forward."""
        table = read_trends_csv(self.path, terms=self.terms)
        table.index = table.index + pd.Timedelta(self.delay)
        return _align(table, panel)


def _align(table: pd.DataFrame, panel: Panel) -> FloatArray:
    dates = table.index.union(panel.index)
    columns = table.reindex(index=dates).ffill().reindex(index=panel.index)
    out: FloatArray = columns.reindex(columns=list(panel.symbols)).to_numpy(np.float64)
    return out


def read_trends_csv(path: Path, *, terms: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read a Google Trends export into a frame indexed by date with one column per symbol.

    Parameters
    ----------
    path
        A CSV with ``date, symbol, value`` rows, or a ``date`` column and one column per
        search term (pytrends' ``interest_over_time().to_csv()``; ``isPartial`` is dropped).
    terms
        Search term → symbol for wide exports.

    Raises
    ------
    DataError
        When the file is missing, has no ``date`` column, or holds non-numeric values.
    """
    try:
        raw = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DataError(f"{path}: cannot read a Google Trends CSV ({error})") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    if "date" not in raw.columns:
        raise DataError(f"{path}: no 'date' column; expected 'date, symbol, value' or pytrends")
    if {"symbol", "value"} <= set(raw.columns):
        raw = raw.drop_duplicates(["date", "symbol"], keep="last")
        raw = raw.pivot(index="date", columns="symbol", values="value")
    else:
        raw = raw.drop(columns=["isPartial"], errors="ignore").set_index("date")
    table = raw.rename(columns=dict(terms or {}))
    table.index = pd.DatetimeIndex(pd.to_datetime(table.index))
    return _numeric(table.sort_index(), path)


def _numeric(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    # Trends writes "<1" for interest below one; count it as 0.5.
    cleaned = table.replace("<1", 0.5)
    try:
        return cleaned.astype(np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{path}: non-numeric attention values; expected numbers 0-100") from None
