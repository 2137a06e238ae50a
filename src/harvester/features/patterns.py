"""The Python brain's three chart patterns as causal detectors with a confirmation bar.

Each detector reads closes only and returns, per (bar, symbol), **1 on the bar that
confirms the pattern** using bars up to and including that bar, 0 elsewhere, and NaN where
its window (the bars it reads) holds a missing bar. "Before t" below means the window of
bars ending at t − 1; t is the confirmation bar.

- **double top** (bearish; ``lookback=40``, ``tolerance=0.03``, ``depth=0.05``): split the
  ``lookback`` bars before t into halves; the first peak is the highest close of the first
  half, the second the highest of the second half (first occurrence). The peaks are within
  ``tolerance`` of the higher one; the neckline, the lowest close from the first peak to the
  second, is at least ``depth`` below the lower peak; no close since the second peak is below
  the neckline; and the close at t is below it (the break confirms).
- **inverse head and shoulders** (bullish; ``lookback=60``, ``tolerance=0.03``,
  ``depth=0.05``): split the bars before t into thirds; left shoulder, head and right
  shoulder are the lowest closes of each third. The shoulders are within ``tolerance`` of
  the higher one; the head is at least ``depth`` below the lower shoulder; the neckline is the
  highest close from the left shoulder to the right one; no close since the right shoulder is
  above it; and the close at t is above it.
- **bull flag** (``pole_bars=5``, ``flag_bars=10``, ``pole_gain=0.08``, ``retrace=0.5``): the
  pole rises from ``close[t − flag − pole]`` to ``close[t − flag]`` by at least ``pole_gain``;
  the flag (bars ``t − flag … t − 1``) never closes above the pole's top nor retraces more than
  ``retrace`` of the pole; the close at t breaks above the pole's top.
- **bear flag**: the mirror image (a falling pole, a shallow bounce, a break below the
  pole's bottom). Both flags are 1 on the breakout bar (a directional signal: +1 bull, and the
  bear flag's 1 is bearish).

Each confirmation fires once: the bar after a break no longer satisfies "no close beyond
the neckline (or pole end) since".
"""

from __future__ import annotations

from harvester.core.errors import ConfigError
from harvester.core.types import FloatArray
from harvester.features._common import by_column_halves, check_period
from harvester.features._pattern_kernels import double_top_nb, flag_nb, inverse_head_shoulders_nb

__all__ = ["bear_flag", "bull_flag", "double_top", "inverse_head_shoulders"]


def _fraction(value: float, *, name: str) -> float:
    if not 0.0 <= value < 1.0:
        raise ConfigError(f"{name} must be in [0, 1); got {value!r}")
    return float(value)


def double_top(close: FloatArray, *, lookback: int, tolerance: float, depth: float) -> FloatArray:
    """Return 1 on the bar whose close breaks the neckline of a double top."""
    bars = check_period(lookback, name="lookback", minimum=4)
    tol, deep = _fraction(tolerance, name="tolerance"), _fraction(depth, name="depth")
    return by_column_halves(lambda part: double_top_nb(part, bars, tol, deep), close)


def inverse_head_shoulders(
    close: FloatArray, *, lookback: int, tolerance: float, depth: float
) -> FloatArray:
    """Return 1 on the bar whose close breaks above an inverse head and shoulders."""
    bars = check_period(lookback, name="lookback", minimum=6)
    tol, deep = _fraction(tolerance, name="tolerance"), _fraction(depth, name="depth")
    return by_column_halves(lambda part: inverse_head_shoulders_nb(part, bars, tol, deep), close)


def _flag(close: FloatArray, pole: int, flag: int, gain: float, retrace: float,
          sign: float) -> FloatArray:  # fmt: skip
    pole_bars = check_period(pole, name="pole_bars")
    flag_bars = check_period(flag, name="flag_bars", minimum=2)
    if gain <= 0:
        raise ConfigError(f"pole_gain must be positive; got {gain!r}")
    step = _fraction(retrace, name="retrace")
    return by_column_halves(
        lambda part: flag_nb(part, pole_bars, flag_bars, float(gain), step, sign), close
    )


def bull_flag(
    close: FloatArray, *, pole_bars: int, flag_bars: int, pole_gain: float, retrace: float
) -> FloatArray:
    """Return 1 on the bar whose close breaks above a bull flag's pole top."""
    return _flag(close, pole_bars, flag_bars, pole_gain, retrace, 1.0)


def bear_flag(
    close: FloatArray, *, pole_bars: int, flag_bars: int, pole_gain: float, retrace: float
) -> FloatArray:
    """Return 1 on the bar whose close breaks below a bear flag's pole bottom."""
    return _flag(close, pole_bars, flag_bars, pole_gain, retrace, -1.0)
