"""Data-sanity rules (the Composer DataSanity validator) over a normalised long frame.

``check_frame`` runs every rule at once over the whole frame; ``SanityReport.raise_if_failed``
applies the mode (``enforce`` raises on an ``error`` finding, ``warn`` logs, ``off`` does
nothing); ``clean_frame`` sorts and de-duplicates for ``warn``. docs/data-sanity.md explains
each rule. Row rules see every row; series rules (streaks, stale prices, jumps, calendar)
see each symbol's bars by date, the last of duplicates kept. A run is one finding.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from harvester.config.models import SanityConfig, SanityMode
from harvester.core.errors import ConfigError, DataError
from harvester.core.types import BoolArray, FloatArray, IntArray
from harvester.data.calendars import calendar_name_for, sessions
from harvester.domain.asset_class import detect_asset_class

__all__ = ["RANGE_TOLERANCE", "RULES", "Finding", "SanityReport", "check_frame", "clean_frame"]

logger = logging.getLogger(__name__)

Severity = Literal["error", "warning"]
# Rule -> message template: what was found, what was expected, the fix. Order is report order.
_ERRORS = MappingProxyType({
    "duplicate_date": "{value:g} rows for this symbol and date; expected one; drop the extra "
                      "rows (clean_frame keeps the last)",
    "unsorted_dates": "{value:g} bar(s) follow a later-dated bar in the file, the first after "
                      "{before}; expected increasing dates; sort the file",
    "non_positive_price": "{prices}; expected prices above 0; fix or drop the row",
    "high_below_low": "high {high:g} is below low {low:g}; expected high >= low; fix the bar",
    "close_outside_range": "close {value:g} is outside [low {low:g}, high {high:g}]; expected "
                           "low <= close <= high; fix the bar",
    "open_outside_range": "open {value:g} is outside [low {low:g}, high {high:g}]; expected "
                          "low <= open <= high; fix the bar",
    "negative_volume": "volume {value:g} is negative; expected 0 or more; fix the bar",
})  # fmt: skip
_WARNINGS = MappingProxyType({
    "missing_price": "{value:g} bar(s) in a row from here lack open, high, low or close; "
                     "expected all four; fill them from another source or drop them",
    "zero_volume_streak": "volume is 0 on {value:g} bars in a row from here; expected fewer "
                          "than {limit}; check the feed or the symbol's liquidity",
    "stale_price": "close stays at {close:g} for {value:g} bars in a row from here; expected "
                   "fewer than {limit}; the feed may be stale",
    "extreme_jump": "close moves {value:+.1%} from {before:g} on {day} to {close:g}; expected "
                    "at most {limit:.0%} per bar; check for a split or a bad print",
    "calendar_gap": "no bar on {value:g} {calendar} session(s), {first} to {last}; expected a "
                    "bar on every session between the first and last bar; fill the gap",
    "off_calendar": "{value:g} bar(s) in a row from here fall on days that are not {calendar} "
                    "sessions; expected sessions only; drop them",
})  # fmt: skip
_MESSAGES = MappingProxyType({**_ERRORS, **_WARNINGS})
RULES: Mapping[str, Severity] = MappingProxyType(
    {**dict.fromkeys(_ERRORS, "error"), **dict.fromkeys(_WARNINGS, "warning")}
)
RANGE_TOLERANCE = 1e-6  # relative slack before open or close is outside [low, high]

_PRICES = ("open", "high", "low", "close")
_RULE_ORDER = {rule: n for n, rule in enumerate(RULES)}
_DateArray = npt.NDArray[np.datetime64]
_NameArray = npt.NDArray[np.object_]
_Hits = tuple[IntArray, FloatArray]


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule broken at one place: a row, or the first bar of a run."""

    symbol: str
    date: pd.Timestamp
    rule: str
    value: float
    message: str
    severity: Severity

    def to_dict(self) -> dict[str, object]:
        """Return the finding as JSON-ready values (ISO date, null for a missing value)."""
        value = float(self.value)
        shown = None if not np.isfinite(value) else int(value) if value.is_integer() else value
        head = {"symbol": self.symbol, "date": _iso(self.date), "rule": self.rule, "value": shown}
        return {**head, "severity": self.severity, "message": self.message}

    def describe(self) -> str:
        """Return the finding as one line: symbol, date, rule, value and message."""
        return f"{self.symbol} {_iso(self.date)} {self.rule} (value {self.value:g}): {self.message}"


@dataclass(frozen=True, slots=True)
class SanityReport:
    """What ``check_frame`` found in one frame, sorted by symbol, date and rule."""

    findings: tuple[Finding, ...]
    rows: int
    symbols: int
    source: str = ""

    @property
    def errors(self) -> tuple[Finding, ...]:
        """The findings of severity ``error``: they fail ``enforce`` mode."""
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """The findings of severity ``warning``."""
        return tuple(f for f in self.findings if f.severity == "warning")

    def counts_by_rule(self) -> dict[str, int]:
        """Return the number of findings per rule, in the order of ``RULES``."""
        counts = Counter(f.rule for f in self.findings)
        return {rule: counts[rule] for rule in RULES if counts[rule]}

    def to_json(self) -> str:
        """Return the report (a summary and every finding) as a JSON document."""
        head = {"source": self.source, "rows": self.rows, "symbols": self.symbols}
        counts = {"errors": len(self.errors), "warnings": len(self.warnings)}
        findings = [f.to_dict() for f in self.findings]
        payload = {**head, **counts, "counts_by_rule": self.counts_by_rule(), "findings": findings}
        return json.dumps(payload, indent=2, allow_nan=False)

    def summary_line(self) -> str:
        """Return one line: source, rows, symbols and the findings per severity and rule."""
        head = f"{self.source or 'data'}: {self.rows} rows, {self.symbols} symbols"
        counts = self.counts_by_rule()
        parts = []
        for severity in ("error", "warning"):
            rules = {rule: n for rule, n in counts.items() if RULES[rule] == severity}
            total = sum(rules.values())
            detail = ", ".join(f"{rule} {n}" for rule, n in rules.items())
            parts += [f"{total} {severity}{'' if total == 1 else 's'} ({detail})"] if total else []
        return f"{head}: {', '.join(parts) or 'no sanity findings'}"

    def raise_if_failed(self, mode: SanityMode) -> None:
        """Apply ``mode``: ``enforce`` raises on any error, ``warn`` logs, ``off`` does nothing.

        In ``enforce`` mode, raise ``DataError`` with a one-line message naming the source,
        the number of errors and the first of them; an unknown mode raises ``ConfigError``.
        """
        if mode not in ("enforce", "warn", "off"):
            raise ConfigError(f"unknown sanity mode {mode!r}; expected enforce, warn or off")
        first = (self.errors or self.findings or (None,))[0]
        if mode == "warn" and first is not None:
            logger.warning("%s; first: %s", self.summary_line(), first.describe())
        if mode == "enforce" and self.errors:
            count = len(self.errors)
            message = (
                f"{self.source or 'data'}: {count} sanity error{'' if count == 1 else 's'} in "
                f"{self.rows} rows; first: {self.errors[0].describe()}; fix the data (see all with "
                f"`harvester data check --data {self.source or 'SOURCE'} --report FILE`) or set "
                "data.sanity.mode to 'warn'"
            )
            raise DataError(" ".join(message.splitlines()))


def check_frame(
    frame: pd.DataFrame,
    *,
    config: SanityConfig,
    equity_calendar: str = "XNYS",
    crypto_calendar: str = "24/7",
    source: str = "",
) -> SanityReport:
    """Run every sanity rule over a normalised long frame and return what was found.

    ``frame`` is a long frame as ``harvester.data.readers`` returns it (``date``, ``symbol``
    and any of ``open``, ``high``, ``low``, ``close``, ``volume``; rules on an absent column
    are skipped). ``config`` holds the thresholds and whether to check the calendar of each
    symbol (``equity_calendar`` for equities and ETFs, ``crypto_calendar`` for crypto);
    ``source`` names the data in the report. Raises ``DataError`` if ``frame`` lacks
    ``date`` or ``symbol`` or has a missing date.
    """
    # Each temporary is dropped once used: a large frame is checked in little more memory.
    codes, names, dates = _keys(frame, source=source)
    by_symbol = np.argsort(codes, kind="stable")
    found = _unsorted(_Bars(names, codes[by_symbol], dates[by_symbol], {}))
    del by_symbol
    order = np.lexsort((dates.view(np.int64), codes))
    columns = [c for c in (*_PRICES, "volume") if c in frame.columns]
    values = {
        c: pd.to_numeric(frame[c], errors="coerce").to_numpy(np.float64, na_value=np.nan)[order]
        for c in columns
    }
    bars = _Bars(names, codes[order], dates[order], values)
    del codes, dates, order, values
    found += _row_rules(bars)
    series = bars.take(~bars.is_repeat_of_next())
    del bars
    found += _series_rules(series, config=config)
    if config.check_calendar:
        found += _calendar_rules(series, equity=equity_calendar, crypto=crypto_calendar)
    found.sort(key=lambda f: (f.symbol, f.date, _RULE_ORDER[f.rule]))
    return SanityReport(tuple(found), rows=len(frame), symbols=len(names), source=source)


def clean_frame(frame: pd.DataFrame, report: SanityReport) -> pd.DataFrame:
    """Return ``frame`` sorted by (symbol, date) without duplicate rows (the last one stays).

    Nothing else changes: a price that breaks a rule stays as it is. ``report`` must be the
    report of ``frame``; one made for a frame of another length raises ``DataError``.
    """
    if report.rows != len(frame):
        found = f"the sanity report covers {report.rows} rows but the frame has {len(frame)}"
        raise DataError(f"{report.source or 'data'}: {found}; expected its own report")
    codes, _, dates = _keys(frame, source=report.source)
    # A stable sort keeps equal keys in file order, so the last of a run is the last row.
    order = np.lexsort((dates.view(np.int64), codes))
    sorted_codes, sorted_dates = codes[order], dates[order]
    repeated = (sorted_codes[1:] == sorted_codes[:-1]) & (sorted_dates[1:] == sorted_dates[:-1])
    rows = order[np.append(~repeated, True)] if len(order) else order
    if len(rows) == len(frame) and bool(np.all(rows == np.arange(len(rows)))):
        return frame.reset_index(drop=True)  # already clean: no copy of the data
    return frame.take(rows).reset_index(drop=True)


@dataclass(frozen=True, slots=True)
class _Bars:
    names: _NameArray
    code: IntArray
    date: _DateArray
    values: Mapping[str, FloatArray]

    @property
    def same(self) -> BoolArray:
        return np.concatenate(([False], self.code[1:] == self.code[:-1]))[: len(self.code)]

    def take(self, mask: BoolArray) -> _Bars:
        values = {k: v[mask] for k, v in self.values.items()}
        return _Bars(self.names, self.code[mask], self.date[mask], values)

    def is_repeat_of_next(self) -> BoolArray:
        repeat = self.same[1:] & (self.date[1:] == self.date[:-1])
        return np.concatenate((repeat, [False]))[: len(self.code)]

    def emit(
        self, rule: str, hits: _Hits, *, date: _DateArray | None = None, **fields: object
    ) -> list[Finding]:
        # `hits` are (rows, values); array fields align with them; `date` overrides the rows'.
        rows, values = hits
        dates = self.date[rows] if date is None else date
        found = []
        for i, row in enumerate(rows):
            at = {k: v[i] if isinstance(v, np.ndarray | list) else v for k, v in fields.items()}
            message = _MESSAGES[rule].format(value=values[i], **at)
            symbol, stamp = str(self.names[self.code[row]]), pd.Timestamp(dates[i])
            found.append(Finding(symbol, stamp, rule, float(values[i]), message, RULES[rule]))
        return found


def _keys(frame: pd.DataFrame, *, source: str) -> tuple[IntArray, _NameArray, _DateArray]:
    missing = sorted({"date", "symbol"} - set(frame.columns))
    dated = not missing and pd.api.types.is_datetime64_any_dtype(frame["date"].dtype)
    if not dated or frame["date"].isna().any():
        raise DataError(
            f"{source or 'data'}: no {missing or 'date'} column of datetimes without gaps; "
            "expected a normalised long frame; read the data with harvester.data.readers first"
        )
    dates = pd.DatetimeIndex(frame["date"])
    dates = dates.tz_convert("UTC").tz_localize(None) if dates.tz is not None else dates
    # Factorised as text in place: no Python string per row (the same codes and names).
    codes, names = pd.factorize(frame["symbol"].astype(str), sort=True)
    as_ns = dates.to_numpy(dtype="datetime64[ns]")
    return codes.astype(np.int64), np.asarray(names, dtype=object), as_ns


def _runs(mask: BoolArray, same: BoolArray) -> _Hits:
    # Start row and length of each run of True in `mask` that stays within one symbol.
    is_start = mask & ~np.concatenate(([False], mask[1:] & mask[:-1] & same[1:]))[: len(mask)]
    lengths = np.bincount(np.cumsum(is_start)[mask] - 1, minlength=int(is_start.sum()))
    return np.flatnonzero(is_start), lengths.astype(np.float64)


def _unsorted(bars: _Bars) -> list[Finding]:
    # `bars` are in file order within each symbol.
    back = np.flatnonzero(bars.same[1:] & (bars.date[1:] < bars.date[:-1])) + 1
    _, first, counts = np.unique(bars.code[back], return_index=True, return_counts=True)
    rows = back[first]
    before = [_iso(d) for d in bars.date[rows - 1]]
    return bars.emit("unsorted_dates", (rows, counts.astype(np.float64)), before=before)


def _row_rules(bars: _Bars) -> list[Finding]:
    starts, lengths = _runs(bars.is_repeat_of_next(), bars.same)
    found = bars.emit("duplicate_date", (starts, lengths + 1))
    found += _price_rules(bars)
    if "volume" in bars.values:
        rows = np.flatnonzero(bars.values["volume"] < 0)
        found += bars.emit("negative_volume", (rows, bars.values["volume"][rows]))
    if {"high", "low"} <= bars.values.keys():
        high, low = bars.values["high"], bars.values["low"]
        rows = np.flatnonzero(high < low)
        hits = (rows, (high - low)[rows])
        found += bars.emit("high_below_low", hits, high=high[rows], low=low[rows])
        found += _outside_range(bars, "close") + _outside_range(bars, "open")
    return found


def _price_rules(bars: _Bars) -> list[Finding]:
    names = [c for c in _PRICES if c in bars.values]
    if not names:
        return []
    prices = np.column_stack([bars.values[c] for c in names])
    bad = prices <= 0
    rows = np.flatnonzero(bad.any(axis=1))
    first = prices[rows, np.argmax(bad[rows], axis=1)]
    shown = [
        ", ".join(f"{names[k]} {prices[r, k]:g}" for k in np.flatnonzero(bad[r])) for r in rows
    ]
    missing: BoolArray = np.isnan(prices).any(axis=1)  # type: ignore[assignment]
    found = bars.emit("non_positive_price", (rows, first), prices=shown)
    return found + bars.emit("missing_price", _runs(missing, bars.same))


def _outside_range(bars: _Bars, name: str) -> list[Finding]:
    if name not in bars.values:
        return []
    price, high, low = bars.values[name], bars.values["high"], bars.values["low"]
    above = price > high + RANGE_TOLERANCE * np.abs(high)
    below = price < low - RANGE_TOLERANCE * np.abs(low)
    rows = np.flatnonzero((above | below) & (high >= low))
    return bars.emit(f"{name}_outside_range", (rows, price[rows]), high=high[rows], low=low[rows])


def _series_rules(bars: _Bars, *, config: SanityConfig) -> list[Finding]:
    found = []
    if "volume" in bars.values:
        rows, lengths = _runs(np.asarray(bars.values["volume"] == 0), bars.same)
        limit = config.zero_volume_bars
        long = lengths >= limit
        found += bars.emit("zero_volume_streak", (rows[long], lengths[long]), limit=limit)
    if "close" in bars.values:
        close = bars.values["close"]  # the only column the price rules read
        priced = _Bars(bars.names, bars.code, bars.date, {"close": close}).take(~np.isnan(close))
        found += _stale(priced, min_bars=config.stale_bars)
        found += _jumps(priced, max_abs_return=config.max_abs_return)
    return found


def _stale(bars: _Bars, *, min_bars: int) -> list[Finding]:
    close = bars.values["close"]
    repeats, lengths = _runs(bars.same & (close == np.r_[np.nan, close[:-1]]), bars.same)
    long = lengths + 1 >= min_bars
    rows = repeats[long] - 1
    return bars.emit("stale_price", (rows, lengths[long] + 1), close=close[rows], limit=min_bars)


def _jumps(bars: _Bars, *, max_abs_return: float) -> list[Finding]:
    close = bars.values["close"]
    previous: FloatArray = np.r_[np.nan, close[:-1]]
    valid = bars.same & (previous > 0) & (close > 0)
    change = np.where(valid, close / np.where(valid, previous, 1.0) - 1.0, 0.0)
    rows = np.flatnonzero(np.abs(change) > max_abs_return)
    day, before, limit = [_iso(d) for d in bars.date[rows - 1]], previous[rows], max_abs_return
    hits = (rows, change[rows])
    return bars.emit("extreme_jump", hits, day=day, before=before, close=close[rows], limit=limit)


def _calendar_rules(bars: _Bars, *, equity: str, crypto: str) -> list[Finding]:
    # One calendar lookup per symbol; the checks run once per calendar over all its symbols.
    kinds = [detect_asset_class(str(s)) for s in bars.names]
    names = [calendar_name_for(k, equity_calendar=equity, crypto_calendar=crypto) for k in kinds]
    calendar_of = np.array([*names, ""])
    dated = _Bars(bars.names, bars.code, bars.date, {})  # the calendar rules read no prices
    found: list[Finding] = []
    for name in np.unique(calendar_of[np.unique(bars.code)]):
        found += _check_calendar(dated.take((calendar_of == name)[bars.code]), str(name))
    return found


def _check_calendar(bars: _Bars, name: str) -> list[Finding]:
    days = bars.date.astype("datetime64[D]")
    session_days = _session_days(name, days)
    if len(session_days) == 0:
        return []
    position = np.searchsorted(session_days, days).clip(max=len(session_days) - 1)
    on = session_days[position] == days
    inside = (days >= session_days[0]) & (days <= session_days[-1])
    found = bars.emit("off_calendar", _runs(~on & inside, bars.same), calendar=name)
    return found + _gaps(bars.take(on), position[on], sessions=session_days, name=name)


def _session_days(name: str, days: _DateArray) -> _DateArray:
    pad = np.timedelta64(10, "D")
    lo, hi = pd.Timestamp(days.min() - pad), pd.Timestamp(days.max() + pad)
    return sessions(name, lo, hi).to_numpy(dtype="datetime64[D]")


def _gaps(bars: _Bars, position: IntArray, *, sessions: _DateArray, name: str) -> list[Finding]:
    previous = np.concatenate(([0], position[:-1]))[: len(position)]
    rows = np.flatnonzero(bars.same & (position - previous > 1))
    missed = (position - previous - 1)[rows].astype(np.float64)
    first, last = sessions[previous[rows] + 1], sessions[position[rows] - 1]
    days = {"first": [_iso(d) for d in first], "last": [_iso(d) for d in last]}
    return bars.emit("calendar_gap", (rows, missed), date=first, calendar=name, **days)


def _iso(date: pd.Timestamp | np.datetime64) -> str:
    stamp = pd.Timestamp(date)
    return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.isoformat()
