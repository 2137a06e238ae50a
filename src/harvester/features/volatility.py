"""Volatility and liquidity inputs of the engine: true range, ATR, realised vol, ADV.

All are causal: the value at bar t uses bars up to and including t. Each works on a whole
(time × symbols) array at once.

- true range: max(high − low, |high − previous close|, |low − previous close|); the first
  bar of a symbol uses high − low;
- ATR: Wilder's smoothing of the true range (an exponential average with α = 1 / period,
  started at the first true range), NaN for the first ``period − 1`` bars of each symbol;
  the registry's ``atr`` feature is TA-Lib's ATR, seeded with a simple mean instead;
- realised volatility: standard deviation of daily log returns over ``period`` bars, times
  sqrt(periods per year);
- ADV: mean volume over the last ``period`` bars.

Examples
--------
>>> import numpy as np
>>> high, low = np.array([[10.0], [12.0]]), np.array([[9.0], [10.0]])
>>> true_range(high, low, np.array([[9.5], [11.0]]))[:, 0].tolist()
[1.0, 2.5]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harvester.core.types import FloatArray
from harvester.features._common import rolling_mean, rolling_std
from harvester.features._memo import shared

__all__ = ["average_daily_volume", "average_true_range", "realized_volatility", "true_range"]


@shared
def true_range(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    """Return the true range of every bar."""
    previous = np.vstack([np.full((1, close.shape[1]), np.nan), close[:-1]])
    widest = np.fmax(np.fmax(high - low, np.abs(high - previous)), np.abs(low - previous))
    result: FloatArray = np.where(np.isnan(previous), high - low, widest)
    return result


@shared
def average_true_range(
    high: FloatArray, low: FloatArray, close: FloatArray, *, period: int
) -> FloatArray:
    """Return Wilder's ATR over ``period`` bars."""
    ranges = pd.DataFrame(true_range(high, low, close))
    smoothed = ranges.ewm(alpha=1.0 / period, adjust=False, min_periods=period).mean()
    return smoothed.to_numpy(dtype=np.float64)


@shared
def realized_volatility(close: FloatArray, *, period: int, periods_per_year: float) -> FloatArray:
    """Return the annualised standard deviation of log returns over ``period`` bars."""
    with np.errstate(invalid="ignore", divide="ignore"):
        log_close = np.log(close)
    log_returns = np.full(log_close.shape, np.nan)
    log_returns[1:] = log_close[1:] - log_close[:-1]
    deviation = rolling_std(log_returns, window=period, ddof=1)
    return np.asarray(deviation * np.sqrt(periods_per_year), dtype=np.float64)


def average_daily_volume(volume: FloatArray, *, period: int) -> FloatArray:
    """Return the mean volume over the last ``period`` bars."""
    return rolling_mean(volume, window=period)
