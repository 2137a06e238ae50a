"""Parameters of the synthetic market and the ``synthetic:key=value,...`` spec parser.

Examples
--------
>>> parse_synthetic_spec("symbols=3,years=2,seed=9").symbols
3
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd

from harvester.core.errors import ConfigError

__all__ = ["Pair", "SyntheticParams", "Triple", "parse_synthetic_spec"]

Triple = tuple[float, float, float]
Pair = tuple[float, float]


# -- parameters ----------------------------------------------------------------------------


# How one parameter is described in messages, converted from spec text and checked.
@dataclass(frozen=True, slots=True)
class _Kind:
    expected: str
    convert: Callable[[str], Any]
    is_valid: Callable[[Any], bool]


def _is_int(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _is_number(value: Any, bounds: Pair, *, open_high: bool = False) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return False
    low, high = bounds
    return low <= value < high if open_high else low <= value <= high


def _is_date(value: Any) -> bool:
    try:
        day = pd.Timestamp(value) if isinstance(value, str) else None
    except (ValueError, OverflowError):
        return False
    # Sessions are tz-naive dates; a time zone would make the span ambiguous.
    return day is not None and not pd.isna(day) and day.tz is None


def _numbers(text: str) -> tuple[float, ...]:
    return tuple(float(part) for part in text.split("/"))


def _is_tuple(value: Any, check: Callable[[Any], bool], *, size: int) -> bool:
    return isinstance(value, tuple) and len(value) == size and all(check(v) for v in value)


def _is_range(value: Any) -> bool:
    positive = _is_tuple(value, lambda v: _is_number(v, (1e-12, math.inf)), size=2)
    return positive and value[0] <= value[1]


def _number(expected: str, bounds: Pair, *, open_high: bool = False) -> _Kind:
    return _Kind(expected, float, lambda v: _is_number(v, bounds, open_high=open_high))


def _triple(expected: str, bounds: Pair) -> _Kind:
    return _Kind(
        f"three numbers {expected} joined by '/' (calm/volatile/panic)",
        _numbers,
        lambda v: _is_tuple(v, lambda x: _is_number(x, bounds), size=3),
    )


_COUNT = _Kind("an integer >= 1", int, lambda v: _is_int(v, 1))
_SEED = _Kind("an integer >= 0", int, lambda v: _is_int(v, 0))
_DATE = _Kind("a date without time zone such as 2010-01-04", str, _is_date)
_CALENDAR = _Kind(
    "a calendar name such as XNYS or 24/7", str, lambda v: isinstance(v, str) and v != ""
)
_UNIT = _number("a number in [0, 1]", (0.0, 1.0))
_CORRELATION = _number("a number in [-1, 1]", (-1.0, 1.0))
_AUTOREGRESSION = _number("a number in [0, 1)", (0.0, 1.0), open_high=True)
_REAL = _number("a finite number", (-math.inf, math.inf))
_NON_NEGATIVE = _number("a number >= 0", (0.0, math.inf))
_POSITIVE = _number("a number > 0", (1e-12, math.inf))
_PROBABILITIES = _triple("in [0, 1]", (0.0, 1.0))
_DRIFTS = _triple("in [-1, 1]", (-1.0, 1.0))
_SCALES = _triple(">= 0", (0.0, math.inf))
_MULTIPLIERS = _triple("> 0", (1e-12, math.inf))
_RANGE = _Kind("two numbers low/high with 0 < low <= high", _numbers, _is_range)


@dataclass(frozen=True, slots=True)
class SyntheticParams:
    """Every knob of the synthetic market, with defaults that look like a US equity market.

    Volatilities and drifts are per session in log-return units; per-regime values are
    ordered (calm, volatile, panic). Invalid values raise
    :class:`~harvester.core.errors.ConfigError` on construction.

    Parameters
    ----------
    symbols, years, seed
        Number of symbols (named ``SYN000``, ``SYN001``, ...), calendar years and random seed.
    start, calendar
        First day and trading calendar (``"XNYS"`` or ``"24/7"``); the sessions run from
        ``start`` for ``years`` years.
    regime_persistence
        Probability of staying in each regime for one more session; leaving moves to the
        nearer regime twice as often as to the farther one.
    vol_multipliers
        Factor on market, idiosyncratic, gap and intraday-range volatility per regime.
    market_drift, market_vol
        Market factor drift per regime and its calm volatility.
    beta_range, idio_vol_range, price_range
        Uniform ranges of betas and idiosyncratic volatilities; log-uniform range of start
        prices.
    jump_prob, jump_size
        Per-symbol jump probability per session and jump standard deviation, per regime.
    gap_scale, range_scale
        Overnight gap and intraday range as multiples of the symbol's regime volatility.
    volume_range, volume_corr, volume_vol, volume_stress
        Log-uniform range of base volumes; correlation of the log-volume shock with the
        standardised absolute return; log-volume shock size; log-volume uplift per regime.
    attention_share, attention_corr, attention_persistence, attention_scale
        Share of symbols with attention data; correlation of the attention innovation with
        the standardised absolute return; AR(1) coefficient of the attention level; index
        points per unit of level (the index is ``50 + attention_scale * level``).
    vix_premium
        VIX over the regime's annualised market volatility (implied exceeds realised).
    oil_start, oil_vol, oil_beta, oil_jump_prob, oil_jump_size
        Oil start price, own volatility, loading on the market factor, and jumps.
    """

    symbols: int = field(default=20, metadata={"kind": _COUNT})
    years: int = field(default=5, metadata={"kind": _COUNT})
    seed: int = field(default=7, metadata={"kind": _SEED})
    start: str = field(default="2010-01-04", metadata={"kind": _DATE})
    calendar: str = field(default="XNYS", metadata={"kind": _CALENDAR})
    regime_persistence: Triple = field(
        default=(0.98, 0.95, 0.90), metadata={"kind": _PROBABILITIES}
    )
    vol_multipliers: Triple = field(default=(1.0, 2.0, 3.5), metadata={"kind": _MULTIPLIERS})
    market_drift: Triple = field(default=(0.0008, 0.0002, -0.003), metadata={"kind": _DRIFTS})
    market_vol: float = field(default=0.0075, metadata={"kind": _POSITIVE})
    beta_range: Pair = field(default=(0.6, 1.4), metadata={"kind": _RANGE})
    idio_vol_range: Pair = field(default=(0.008, 0.02), metadata={"kind": _RANGE})
    price_range: Pair = field(default=(10.0, 200.0), metadata={"kind": _RANGE})
    jump_prob: Triple = field(default=(0.002, 0.01, 0.04), metadata={"kind": _PROBABILITIES})
    jump_size: Triple = field(default=(0.03, 0.05, 0.08), metadata={"kind": _SCALES})
    gap_scale: float = field(default=0.3, metadata={"kind": _NON_NEGATIVE})
    range_scale: float = field(default=0.5, metadata={"kind": _NON_NEGATIVE})
    volume_range: Pair = field(default=(1e5, 1e7), metadata={"kind": _RANGE})
    volume_corr: float = field(default=0.5, metadata={"kind": _CORRELATION})
    volume_vol: float = field(default=0.3, metadata={"kind": _NON_NEGATIVE})
    volume_stress: Triple = field(default=(0.0, 0.25, 0.6), metadata={"kind": _SCALES})
    attention_share: float = field(default=0.5, metadata={"kind": _UNIT})
    attention_corr: float = field(default=0.6, metadata={"kind": _CORRELATION})
    attention_persistence: float = field(default=0.9, metadata={"kind": _AUTOREGRESSION})
    attention_scale: float = field(default=2.5, metadata={"kind": _NON_NEGATIVE})
    vix_premium: float = field(default=1.1, metadata={"kind": _POSITIVE})
    oil_start: float = field(default=75.0, metadata={"kind": _POSITIVE})
    oil_vol: float = field(default=0.02, metadata={"kind": _NON_NEGATIVE})
    oil_beta: float = field(default=0.5, metadata={"kind": _REAL})
    oil_jump_prob: float = field(default=0.01, metadata={"kind": _UNIT})
    oil_jump_size: float = field(default=0.06, metadata={"kind": _NON_NEGATIVE})

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if not item.metadata["kind"].is_valid(value):
                raise _bad_value(item.name, value)


def _valid_keys() -> str:
    return ", ".join(sorted(item.name for item in fields(SyntheticParams)))


def _kind_of(key: str) -> _Kind | None:
    found = [item for item in fields(SyntheticParams) if item.name == key]
    return found[0].metadata["kind"] if found else None


def _bad_value(key: str, value: Any) -> ConfigError:
    kind = _kind_of(key)
    expected = kind.expected if kind is not None else "a value"
    return ConfigError(
        f"synthetic market: bad value {value!r} for key {key!r}: expected {expected} "
        f"(valid keys: {_valid_keys()})"
    )


def _unknown_key(key: str) -> ConfigError:
    names = sorted(item.name for item in fields(SyntheticParams))
    close = difflib.get_close_matches(key, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ConfigError(
        f"synthetic market: unknown key {key!r}{hint} (expected key=value pairs with valid "
        f"keys: {_valid_keys()})"
    )


def _parse_item(item: str) -> tuple[str, Any]:
    key, equals, text = (part.strip() for part in item.partition("="))
    kind = _kind_of(key)
    if kind is None:
        raise _unknown_key(key)
    if not equals:
        raise _bad_value(key, "")
    try:
        return key, kind.convert(text)
    except ValueError:
        raise _bad_value(key, text) from None


def parse_synthetic_spec(text: str) -> SyntheticParams:
    """Parse ``"symbols=500,years=10,seed=7"`` (the part after ``synthetic:``) into parameters.

    Parameters
    ----------
    text
        Comma-separated ``key=value`` pairs; keys are the field names of
        :class:`SyntheticParams`, per-regime values are joined by ``/`` (``jump_prob=0/0.01/0.05``)
        and ranges likewise (``beta_range=0.5/1.5``). An empty string gives the defaults.

    Returns
    -------
    SyntheticParams
        The defaults with the given keys replaced.

    Raises
    ------
    ConfigError
        On an unknown or repeated key or a value of the wrong kind; the message names the key,
        what was expected and the valid keys.
    """
    values: dict[str, Any] = {}
    for item in (part for part in text.split(",") if part.strip()):
        key, value = _parse_item(item)
        if key in values:
            raise ConfigError(f"synthetic market: key {key!r} given twice; give each key once")
        values[key] = value
    return SyntheticParams(**values)
