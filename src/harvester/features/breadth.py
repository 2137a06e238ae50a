"""Market-breadth helpers: how much of the universe is above its averages.

Breadth is a property of the whole universe at a bar, so each value is computed across the
symbols of the panel and broadcast to every symbol that has a bar there (like
:func:`harvester.features.harvester_ii.g_score`); symbols without a bar get NaN.

- ``pct_above_ma``: the fraction (0–1) of symbols whose close is strictly above its
  ``period``-bar SMA, among the symbols whose SMA is known at that bar (use ``period=50`` and
  ``period=200`` for the usual 50- and 200-day breadth);
- ``golden_cross_count``: the number of symbols whose ``fast``-bar SMA is strictly above
  their ``slow``-bar SMA (50/200: in a "golden cross" state), among those with both known;
- ``pct_new_high`` / ``pct_new_low``: the fraction of symbols whose close is the highest /
  lowest close of its last ``period`` bars (252: a 52-week high / low), among the symbols
  with ``period`` bars of history.

The value depends on which symbols the panel holds (a universe that changes changes it),
but never on later bars, so it is causal. NaN while no symbol has a known average.
"""

from __future__ import annotations

import numpy as np

from harvester.core.types import BoolArray, FloatArray
from harvester.features._common import check_period, rolling_highest, rolling_lowest, where_traded
from harvester.features.technical import sma

__all__ = ["golden_cross_count", "pct_above_ma", "pct_new_high", "pct_new_low"]


def pct_above_ma(close: FloatArray, *, period: int) -> FloatArray:
    """Return the fraction of the universe with close above its ``period``-bar SMA."""
    average = sma(close, period=period)
    known = ~np.isnan(average) & ~np.isnan(close)
    counted = known.sum(axis=1)
    above = (known & (close > average)).sum(axis=1)
    share = np.full(close.shape[0], np.nan)
    np.divide(above, counted, out=share, where=counted > 0)
    return where_traded(share, close)


def golden_cross_count(close: FloatArray, *, fast: int, slow: int) -> FloatArray:
    """Return how many symbols have SMA(``fast``) above SMA(``slow``)."""
    fast_average, slow_average = sma(close, period=fast), sma(close, period=slow)
    known = ~np.isnan(fast_average) & ~np.isnan(slow_average)
    count = (known & (fast_average > slow_average)).sum(axis=1).astype(np.float64)
    count[~known.any(axis=1)] = np.nan
    return where_traded(count, close)


def _share(hit: BoolArray, known: BoolArray, close: FloatArray) -> FloatArray:
    counted = known.sum(axis=1)
    share = np.full(close.shape[0], np.nan)
    np.divide((hit & known).sum(axis=1), counted, out=share, where=counted > 0)
    return where_traded(share, close)


def pct_new_high(close: FloatArray, *, period: int) -> FloatArray:
    """Return the fraction of the universe closing at its ``period``-bar high (252: 52-week)."""
    highest = rolling_highest(close, window=check_period(period, name="period", minimum=2))
    return _share(close >= highest, ~np.isnan(highest), close)


def pct_new_low(close: FloatArray, *, period: int) -> FloatArray:
    """Return the fraction of the universe closing at its ``period``-bar low (252: 52-week)."""
    lowest = rolling_lowest(close, window=check_period(period, name="period", minimum=2))
    return _share(close <= lowest, ~np.isnan(lowest), close)
