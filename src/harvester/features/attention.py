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

- :class:`PyTrendsAttention`: live Google Trends through pytrends (an optional extra,
  ``pip install "harvester[trends]"``), batched five terms a request, each value aligned
  from the end of the period it covers.

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

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from harvester.core.errors import ConfigError, DataError
from harvester.core.types import FloatArray
from harvester.data.panel import Panel
from harvester.features._common import check_period, safe_divide
from harvester.features.technical import sma

__all__ = [
    "AttentionSource",
    "PanelAttention",
    "PyTrendsAttention",
    "TrendsClient",
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


# -- live Google Trends through pytrends -------------------------------------------------

#: Google Trends compares at most five search terms per request.
MAX_TERMS_PER_REQUEST = 5

#: The longest period one Trends row covers (a month): the lag assumed for a lone row.
_LONGEST_PERIOD = pd.Timedelta(days=31)


class TrendsClient(Protocol):
    """The two methods of ``pytrends.request.TrendReq`` the adapter calls."""

    def build_payload(self, kw_list: list[str], *, timeframe: str, geo: str) -> object:
        """Prepare a request for up to five search terms."""
        ...

    def interest_over_time(self) -> pd.DataFrame:
        """Return interest 0-100 indexed by date, a column per term and ``isPartial``."""
        ...


def _pytrends_client() -> TrendsClient:
    try:
        request = importlib.import_module("pytrends.request")
    except ImportError as exc:
        raise ConfigError(
            "PyTrendsAttention needs the pytrends package: pip install pytrends "
            '(or pip install "harvester[trends]"), or pass client=... / use TrendsCsvAttention'
        ) from exc
    client: Any = request.TrendReq(hl="en-US", tz=0)  # tz=0: dates in UTC.
    return client  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class PyTrendsAttention:
    """Google Trends interest over time, fetched live with pytrends, aligned causally.

    Each call of :meth:`attention` fetches again (nothing is cached): batches of at most five
    search terms (Google's limit per comparison), ``build_payload(batch, timeframe=...,
    geo=...)`` then ``interest_over_time()``. The ``isPartial`` column is dropped.

    A Trends row is stamped with the *start* of the period it covers (a day, a week from
    Sunday, a month, depending on ``timeframe``: Google returns daily rows up to about nine
    months, weekly up to five years, monthly beyond). Its value is complete only when the
    period ends, so each row is aligned from the start of the next row (the last row from its
    date plus the median spacing; a lone row from 31 days on), plus ``delay``, and carried
    forward to later sessions, never backward. A weekly row of Sunday 7 January is first
    used on Sunday 14 January (a crypto session) or Monday 15 January.

    Attributes
    ----------
    terms
        Symbol → search term (``{"BTC-USD": "bitcoin"}``); an unmapped symbol is searched
        as itself.
    timeframe, geo
        Passed to ``build_payload`` (``"today 5-y"`` gives weekly rows; ``""`` is worldwide).
    delay
        Extra time after the period ends before a value is used (publication lag).
    batch_size
        Terms per request, 1 to 5. Google scales each request's terms together (the peak of
        the batch is 100); use 1 to scale every term on its own.
    client
        An object with pytrends' ``build_payload``/``interest_over_time`` (tests pass a fake).
    client_factory
        Called once per :meth:`attention` call to build the client when ``client`` is None.
        Default: ``pytrends.request.TrendReq(hl="en-US", tz=0)``, imported only then.

    Raises
    ------
    ConfigError
        From :meth:`attention` when no client is given and pytrends is not installed, or
        ``batch_size`` is outside 1-5.
    DataError
        When a response has no date index or non-numeric values.

    A term Google returns no data for (an empty frame, or its column missing) gives NaN for
    its symbols, so :func:`abnormal_attention` falls back to abnormal volume there.
    """

    terms: Mapping[str, str] = field(default_factory=dict)
    timeframe: str = "today 5-y"
    geo: str = ""
    delay: str = "0D"
    batch_size: int = MAX_TERMS_PER_REQUEST
    client: TrendsClient | None = None
    client_factory: Callable[[], TrendsClient] | None = None

    def attention(self, panel: Panel) -> FloatArray:
        """Return interest per symbol of ``panel``, each value from the end of its period."""
        return _align(self.interest(panel.symbols, known_at=True), panel)

    def interest(self, symbols: Sequence[str], *, known_at: bool = False) -> pd.DataFrame:
        """Fetch interest for ``symbols``: a frame indexed by date, one column per symbol.

        With ``known_at=False`` the index is Google's period start; with ``True`` it is the
        time each value becomes known (period end plus ``delay``). Rows of different batches
        are outer-joined; a symbol without data is an all-NaN column.
        """
        if not 1 <= self.batch_size <= MAX_TERMS_PER_REQUEST:
            raise ConfigError(
                f"batch_size {self.batch_size} is outside 1-{MAX_TERMS_PER_REQUEST}; Google "
                "Trends compares at most five terms per request"
            )
        wanted = {symbol: self.terms.get(symbol, symbol) for symbol in symbols}
        unique = list(dict.fromkeys(wanted.values()))
        batches = [
            unique[start : start + self.batch_size]
            for start in range(0, len(unique), self.batch_size)
        ]
        frames = [pd.DataFrame(index=pd.DatetimeIndex([]), dtype=np.float64)]
        if batches:
            client = self._client()
            frames += [self._fetch(client, batch, known_at=known_at) for batch in batches]
        by_term = pd.concat(frames, axis=1).sort_index().reindex(columns=unique)
        table = pd.DataFrame(
            {symbol: by_term[term] for symbol, term in wanted.items()},
            index=by_term.index,
            columns=list(wanted),
            dtype=np.float64,
        )
        table.index = pd.DatetimeIndex(table.index, name="date")
        return table

    def _fetch(self, client: TrendsClient, batch: list[str], *, known_at: bool) -> pd.DataFrame:
        client.build_payload(batch, timeframe=self.timeframe, geo=self.geo)
        frame = _trends_frame(client.interest_over_time(), batch)
        if known_at:
            frame.index = _known_at(pd.DatetimeIndex(frame.index)) + pd.Timedelta(self.delay)
        return frame

    def _client(self) -> TrendsClient:
        if self.client is not None:
            return self.client
        if self.client_factory is not None:
            return self.client_factory()
        return _pytrends_client()


def _trends_frame(raw: pd.DataFrame, batch: list[str]) -> pd.DataFrame:
    """One response as a float frame indexed by period start, one column per batch term."""
    if raw.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="date"), columns=batch, dtype=float)
    frame = raw.drop(columns=["isPartial"], errors="ignore")
    try:
        index = pd.DatetimeIndex(pd.to_datetime(frame.index))
    except (TypeError, ValueError):
        raise DataError(
            f"pytrends response for {batch} is not indexed by date; expected "
            "interest_over_time() output"
        ) from None
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    try:
        values = frame.reindex(columns=batch).astype(np.float64)
    except (TypeError, ValueError):
        raise DataError(
            f"pytrends response for {batch} holds non-numeric values; expected 0-100"
        ) from None
    values.index = index
    return values[~index.duplicated(keep="last")].sort_index()


def _known_at(starts: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """When each period is complete: the next row's start; the last row, plus the median."""
    if len(starts) == 0:
        return starts
    starts = starts.as_unit("ns")
    steps = np.diff(starts.asi8)
    last = pd.Timedelta(int(np.median(steps))) if len(steps) else _LONGEST_PERIOD
    ends = np.append(starts.asi8[1:], (starts[-1] + last).value)
    return pd.DatetimeIndex(ends.astype("datetime64[ns]"), name=starts.name)
