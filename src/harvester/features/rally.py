"""The Rally detector's base features, named after its columns, over the whole panel.

The Rally spec's parameter table gives the defaults: ``atr_period`` 20, ``bb_period`` 20,
``rv_period`` 20, ``percentile_window`` 252, ``range_period`` 40, ``trap_range_period`` 20,
``trap_lookforward`` 5, ``rv_trap_percentile`` 0.70. Percentiles are
:func:`~harvester.features.technical.percentile_rank`: the share of the previous
``percentile_window − 1`` values at or below the current one, as the spec computes them.

- compression: ``p_atr``, ``p_bb``, ``p_rv`` (percentiles of ATR / close, Bollinger width
  and realised vol) and ``comp_score = 1 − mean(p_atr, p_bb, p_rv)`` (1 = most compressed);
- range: ``range_width`` ((max high − min low) / close over ``range_period``) and
  ``range_tightness`` (range width over ATR / close);
- ``trap``: the failed breakdown, 1 on the bar that confirms it (see :func:`trap`);
- trend: ``trend`` (close above its ``ma_long`` SMA), ``golden_cross`` (SMA 50 above SMA
  200), ``price_vs_ma`` (close / SMA − 1);
- volume: ``p_vol`` (percentile of volume / its 20-bar mean);
- momentum: ``macd_hist_norm`` (MACD histogram / close);
- VIX: ``vix_level``, ``vix_change`` (``period``-bar relative change), ``vix_pctile``.

The spec's ATR is the simple mean of true ranges (not Wilder's), kept here. Its trap score
looks up to five bars ahead of the breakdown bar (a look-ahead in its backtests); here the
flag fires on the recovery bar and uses only bars up to it.
"""

from __future__ import annotations

import numpy as np

from harvester.core.types import FloatArray
from harvester.features._common import (
    check_period,
    previous_bar,
    rolling_highest,
    rolling_lowest,
    safe_divide,
    where_traded,
)
from harvester.features._kernels import trap_confirmation_nb
from harvester.features._memo import shared
from harvester.features.technical import bollinger_width, percentile_rank, sma
from harvester.features.trend import macd_histogram, volume_ratio
from harvester.features.volatility import average_daily_volume, realized_volatility, true_range

__all__ = [
    "comp_score", "golden_cross", "macd_hist_norm", "p_atr", "p_bb", "p_rv", "p_vol",
    "price_vs_ma", "range_tightness", "range_width", "trap", "trend", "vix_change",
    "vix_level", "vix_pctile",
]  # fmt: skip


@shared
def _atr_pct(high: FloatArray, low: FloatArray, close: FloatArray, *, period: int) -> FloatArray:
    mean_range = average_daily_volume(true_range(high, low, close), period=period)
    return safe_divide(mean_range, close, fill=np.nan)


@shared
def p_atr(
    high: FloatArray, low: FloatArray, close: FloatArray, *, atr_period: int, percentile_window: int
) -> FloatArray:
    """Return the percentile of ATR / close (simple-mean ATR over ``atr_period``)."""
    atr_pct = _atr_pct(high, low, close, period=check_period(atr_period, name="atr_period"))
    return percentile_rank(atr_pct, window=percentile_window)


@shared
def p_bb(close: FloatArray, *, bb_period: int, percentile_window: int) -> FloatArray:
    """Return the percentile of the 2-σ Bollinger band width over ``bb_period``."""
    width = bollinger_width(close, period=bb_period, num_std=2.0)
    return percentile_rank(width, window=percentile_window)


@shared
def p_rv(close: FloatArray, *, rv_period: int, percentile_window: int) -> FloatArray:
    """Return the percentile of realised volatility over ``rv_period``."""
    volatility = realized_volatility(close, period=rv_period, periods_per_year=1)
    return percentile_rank(volatility, window=percentile_window)


def comp_score(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    *,
    atr_period: int,
    bb_period: int,
    rv_period: int,
    percentile_window: int,
) -> FloatArray:
    """Return ``1 − mean(p_atr, p_bb, p_rv)``: 1 when all three are at their lowest."""
    window = {"percentile_window": percentile_window}
    total = p_atr(high, low, close, atr_period=atr_period, **window)
    total = total + p_bb(close, bb_period=bb_period, **window)
    return 1.0 - (total + p_rv(close, rv_period=rv_period, **window)) / 3.0


@shared
def range_width(
    high: FloatArray, low: FloatArray, close: FloatArray, *, range_period: int
) -> FloatArray:
    """Return ``(max high − min low) / close`` over the last ``range_period`` bars."""
    window = check_period(range_period, name="range_period")
    highest, lowest = rolling_highest(high, window=window), rolling_lowest(low, window=window)
    return safe_divide(highest - lowest, close, fill=np.nan)


def range_tightness(
    high: FloatArray, low: FloatArray, close: FloatArray, *, range_period: int, atr_period: int
) -> FloatArray:
    """Return the range width in units of ATR / close (small = tight range; 0 if flat)."""
    width = range_width(high, low, close, range_period=range_period)
    atr_pct = _atr_pct(high, low, close, period=check_period(atr_period, name="atr_period"))
    return safe_divide(width, atr_pct, fill=0.0)


def _shift(values: FloatArray, bars: int) -> FloatArray:
    out = np.full(values.shape, np.nan)
    out[bars:] = values[: max(values.shape[0] - bars, 0)]
    return out


def trap(
    low: FloatArray,
    close: FloatArray,
    *,
    trap_range_period: int,
    trap_lookforward: int,
    rv_period: int,
    percentile_window: int,
    rv_trap_percentile: float,
) -> FloatArray:
    """Return 1 on the bar that confirms a failed breakdown (a bear trap), else 0.

    A breakdown at bar b: ``low[b]`` below the lowest low of the ``trap_range_period`` bars
    before b, while the realised-vol percentile at b is at most ``rv_trap_percentile``. It
    fails when a close within ``trap_lookforward`` bars after b is back above that low; the
    flag fires on the first such close only. NaN while the vol percentile is unknown.
    """
    lookforward = check_period(trap_lookforward, name="trap_lookforward")
    window = check_period(trap_range_period, name="trap_range_period")
    floor = previous_bar(rolling_lowest(low, window=window))
    calm = p_rv(close, rv_period=rv_period, percentile_window=percentile_window)
    broke = np.where((low < floor) & (calm <= rv_trap_percentile), 1.0, 0.0)
    fired = trap_confirmation_nb(floor, broke, np.ascontiguousarray(close, np.float64), lookforward)
    return np.where(np.isnan(calm) | np.isnan(close), np.nan, fired)


def _above(left: FloatArray, right: FloatArray) -> FloatArray:
    return np.where(np.isnan(left) | np.isnan(right), np.nan, (left > right).astype(np.float64))


def trend(close: FloatArray, *, ma_long: int) -> FloatArray:
    """Return 1 where the close is above its ``ma_long``-bar SMA, else 0."""
    return _above(close, sma(close, period=ma_long))


def golden_cross(close: FloatArray, *, fast: int, slow: int) -> FloatArray:
    """Return 1 where the ``fast``-bar SMA is above the ``slow``-bar SMA, else 0."""
    return _above(sma(close, period=fast), sma(close, period=slow))


def price_vs_ma(close: FloatArray, *, period: int) -> FloatArray:
    """Return ``close / SMA(period) − 1``."""
    return safe_divide(close, sma(close, period=period), fill=np.nan) - 1.0


def p_vol(volume: FloatArray, *, volume_period: int, percentile_window: int) -> FloatArray:
    """Return the percentile of volume over its ``volume_period``-bar mean."""
    ratio = volume_ratio(volume, period=volume_period)
    return percentile_rank(ratio, window=percentile_window)


def macd_hist_norm(close: FloatArray, *, fast: int, slow: int, signal: int) -> FloatArray:
    """Return the MACD histogram over the close (comparable across price levels)."""
    histogram = macd_histogram(close, fast=fast, slow=slow, signal=signal)
    return safe_divide(histogram, close, fill=np.nan)


def vix_level(close: FloatArray, vix: FloatArray) -> FloatArray:
    """Return the VIX close, broadcast to every symbol with a bar."""
    return where_traded(vix, close)


def vix_change(close: FloatArray, vix: FloatArray, *, period: int) -> FloatArray:
    """Return the VIX's relative change over ``period`` bars, broadcast to every symbol."""
    before = _shift(vix[:, None], check_period(period, name="period"))[:, 0]
    return where_traded(safe_divide(vix, before, fill=np.nan) - 1.0, close)


def vix_pctile(close: FloatArray, vix: FloatArray, *, percentile_window: int) -> FloatArray:
    """Return the VIX's percentile over ``percentile_window`` bars, broadcast to every symbol."""
    rank = percentile_rank(vix[:, None], window=percentile_window)[:, 0]
    return where_traded(rank, close)
