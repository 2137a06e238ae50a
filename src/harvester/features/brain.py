"""The Python brain's technical and microstructure scores, over the whole panel at once.

- **RSI score** (``rsi_score``): ``(50 − RSI) / 50``, in [−1, 1]. The brain reads RSI as a
  mean-reversion input: oversold (RSI 0) scores +1 (buy), overbought (RSI 100) −1, neutral
  (RSI 50, and a flat price) 0.
- **MACD score** (``macd_score``): ``tanh(histogram / ATR)``, in (−1, 1): the MACD histogram
  (line − signal) in units of Wilder's ATR, so it compares across prices and volatility;
  positive is bullish momentum. 0 when the ATR is 0 (a flat price).
- **Z-score signal** (``zscore_signal``): +1 when the ``period``-bar z-score of the close is
  at or below ``−entry`` (statistically oversold: mean-reversion buy, the brain's
  ``ZSCORE_MEAN_REVERSION_BUY`` of −2), −1 at or above ``+entry``, else 0.
- **ATR stop distance** (``atr_stop_distance``): ``multiple · ATR / close``, the distance to
  a volatility-adjusted stop as a fraction of price (``ATR_PERIOD``, ``ATR_STOP_MULTIPLE``).
- **VWAP extension** (``vwap_extension``): ``close / rolling VWAP − 1``, the fraction the
  close sits above (positive) or below its ``period``-bar VWAP; the brain waits for mean
  reversion while it exceeds ``VWAP_MEAN_REVERSION_PCT``.

All are causal: the value at bar t uses bars up to t.
"""

from __future__ import annotations

import numpy as np

from harvester.core.types import FloatArray
from harvester.features._common import safe_divide
from harvester.features.technical import rsi, wilder_atr, zscore
from harvester.features.trend import macd_histogram
from harvester.features.vwap import rolling_vwap

__all__ = ["atr_stop_distance", "macd_score", "rsi_score", "vwap_extension", "zscore_signal"]


def rsi_score(close: FloatArray, *, period: int) -> FloatArray:
    """Return ``(50 − RSI) / 50``: +1 fully oversold, −1 fully overbought."""
    return (50.0 - rsi(close, period=period)) / 50.0


def macd_score(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    *,
    fast: int,
    slow: int,
    signal: int,
    atr_period: int,
) -> FloatArray:
    """Return ``tanh(MACD histogram / ATR(atr_period))`` (0 where the ATR is 0)."""
    histogram = macd_histogram(close, fast=fast, slow=slow, signal=signal)
    atr = wilder_atr(high, low, close, period=atr_period)
    return np.tanh(safe_divide(histogram, atr, fill=0.0))


def zscore_signal(close: FloatArray, *, period: int, entry: float) -> FloatArray:
    """Return +1 where the z-score is ≤ −``entry``, −1 where it is ≥ ``entry``, else 0."""
    score = zscore(close, period=period)
    signal = (score <= -entry).astype(np.float64) - (score >= entry)
    return np.where(np.isnan(score), np.nan, signal)


def atr_stop_distance(
    high: FloatArray, low: FloatArray, close: FloatArray, *, period: int, multiple: float
) -> FloatArray:
    """Return ``multiple · ATR / close``, a stop's distance as a fraction of the price."""
    atr = wilder_atr(high, low, close, period=period)
    return safe_divide(multiple * atr, close, fill=np.nan)


def vwap_extension(
    high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray, *, period: int
) -> FloatArray:
    """Return ``close / VWAP − 1`` against the ``period``-bar rolling VWAP."""
    vwap = rolling_vwap(high, low, close, volume, period=period)
    return safe_divide(close, vwap, fill=np.nan) - 1.0
