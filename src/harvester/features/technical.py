"""Price and volatility indicators over the (time × symbols) panel.

Every function takes float64 arrays of shape ``(time, symbols)`` and returns one of the
same shape, computing all symbols at once. All are causal: the value at bar t uses bars up to
and including t.

NaN convention (the same in every module of :mod:`harvester.features`):

- a missing bar (NaN input) gives NaN output at that bar;
- bar-to-bar quantities (returns, price changes) need both bars, so the bar after a gap is
  NaN too;
- plain windowed statistics (SMA, standard deviation, rank, regression) are NaN while a
  missing value is inside the window, and recover once it has left;
- recursive averages (EMA, Wilder) skip missing bars: the state carries over to the
  symbol's next valid bar, and the warm-up counts valid bars from a symbol's first one;
- a ratio whose denominator is exactly zero (a constant price) gets a documented neutral
  value (0 for z-score, band width and volatility) instead of a division warning.

Warm-ups follow TA-Lib: Wilder averages (ATR, RSI) and EMAs are seeded with the simple mean
of their first ``period`` inputs, so values equal TA-Lib's from the first one.
"""

from __future__ import annotations

import numpy as np

from harvester.core.types import FloatArray
from harvester.features._common import (
    by_column_halves,
    check_period,
    previous_bar,
    rolling_mean,
    rolling_std,
    safe_divide,
)
from harvester.features._kernels import ewm_nb, rolling_rank_nb, rolling_zscore_nb
from harvester.features._memo import shared
from harvester.features.volatility import true_range

__all__ = [
    "bollinger_lower",
    "bollinger_middle",
    "bollinger_upper",
    "bollinger_width",
    "ema",
    "log_returns",
    "ma_slope",
    "percentile_rank",
    "returns",
    "rsi",
    "sma",
    "wilder_atr",
    "wilder_average",
    "zscore",
]


@shared
def returns(close: FloatArray) -> FloatArray:
    """Return the simple return ``close[t] / close[t-1] - 1`` of every bar."""
    return safe_divide(close, previous_bar(close), fill=np.nan) - 1.0


@shared
def log_returns(close: FloatArray) -> FloatArray:
    """Return the log return ``log(close[t] / close[t-1])`` of every bar (NaN if not > 0)."""
    ratio = safe_divide(close, previous_bar(close), fill=np.nan)
    out = np.full(ratio.shape, np.nan)
    np.log(ratio, out=out, where=ratio > 0)
    return out


def sma(values: FloatArray, *, period: int) -> FloatArray:
    """Return the simple moving average over ``period`` bars."""
    return rolling_mean(values, window=check_period(period, name="period"))


def ema(values: FloatArray, *, period: int, skip: int = 0) -> FloatArray:
    """Return the EMA (α = 2 / (period + 1)) seeded with the SMA of the first ``period`` values.

    Parameters
    ----------
    values
        (time × symbols) input.
    period
        Averaging period.
    skip
        Ignore each symbol's first ``skip`` valid values (TA-Lib's MACD starts its fast EMA
        where the slow one starts).
    """
    window = check_period(period, name="period")
    return ewm_nb(np.ascontiguousarray(values, np.float64), 2.0 / (window + 1), window, skip)


def wilder_average(values: FloatArray, *, period: int, skip: int = 0) -> FloatArray:
    """Return Wilder's average (α = 1 / period) seeded with the SMA of the first values."""
    window = check_period(period, name="period")
    return ewm_nb(np.ascontiguousarray(values, np.float64), 1.0 / window, window, skip)


@shared
def wilder_atr(high: FloatArray, low: FloatArray, close: FloatArray, *, period: int) -> FloatArray:
    """Return Wilder's ATR exactly as TA-Lib computes it (first value at bar ``period``).

    The first true range of a symbol has no previous close and is left out of the seed.
    """
    return wilder_average(true_range(high, low, close), period=period, skip=1)


def ma_slope(close: FloatArray, *, period: int, lag: int) -> FloatArray:
    """Return the SMA's fractional change per bar over ``lag`` bars."""
    average = sma(close, period=period)
    bars = check_period(lag, name="lag")
    before = np.full(average.shape, np.nan)
    before[bars:] = average[:-bars]
    return safe_divide(average - before, before * bars, fill=np.nan)


@shared
def zscore(values: FloatArray, *, period: int) -> FloatArray:
    """Return ``(value - mean) / std`` over ``period`` bars (population std; 0 if flat)."""
    window = check_period(period, name="period", minimum=2)
    return by_column_halves(lambda part: rolling_zscore_nb(part, window), values)


@shared
def percentile_rank(values: FloatArray, *, window: int) -> FloatArray:
    """Return the rank of the current value within the last ``window`` values, in [0, 1].

    0 when it is the window's lowest, 1 when it is the highest; ties count as below, so a
    flat window gives 1.
    """
    size = check_period(window, name="window", minimum=2)
    return by_column_halves(lambda part: rolling_rank_nb(part, size), values)


def bollinger_middle(close: FloatArray, *, period: int, num_std: float) -> FloatArray:
    """Return the Bollinger middle band: the SMA over ``period`` bars."""
    del num_std
    return sma(close, period=period)


@shared
def _bollinger_deviation(close: FloatArray, *, period: int, num_std: float) -> FloatArray:
    window = check_period(period, name="period")
    # Pandas' rolling algorithm, not the two-pass kernel: p_bb ranks this width, and the
    # kernel's (more accurate) last digits would break near-ties differently.
    return rolling_std(close, window=window, ddof=0) * float(num_std)


def bollinger_upper(close: FloatArray, *, period: int, num_std: float) -> FloatArray:
    """Return the upper band: SMA + ``num_std`` population standard deviations."""
    return sma(close, period=period) + _bollinger_deviation(close, period=period, num_std=num_std)


def bollinger_lower(close: FloatArray, *, period: int, num_std: float) -> FloatArray:
    """Return the lower band: SMA − ``num_std`` population standard deviations."""
    return sma(close, period=period) - _bollinger_deviation(close, period=period, num_std=num_std)


@shared
def bollinger_width(close: FloatArray, *, period: int, num_std: float) -> FloatArray:
    """Return the band width ``(upper - lower) / middle`` (0 for a flat price)."""
    spread = 2.0 * _bollinger_deviation(close, period=period, num_std=num_std)
    return safe_divide(spread, sma(close, period=period), fill=np.nan)


@shared
def rsi(close: FloatArray, *, period: int) -> FloatArray:
    """Return Wilder's RSI as TA-Lib computes it (first value at bar ``period``).

    A window with neither gains nor losses (a flat price) gives 50, where TA-Lib gives 0.
    """
    change = close - previous_bar(close)
    gains = wilder_average(np.maximum(change, 0.0), period=period)
    losses = wilder_average(np.maximum(-change, 0.0), period=period)
    return safe_divide(100.0 * gains, gains + losses, fill=50.0)
