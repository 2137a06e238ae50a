"""Composer's rule regimes — trend, chop, volatile — over the (time × symbols) panel.

Every function takes float64 arrays of shape ``(time, symbols)`` and is causal: the label at
bar t uses bars up to and including t only.

Rules (thresholds are keyword parameters):

- **trend**: :func:`trend_strength` — the least-squares slope of log price over
  ``trend_window`` bars times the window length (the fitted drift over the window) divided by
  ``σ √window``, σ the standard deviation of the window's log returns — is above
  ``trend_threshold`` in absolute value. It is the drift in units of the noise a driftless
  walk would show over the same window (a ramp with no noise is infinitely strong);
- **chop**: the choppiness index over ``chop_window`` bars is above ``chop_threshold``
  (61.8, the usual level);
- **volatile**: realised volatility over ``vol_window`` bars is above its own
  ``vol_quantile`` quantile over the last ``vol_rank_window`` bars (strictly, beyond a
  relative 1e-9 so that rounding in a flat volatility never counts) and the bar is not a
  trend ("high volatility, no direction").

Precedence when several hold: **trend > volatile > chop**. A trend is directional by
definition, so it excludes volatile; a volatility expansion with no direction overrides a
range-bound (chop) reading. A bar where no rule holds is ``NEUTRAL``; a bar where any input
is still in warm-up or missing is ``UNKNOWN`` (-1).

Examples
--------
>>> close = np.exp(np.linspace(0.0, 0.5, 300))[:, None]
>>> int(rule_regimes(close)[-1, 0]) == TREND
True
"""

from __future__ import annotations

import numpy as np

from harvester.config.models import RegimeConfig
from harvester.core.types import FloatArray, IntArray
from harvester.features._common import by_column_halves, rolling_std
from harvester.features._kernels import rolling_count_below_nb
from harvester.features._memo import shared
from harvester.features.technical import log_returns
from harvester.features.trend import choppiness, linreg_slope

__all__ = [
    "CHOP",
    "NEUTRAL",
    "RULE_REGIME_NAMES",
    "TREND",
    "UNKNOWN",
    "VOLATILE",
    "rule_regime_names",
    "rule_regimes",
    "trend_strength",
]

UNKNOWN = -1
NEUTRAL = 0
TREND = 1
CHOP = 2
VOLATILE = 3
# Indexed by label (0 to 3); UNKNOWN (-1) is named "unknown".
RULE_REGIME_NAMES: tuple[str, str, str, str] = ("neutral", "trend", "chop", "volatile")
_SYMBOL_BLOCK = 128


def _log_price(close: FloatArray) -> FloatArray:
    out = np.full(close.shape, np.nan)
    np.log(close, out=out, where=close > 0)
    return out


def trend_strength(close: FloatArray, *, window: int = 20) -> FloatArray:
    """Return the signed drift of log price over ``window`` bars in units of its noise.

    ``slope × window / (σ √window)`` with ``slope`` the least-squares slope of log price per
    bar and σ the standard deviation (ddof=1) of the window's log returns; ±inf for a
    noiseless ramp, 0 for a flat window, NaN during the first ``window`` bars.
    """
    log_price = _log_price(np.asarray(close, dtype=np.float64))
    slope = linreg_slope(log_price, period=window)
    returns = log_returns(np.exp(log_price))
    noise = rolling_std(returns, window=window - 1, ddof=1) * np.sqrt(window)
    drift = slope * window
    out = np.full(drift.shape, np.nan)
    np.divide(drift, noise, out=out, where=noise > 0)
    flat = (noise == 0) & ~np.isnan(drift)
    out[flat] = np.select([drift[flat] > 0, drift[flat] < 0], [np.inf, -np.inf], 0.0)
    return out


def _volatile(close: FloatArray, window: int, rank_window: int, quantile: float) -> FloatArray:
    """1.0 where volatility is above its rolling quantile, 0.0 where not, NaN in warm-up.

    "Above the ``quantile`` quantile (linear interpolation) of its last ``rank_window``
    values" is exactly "more than ``quantile · (rank_window − 1)`` of them strictly below it",
    which needs a count, not the quantile; a flat volatility is never volatile.
    """
    vol = rolling_std(log_returns(close), window=window, ddof=1)
    below = by_column_halves(lambda part: rolling_count_below_nb(part, rank_window), vol)
    above = (below > quantile * (rank_window - 1)).astype(np.float64)
    return np.where(np.isnan(below), np.nan, above)


def rule_regimes(
    close: FloatArray,
    *,
    high: FloatArray | None = None,
    low: FloatArray | None = None,
    trend_window: int = 20,
    trend_threshold: float = 2.0,
    chop_window: int = 14,
    chop_threshold: float = 61.8,
    vol_window: int = 20,
    vol_rank_window: int = 252,
    vol_quantile: float = 0.8,
) -> IntArray:
    """Label every bar trend / chop / volatile / neutral by Composer's rules.

    Parameters
    ----------
    close
        (time, symbols) closes.
    high, low
        (time, symbols) highs and lows for the choppiness index; the close when omitted.
    trend_window, trend_threshold
        Window of :func:`trend_strength` and the absolute strength above which a bar trends
        (2.0: a drift of two noise units over the window).
    chop_window, chop_threshold
        Window of the choppiness index and the level above which a bar is choppy.
    vol_window, vol_rank_window, vol_quantile
        Realised-volatility window; the bar is volatile when that volatility is above its
        ``vol_quantile`` quantile (0.8) over the last ``vol_rank_window`` bars (252).

    Returns
    -------
    IntArray
        (time, symbols) int64 labels: ``TREND`` 1, ``CHOP`` 2, ``VOLATILE`` 3, ``NEUTRAL`` 0,
        ``UNKNOWN`` -1 while any rule's input is in warm-up or missing. Precedence
        trend > volatile > chop.
    """
    close = np.asarray(close, dtype=np.float64)
    high = close if high is None else np.asarray(high, dtype=np.float64)
    low = close if low is None else np.asarray(low, dtype=np.float64)
    return _panel_labels(
        close, high, low,
        trend_window=trend_window, trend_threshold=trend_threshold,
        chop_window=chop_window, chop_threshold=chop_threshold,
        vol_window=vol_window, vol_rank_window=vol_rank_window, vol_quantile=vol_quantile,
    )  # fmt: skip


@shared
def _panel_labels(
    close: FloatArray,
    high: FloatArray,
    low: FloatArray,
    *,
    trend_window: int,
    trend_threshold: float,
    chop_window: int,
    chop_threshold: float,
    vol_window: int,
    vol_rank_window: int,
    vol_quantile: float,
) -> IntArray:
    # Shared (features._memo): the composer's blend, the walk-forward's trade regimes and
    # every trial of an optimisation label the same panel with the same thresholds.
    labels = np.empty(close.shape, dtype=np.int64)
    # Every rule reads one symbol's own history, so blocks of symbols give the same labels
    # with a block's temporaries instead of the whole panel's (a dozen arrays of its size).
    for start in range(0, close.shape[1], _SYMBOL_BLOCK):
        block = slice(start, start + _SYMBOL_BLOCK)
        labels[:, block] = _labels(
            close[:, block], high[:, block], low[:, block],
            trend_window=trend_window, trend_threshold=trend_threshold,
            chop_window=chop_window, chop_threshold=chop_threshold,
            vol_window=vol_window, vol_rank_window=vol_rank_window, vol_quantile=vol_quantile,
        )  # fmt: skip
    return labels


def _labels(
    close: FloatArray,
    high: FloatArray,
    low: FloatArray,
    *,
    trend_window: int,
    trend_threshold: float,
    chop_window: int,
    chop_threshold: float,
    vol_window: int,
    vol_rank_window: int,
    vol_quantile: float,
) -> IntArray:
    close, high, low = (np.ascontiguousarray(a) for a in (close, high, low))
    strength = trend_strength(close, window=trend_window)
    chop = choppiness(high, low, close, period=chop_window)
    volatile = _volatile(close, vol_window, vol_rank_window, vol_quantile)
    is_trend = np.abs(strength) > trend_threshold
    labels = np.select(
        [is_trend, volatile == 1.0, chop > chop_threshold], [TREND, VOLATILE, CHOP], NEUTRAL
    ).astype(np.int64)
    unknown = np.isnan(strength) | np.isnan(chop) | np.isnan(volatile)
    labels[unknown] = UNKNOWN
    return labels


def rule_regimes_from_config(
    close: FloatArray,
    config: RegimeConfig,
    *,
    high: FloatArray | None = None,
    low: FloatArray | None = None,
) -> IntArray:
    """:func:`rule_regimes` with the thresholds of the ``regimes`` config section."""
    thresholds = config.model_dump(exclude={"market_filter_period"})
    return rule_regimes(close, high=high, low=low, **thresholds)


def rule_regime_names(labels: IntArray) -> np.ndarray[tuple[int, ...], np.dtype[np.str_]]:
    """Return the name of every label ("trend", "chop", "volatile", "neutral", "unknown")."""
    names = np.array([*RULE_REGIME_NAMES, "unknown"])
    return names[np.where(labels == UNKNOWN, len(RULE_REGIME_NAMES), labels)]
