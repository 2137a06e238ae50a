"""Per-symbol return statistics over a (time × symbols) price array, vectorised over symbols.

Conventions: simple returns between consecutive valid closes; NaN bars are skipped, not
filled; annualisation multiplies by ``periods_per_year`` (no default frequency is assumed).

Examples
--------
>>> import numpy as np
>>> close = np.array([[100.0], [110.0], [99.0], [108.9]])
>>> total_return(close).round(6).tolist()
[0.089]
>>> max_drawdown(close).round(6).tolist()
[-0.1]
"""

from __future__ import annotations

import numpy as np

from harvester.core.types import FloatArray

__all__ = ["annualized_volatility", "max_drawdown", "simple_returns", "total_return"]


def _forward_filled(prices: FloatArray) -> FloatArray:
    filled = prices.copy()
    rows = np.where(np.isnan(filled), 0, np.arange(len(filled))[:, None])
    np.maximum.accumulate(rows, axis=0, out=rows)
    filled = filled[rows, np.arange(filled.shape[1])]
    return filled


def simple_returns(prices: FloatArray) -> FloatArray:
    """Return close-to-close simple returns; a bar after a gap compares with the last close.

    The first row, and every row where the symbol has no price, is NaN.
    """
    filled = _forward_filled(prices)
    returns = np.full(prices.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        returns[1:] = prices[1:] / filled[:-1] - 1.0
    return returns


def total_return(prices: FloatArray) -> FloatArray:
    """Return last valid price over first valid price minus one, per symbol."""
    if len(prices) == 0:
        return np.full(prices.shape[1], np.nan)
    valid = ~np.isnan(prices)
    columns = np.arange(prices.shape[1])
    first = prices[valid.argmax(axis=0), columns]
    last = prices[len(prices) - 1 - valid[::-1].argmax(axis=0), columns]
    result: FloatArray = last / first - 1.0
    result[~valid.any(axis=0)] = np.nan
    return result


def annualized_volatility(prices: FloatArray, *, periods_per_year: float) -> FloatArray:
    """Return the sample standard deviation of returns times sqrt(periods_per_year)."""
    returns = simple_returns(prices)
    valid = ~np.isnan(returns)
    counts = valid.sum(axis=0)
    zeroed = np.where(valid, returns, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = zeroed.sum(axis=0) / counts
        variance = (np.where(valid, returns - mean, 0.0) ** 2).sum(axis=0) / (counts - 1)
    variance[counts < 2] = np.nan
    result: FloatArray = np.sqrt(variance * periods_per_year)
    return result


def max_drawdown(prices: FloatArray) -> FloatArray:
    """Return the worst peak-to-trough fall per symbol as a negative fraction (0 if none)."""
    if len(prices) == 0:
        return np.full(prices.shape[1], np.nan)
    filled = _forward_filled(prices)
    peaks = np.fmax.accumulate(filled, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        drawdowns = filled / peaks - 1.0
    result: FloatArray = np.where(np.isnan(drawdowns), np.inf, drawdowns).min(axis=0)
    result[np.isinf(result)] = np.nan
    return result
