"""The Harvester II signals: CRI, Panic Score and G-Score, over the whole panel at once.

- **CRI** (Crowd-Reactivity Index): the rolling correlation over ``window`` bars between the
  absolute daily return and the change in abnormal attention (see
  :func:`harvester.features.attention.abnormal_attention`: attention over its ``window``-bar
  mean, abnormal volume where the panel has no attention). Harvester II trades assets with
  CRI ≥ 0.4. The spec gives no window; we use 20 sessions (one trading month), long enough
  for a correlation to mean something and short enough to follow a news cycle.
- **Panic Score**: ``volatility_weight · z(realised vol) + volume_weight · z(volume) +
  trends_weight · z(abnormal attention)``, each a rolling z-score over ``period`` bars;
  the spec's weights are 1.0 / 1.0 / 0.8 and its entry threshold 3.0.
- **G-Score**: one point each for VIX > 25, a benchmark (SPY) ``horizon``-bar return below
  −5 % and an oil ``horizon``-bar return above +10 %; 0–3, market-wide, broadcast to every
  symbol that has a bar. Harvester II halves position size at G-Score ≥ 2. "7-day" is read
  as 7 sessions.

All are causal: the value at bar t uses bars up to t. A flat window (no variance) gives a
CRI and z-scores of 0, never a division warning.
"""

from __future__ import annotations

import numpy as np

from harvester.core.types import FloatArray
from harvester.features._common import check_period, previous_bar, where_traded
from harvester.features._kernels import rolling_correlation_nb
from harvester.features.attention import abnormal, abnormal_attention
from harvester.features.technical import returns, zscore
from harvester.features.volatility import realized_volatility

__all__ = ["cri", "g_score", "panic_score", "rolling_correlation"]


def rolling_correlation(x: FloatArray, y: FloatArray, *, window: int) -> FloatArray:
    """Return the Pearson correlation of ``x`` and ``y`` over the last ``window`` bars.

    NaN while either has a missing value in the window; 0 when either is flat there.
    """
    size = check_period(window, name="window", minimum=2)
    first, second = np.ascontiguousarray(x, np.float64), np.ascontiguousarray(y, np.float64)
    return rolling_correlation_nb(first, second, size)


def _crowd(attention: FloatArray, volume: FloatArray, period: int) -> FloatArray:
    # Abnormal attention; a panel without any attention skips the all-NaN half of the work
    # (abnormal_attention would fall back to abnormal volume at every bar anyway).
    if np.isnan(attention).all():
        return abnormal(volume, period=period)
    return abnormal_attention(attention, volume, period=period)


def cri(close: FloatArray, volume: FloatArray, attention: FloatArray, *, window: int) -> FloatArray:
    """Return the Crowd-Reactivity Index: corr(|return|, Δ abnormal attention) over ``window``.

    Parameters
    ----------
    close, volume
        (time × symbols) prices and volumes.
    attention
        (time × symbols) attention, NaN where unknown (abnormal volume is used there).
    window
        Bars of the correlation, and of the mean attention is divided by.

    Returns
    -------
    numpy.ndarray
        Values in [−1, 1]; the first at bar ``2 * window − 1``.
    """
    size = check_period(window, name="window", minimum=2)
    crowd = _crowd(attention, volume, size)
    return rolling_correlation(np.abs(returns(close)), crowd - previous_bar(crowd), window=size)


def panic_score(
    close: FloatArray,
    volume: FloatArray,
    attention: FloatArray,
    *,
    period: int,
    vol_period: int,
    volatility_weight: float,
    volume_weight: float,
    trends_weight: float,
) -> FloatArray:
    """Return the weighted sum of rolling z-scores of volatility, volume and attention.

    Parameters
    ----------
    close, volume
        (time × symbols) prices and volumes.
    attention
        (time × symbols) attention, NaN where unknown (abnormal volume is used there).
    period
        Bars of each z-score, and of the mean attention is divided by.
    vol_period
        Bars of the realised volatility.
    volatility_weight, volume_weight, trends_weight
        Weights of the three z-scores (Harvester II: 1.0, 1.0, 0.8).
    """
    size = check_period(period, name="period", minimum=2)
    volatility = realized_volatility(close, period=vol_period, periods_per_year=252)
    crowd = _crowd(attention, volume, size)
    return (
        volatility_weight * zscore(volatility, period=size)
        + volume_weight * zscore(volume, period=size)
        + trends_weight * zscore(crowd, period=size)
    )


def _change(series: FloatArray, horizon: int) -> FloatArray:
    out = np.full(series.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[horizon:] = series[horizon:] / series[:-horizon] - 1.0
    return out


def g_score(
    close: FloatArray,
    vix: FloatArray,
    benchmark: FloatArray,
    oil: FloatArray,
    *,
    horizon: int,
    vix_threshold: float,
    benchmark_drop: float,
    oil_rise: float,
) -> FloatArray:
    """Return the G-Score, 0–3 macro-risk points, broadcast to every symbol with a bar.

    Parameters
    ----------
    close
        (time × symbols) prices; only their missing bars are used (NaN there).
    vix, benchmark, oil
        1-D market-wide series on the panel's index.
    horizon
        Bars of the benchmark and oil returns.
    vix_threshold, benchmark_drop, oil_rise
        A point for ``vix > vix_threshold``, ``benchmark return < −benchmark_drop`` and
        ``oil return > oil_rise``.

    Returns
    -------
    numpy.ndarray
        NaN where a symbol has no bar or any of the three inputs is unknown.
    """
    bars = check_period(horizon, name="horizon")
    drop, rise = _change(benchmark, bars), _change(oil, bars)
    points = (vix > vix_threshold).astype(np.float64)
    points += (drop < -benchmark_drop).astype(np.float64) + (rise > oil_rise)
    points[np.isnan(vix) | np.isnan(drop) | np.isnan(rise)] = np.nan
    return where_traded(points, close)
