"""The Rally label RALLY_ST and the auto-calibration of its thresholds.

RALLY_ST at bar t is 1 when, within the next ``horizon`` bars (t+1..t+horizon), the high
reaches ``close[t] + r_up · ATR[t]`` before the low reaches ``close[t] − d_dn · ATR[t]``;
0 when the low barrier comes first (or both on the same bar: the conservative reading, a
daily bar does not tell which came first) or neither is reached. It looks forward: it is
NaN on the last ``horizon`` bars (incomplete window) and is only ever a training target,
never a feature. ATR is the spec's simple mean of true ranges over ``atr_period`` bars.

Auto-calibration (per asset, from its history before a fold's test window): with σ the
standard deviation of daily log returns and a the median ATR / close over the training
rows, ``q = σ · √horizon / a`` is the typical ``horizon``-bar move in ATR units;
``r_up = clip(UP_FACTOR · q, 1, 3)`` and ``d_dn = clip(DOWN_FACTOR · q, 0.5, 1.5)``.
"""

from __future__ import annotations

import numpy as np

from harvester.core.types import FloatArray
from harvester.features.volatility import average_daily_volume, true_range

__all__ = [
    "DOWN_BOUNDS",
    "DOWN_FACTOR",
    "UP_BOUNDS",
    "UP_FACTOR",
    "calibrate_thresholds",
    "rally_label",
    "simple_atr",
]

UP_FACTOR = 0.75
DOWN_FACTOR = 0.5
UP_BOUNDS = (1.0, 3.0)
DOWN_BOUNDS = (0.5, 1.5)


def simple_atr(high: FloatArray, low: FloatArray, close: FloatArray, *, period: int) -> FloatArray:
    """Return the simple mean of true ranges over ``period`` bars (the spec's ATR)."""
    return average_daily_volume(true_range(high, low, close), period=period)


def _ahead(values: FloatArray, bars: int) -> FloatArray:
    """Row t holds ``values[t + bars]`` (NaN past the end)."""
    out = np.full(values.shape, np.nan)
    if bars < values.shape[0]:
        out[: values.shape[0] - bars] = values[bars:]
    return out


def rally_label(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    atr: FloatArray,
    *,
    horizon: int,
    r_up: FloatArray | float,
    d_dn: FloatArray | float,
) -> FloatArray:
    """Return RALLY_ST (1.0 / 0.0, NaN where undefined), shape (time × symbols).

    ``r_up`` and ``d_dn`` broadcast against the panel: a scalar, one value per symbol, or a
    (time × symbols) array (per-row thresholds, e.g. per walk-forward fold).
    """
    with np.errstate(invalid="ignore"):
        upper = close + np.asarray(r_up) * atr
        lower = close - np.asarray(d_dn) * atr
        decided = np.zeros(close.shape, dtype=np.bool_)
        result = np.zeros(close.shape)
        for k in range(1, horizon + 1):
            hit_up = _ahead(high, k) >= upper
            hit_down = _ahead(low, k) <= lower
            result[~decided & hit_up & ~hit_down] = 1.0
            decided |= hit_up | hit_down
    complete = np.zeros(close.shape, dtype=np.bool_)
    complete[: max(close.shape[0] - horizon, 0)] = True
    valid = complete & np.isfinite(upper) & np.isfinite(lower)
    label: FloatArray = np.where(valid, result, np.nan)
    return label


def calibrate_thresholds(
    close: FloatArray, atr: FloatArray, *, horizon: int
) -> tuple[FloatArray, FloatArray]:
    """Return per-symbol ``(r_up, d_dn)`` from the rows given (a training window).

    Symbols without enough data get the midpoint of the bounds' defaults (2.0, 1.0).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        log_close = np.log(close)
        returns = log_close[1:] - log_close[:-1]
        atr_pct = atr / close
    n_returns = np.sum(np.isfinite(returns), axis=0)
    n_atr = np.sum(np.isfinite(atr_pct), axis=0)
    enough = (n_returns >= 20) & (n_atr >= 20)
    sigma = np.full(close.shape[1], np.nan)
    median_atr = np.full(close.shape[1], np.nan)
    if enough.any():
        sigma[enough] = np.nanstd(returns[:, enough], axis=0, ddof=1)
        median_atr[enough] = np.nanmedian(atr_pct[:, enough], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = sigma * np.sqrt(horizon) / median_atr
    good = np.isfinite(q) & (q > 0)
    r_up = np.where(good, np.clip(UP_FACTOR * q, *UP_BOUNDS), 2.0)
    d_dn = np.where(good, np.clip(DOWN_FACTOR * q, *DOWN_BOUNDS), 1.0)
    return r_up.astype(np.float64), d_dn.astype(np.float64)
