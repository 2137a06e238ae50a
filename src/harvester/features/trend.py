"""Trend, range and volume indicators over the (time × symbols) panel.

The NaN convention and the TA-Lib seeding are those of :mod:`harvester.features.technical`.
"""

from __future__ import annotations

import numpy as np

from harvester.core.errors import ConfigError
from harvester.core.types import FloatArray
from harvester.features._common import check_period, rolling_highest, rolling_lowest, safe_divide
from harvester.features._kernels import (
    directional_movement_nb,
    lagged_sum_nb,
    rolling_mean_nb,
    rolling_std_nb,
    wilder_sum_nb,
)
from harvester.features._memo import shared
from harvester.features.technical import ema, wilder_average
from harvester.features.volatility import average_daily_volume, true_range

__all__ = [
    "adx",
    "choppiness",
    "linreg_r2",
    "linreg_slope",
    "macd",
    "macd_histogram",
    "macd_signal",
    "range_position",
    "volume_ratio",
]


@shared
def macd(close: FloatArray, *, fast: int, slow: int, signal: int) -> FloatArray:
    """Return the MACD line, EMA(fast) − EMA(slow), as TA-Lib computes it.

    Both EMAs start at bar ``slow - 1``: the fast one is seeded with the mean of the
    ``fast`` closes ending there (TA-Lib's seeding). ``signal`` only names the column.
    """
    del signal
    if check_period(fast, name="fast") >= check_period(slow, name="slow"):
        raise ConfigError(f"MACD needs fast < slow; got fast={fast}, slow={slow}")
    return ema(close, period=fast, skip=slow - fast) - ema(close, period=slow)


def macd_signal(close: FloatArray, *, fast: int, slow: int, signal: int) -> FloatArray:
    """Return the MACD signal line: the EMA(signal) of the MACD line."""
    return ema(macd(close, fast=fast, slow=slow, signal=signal), period=signal)


@shared
def macd_histogram(close: FloatArray, *, fast: int, slow: int, signal: int) -> FloatArray:
    """Return the MACD histogram: the line minus the signal line."""
    line = macd(close, fast=fast, slow=slow, signal=signal)
    return line - ema(line, period=signal)


def _lagged_sum(values: FloatArray, weights: FloatArray) -> FloatArray:
    return lagged_sum_nb(np.ascontiguousarray(values, np.float64), weights)


def _centred_positions(period: int) -> FloatArray:
    positions = np.arange(period, dtype=np.float64)
    centred: FloatArray = positions - positions.mean()
    return centred


def linreg_slope(close: FloatArray, *, period: int) -> FloatArray:
    """Return the least-squares slope per bar over the last ``period`` bars (TA-Lib's)."""
    centred = _centred_positions(check_period(period, name="period", minimum=2))
    return _lagged_sum(close, centred / float(np.sum(centred**2)))


def linreg_r2(close: FloatArray, *, period: int) -> FloatArray:
    """Return the R² of that regression, in [0, 1] (0 for a flat window)."""
    centred = _centred_positions(check_period(period, name="period", minimum=2))
    sum_squares_x = float(np.sum(centred**2))
    slope = _lagged_sum(close, centred / sum_squares_x)
    deviation = rolling_std_nb(np.ascontiguousarray(close, np.float64), period)
    sum_squares_y = deviation**2 * period
    explained = safe_divide(slope**2 * sum_squares_x, sum_squares_y, fill=0.0)
    return np.clip(explained, 0.0, 1.0)


def adx(high: FloatArray, low: FloatArray, close: FloatArray, *, period: int) -> FloatArray:
    """Return Wilder's ADX as TA-Lib computes it (first value at bar ``2 * period - 1``).

    Directional movement is summed with Wilder's running sum seeded over ``period - 1``
    bars; DX is ``100 |DM+ − DM−| / (DM+ + DM−)`` (0 when both are 0, where TA-Lib keeps
    the previous ADX) and ADX is Wilder's average of DX.
    """
    del close
    window = check_period(period, name="period", minimum=2)
    plus, minus = directional_movement_nb(
        np.ascontiguousarray(high, np.float64), np.ascontiguousarray(low, np.float64)
    )
    plus_sum = wilder_sum_nb(plus, window)
    minus_sum = wilder_sum_nb(minus, window)
    dx = safe_divide(100.0 * np.abs(plus_sum - minus_sum), plus_sum + minus_sum, fill=0.0)
    return wilder_average(dx, period=window, skip=1)


def choppiness(high: FloatArray, low: FloatArray, close: FloatArray, *, period: int) -> FloatArray:
    """Return the choppiness index, 100 log10(Σ TR / (max high − min low)) / log10(period).

    A flat window (no range) gives 100.
    """
    window = check_period(period, name="period", minimum=2)
    ranges = rolling_mean_nb(true_range(high, low, close), window) * window
    span = rolling_highest(high, window=window) - rolling_lowest(low, window=window)
    ratio = safe_divide(ranges, span, fill=float(window))
    out = np.full(ratio.shape, np.nan)
    np.log10(ratio, out=out, where=ratio > 0)
    return np.asarray(100.0 * out / np.log10(window), dtype=np.float64)


def range_position(
    high: FloatArray, low: FloatArray, close: FloatArray, *, period: int
) -> FloatArray:
    """Return where the close sits in the ``period``-bar high-low range, in [0, 1].

    0 at the range's low, 1 at its high; 0.5 when the range is empty (a flat price).
    """
    window = check_period(period, name="period")
    lowest = rolling_lowest(low, window=window)
    return safe_divide(close - lowest, rolling_highest(high, window=window) - lowest, fill=0.5)


@shared
def volume_ratio(volume: FloatArray, *, period: int) -> FloatArray:
    """Return volume over its ``period``-bar mean (that mean includes the current bar).

    NaN when the mean volume is zero.
    """
    average = average_daily_volume(volume, period=check_period(period, name="period"))
    return safe_divide(volume, average, fill=np.nan)
