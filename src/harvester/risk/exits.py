"""Exit levels and the intrabar exit rule shared by the simulator and the live loop.

Within one bar a position is checked in this order (long shown; short mirrors it):

1. the open gaps through the stop → exit at the open (a worse price than the stop);
2. the open gaps through the target → exit at the open (a better price than the target);
3. the low touches the stop → exit at the stop, even if the high also touched the target:
   with daily bars we cannot know which came first, so we assume the worse (conservative);
4. the high touches the target → exit at the target.

The stop is the tighter of the initial ATR stop and the trailing stop; the trailing stop is
moved at each close to close − max(trail ATR multiple × ATR, minimum distance × close) and
never loosened.
"""

from __future__ import annotations

import math

from harvester.core.jit import njit
from harvester.domain.trades import ExitReason

__all__ = ["NO_EXIT", "initial_levels", "intrabar_exit", "trailed_stop"]

NO_EXIT = -1
_STOP = int(ExitReason.STOP)
_TRAILING = int(ExitReason.TRAILING)
_TARGET = int(ExitReason.TARGET)


@njit
def initial_levels(
    side: int, entry_price: float, atr: float, stop_atr: float, target_atr: float
) -> tuple[float, float]:
    """Return (stop, target) at ``stop_atr`` / ``target_atr`` ATRs from the entry; NaN = none."""
    stop, target = math.nan, math.nan
    if stop_atr > 0.0 and atr > 0.0:
        stop = entry_price - side * stop_atr * atr
    if target_atr > 0.0 and atr > 0.0:
        target = entry_price + side * target_atr * atr
    return stop, target


@njit
def trailed_stop(
    side: int, current: float, close: float, atr: float, trail_atr: float, min_distance: float
) -> float:
    """Return the trailing stop after a close: moved toward the price, never away from it."""
    distance = min_distance * close
    if atr > 0.0:
        distance = max(distance, trail_atr * atr)
    candidate = close - side * distance
    if math.isnan(current):
        return candidate
    return max(current, candidate) if side > 0 else min(current, candidate)


@njit
def _tighter(side: int, stop: float, trail: float) -> tuple[float, int]:
    if math.isnan(trail):
        return stop, _STOP
    if math.isnan(stop) or side * (trail - stop) > 0.0:
        return trail, _TRAILING
    return stop, _STOP


@njit
def intrabar_exit(
    side: int, open_: float, high: float, low: float, stop: float, trail: float, target: float
) -> tuple[int, float]:
    """Return (exit reason code, level) for one bar, or (NO_EXIT, NaN)."""
    level, reason = _tighter(side, stop, trail)
    adverse = low if side > 0 else high
    favourable = high if side > 0 else low
    if not math.isnan(level) and side * (open_ - level) <= 0.0:
        return reason, open_
    if not math.isnan(target) and side * (open_ - target) >= 0.0:
        return _TARGET, open_
    if not math.isnan(level) and side * (adverse - level) <= 0.0:
        return reason, level
    if not math.isnan(target) and side * (favourable - target) >= 0.0:
        return _TARGET, target
    return NO_EXIT, math.nan
