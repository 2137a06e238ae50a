"""Rolling sum, mean and variance over the (time × symbols) panel, equal to pandas' bit for bit.

``pd.DataFrame(values).rolling(window, min_periods=window).sum() / .mean() / .var(ddof)``
runs pandas' online algorithms (Kahan-compensated sums, Welford's update of the mean and the
sum of squared deviations, a run counter that makes a flat window exact) one column at a
time. These kernels run the same arithmetic in the same order for every symbol, with the
time loop outside and the symbols inside, so a (time × symbols) panel takes one pass and no
per-column Python. Their reference twin is pandas itself: the property tests require
identical bits.

Infinite values count as missing, as in pandas. A window is NaN while it holds fewer than
``window`` valid values.
"""

from __future__ import annotations

import numpy as np

from harvester.core.jit import njit
from harvester.core.types import FloatArray

__all__ = ["rolling_sum_pd_nb", "rolling_var_pd_nb"]


@njit
def _finite_or_nan(value: float) -> float:
    return value if np.isfinite(value) else np.nan


@njit
def _run_length(value: float, run: int, previous: float) -> tuple[int, float]:
    # Pandas counts how many valid values in a row equal the last one (NaN leaves it as is).
    if np.isnan(value):
        return run, previous
    return (run + 1 if value == previous else 1), value


@njit
def _kahan_add(total: float, compensation: float, value: float) -> tuple[float, float]:
    y = value - compensation
    t = total + y
    return t, t - total - y


@njit
def _mean(total: float, nobs: int, negatives: int, run: int, previous: float) -> float:
    # Pandas' calc_mean: exact on a flat window, never of the wrong sign.
    if run >= nobs:
        return previous
    result = total / nobs
    if (negatives == 0 and result < 0) or (negatives == nobs and result > 0):
        return 0.0
    return result


@njit
def rolling_sum_pd_nb(values: FloatArray, window: int, mean: bool) -> FloatArray:
    """Rolling sum (or mean when ``mean``) of the last ``window`` values, as pandas'."""
    n_times, n_symbols = values.shape
    out = np.full((n_times, n_symbols), np.nan)
    nobs = np.zeros(n_symbols, dtype=np.int64)
    negatives = np.zeros(n_symbols, dtype=np.int64)
    total = np.zeros(n_symbols)
    added = np.zeros(n_symbols)
    removed = np.zeros(n_symbols)
    run = np.zeros(n_symbols, dtype=np.int64)
    previous = np.empty(n_symbols)
    for s in range(n_symbols):
        previous[s] = _finite_or_nan(values[0, s])
    for t in range(n_times):
        for s in range(n_symbols):
            if t >= window:
                old = _finite_or_nan(values[t - window, s])
                if not np.isnan(old):
                    nobs[s] -= 1
                    total[s], removed[s] = _kahan_add(total[s], removed[s], -old)
                    negatives[s] -= 1 if old < 0 else 0
            value = _finite_or_nan(values[t, s])
            if not np.isnan(value):
                nobs[s] += 1
                total[s], added[s] = _kahan_add(total[s], added[s], value)
                negatives[s] += 1 if value < 0 else 0
            run[s], previous[s] = _run_length(value, run[s], previous[s])
            if nobs[s] < window:
                continue
            if mean:
                out[t, s] = _mean(total[s], nobs[s], negatives[s], run[s], previous[s])
            else:
                out[t, s] = previous[s] * nobs[s] if run[s] >= nobs[s] else total[s]
    return out


INV_COND_TOL = float(np.finfo(np.float64).eps) * 1e3  # pandas' InvCondTol


@njit
def _welford(
    value: float, nobs: float, mean: float, squares: float, compensation: float, sign: float
) -> tuple[float, float, float, bool]:
    # Adds (sign = 1) or removes (sign = -1) one valid value, as pandas' add_var/remove_var;
    # ``nobs`` is already updated. The flag says the sum of squares lost too many digits.
    before_squares = squares
    before = mean - compensation
    y = value - compensation
    delta = y - mean
    compensation = delta + mean - y
    mean += sign * delta / nobs
    squares += sign * (value - before) * (value - mean)
    return mean, squares, compensation, before_squares * INV_COND_TOL > squares


@njit
def _window_welford(
    values: FloatArray, t: int, s: int, window: int
) -> tuple[float, float, float, float]:
    # Pandas' recomputation from scratch over the window ending at bar t.
    nobs, mean, squares, added = 0.0, 0.0, 0.0, 0.0
    for j in range(max(t - window + 1, 0), t + 1):
        value = _finite_or_nan(values[j, s])
        if not np.isnan(value):
            nobs += 1.0
            mean, squares, added, _ = _welford(value, nobs, mean, squares, added, 1.0)
    return nobs, mean, squares, added


@njit
def rolling_var_pd_nb(values: FloatArray, window: int, ddof: int) -> FloatArray:
    """Rolling variance (``ddof`` degrees of freedom) of the last ``window`` values, as
    pandas' ``roll_var``: Welford's online update, recomputed over the whole window when an
    update loses too many digits.
    """
    n_times, n_symbols = values.shape
    out = np.full((n_times, n_symbols), np.nan)
    nobs, mean, squares = np.zeros(n_symbols), np.zeros(n_symbols), np.zeros(n_symbols)
    added, removed = np.zeros(n_symbols), np.zeros(n_symbols)
    for t in range(n_times):
        for s in range(n_symbols):
            unstable = t == 0
            old = _finite_or_nan(values[t - window, s]) if t >= window else np.nan
            if not np.isnan(old):
                nobs[s] -= 1.0
                if nobs[s] > 0.0:
                    mean[s], squares[s], removed[s], flag = _welford(
                        old, nobs[s], mean[s], squares[s], removed[s], -1.0
                    )
                    unstable = unstable or flag
                else:
                    mean[s], squares[s] = 0.0, 0.0
            value = _finite_or_nan(values[t, s])
            if not np.isnan(value):
                nobs[s] += 1.0
                mean[s], squares[s], added[s], flag = _welford(
                    value, nobs[s], mean[s], squares[s], added[s], 1.0
                )
                unstable = unstable or flag
            if unstable:
                nobs[s], mean[s], squares[s], added[s] = _window_welford(values, t, s, window)
                removed[s] = 0.0
            if nobs[s] >= window and nobs[s] > ddof:
                out[t, s] = squares[s] / (nobs[s] - ddof)
    return out
