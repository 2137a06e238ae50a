"""Numba kernels of the recursive and rolling indicators (EMA, Wilder, percentile rank).

Arrays in, arrays out: every kernel takes a (time × symbols) float64 array. The recursive
kernels loop over time with the symbols inside, keeping one state per symbol; a NaN input is
a missing bar: the output there is NaN and the state carries over to the symbol's next valid
bar. The rolling kernels follow the windowed-statistic convention instead: NaN while a
missing value is inside the window. The readable definitions are the twins in
:mod:`harvester.features._reference`.
"""

from __future__ import annotations

import numpy as np

from harvester.core.jit import njit
from harvester.core.types import FloatArray, IntArray

__all__ = [
    "directional_movement_nb",
    "ewm_nb",
    "lagged_sum_nb",
    "rolling_correlation_nb",
    "rolling_count_below_nb",
    "rolling_max_nb",
    "rolling_mean_nb",
    "rolling_rank_nb",
    "rolling_std_nb",
    "rolling_zscore_nb",
    "safe_divide_nb",
    "trap_confirmation_nb",
    "where_traded_nb",
    "wilder_sum_nb",
]


@njit
def ewm_nb(values: FloatArray, alpha: float, seed_count: int, skip: int) -> FloatArray:
    """Exponential average seeded with the mean of a symbol's first ``seed_count`` values.

    The first ``skip`` valid values of each symbol are ignored; the recursion is
    ``state += alpha * (value - state)``.
    """
    n_times, n_symbols = values.shape
    out = np.full((n_times, n_symbols), np.nan)
    state = np.zeros(n_symbols)
    seen = np.zeros(n_symbols, dtype=np.int64)
    for t in range(n_times):
        for s in range(n_symbols):
            value = values[t, s]
            if np.isnan(value):
                continue
            seen[s] += 1
            k = seen[s] - skip
            if k <= 0:
                continue
            if k < seed_count:
                state[s] += value
                continue
            if k == seed_count:
                state[s] = (state[s] + value) / seed_count
            else:
                state[s] += alpha * (value - state[s])
            out[t, s] = state[s]
    return out


@njit
def safe_divide_nb(numerator: FloatArray, denominator: FloatArray, fill: float) -> FloatArray:
    """``numerator / denominator`` of two (time × symbols) arrays in one pass: ``fill`` where
    the denominator is 0 and the numerator is known, NaN where either is NaN.
    """
    n_times, n_symbols = numerator.shape
    out = np.empty((n_times, n_symbols))
    for t in range(n_times):
        for s in range(n_symbols):
            top, bottom = numerator[t, s], denominator[t, s]
            if bottom != 0.0:
                out[t, s] = top / bottom
            else:
                out[t, s] = np.nan if np.isnan(top) else fill
    return out


@njit
def where_traded_nb(series: FloatArray, close: FloatArray) -> FloatArray:
    """A market-wide ``series`` (time,) repeated for every symbol, NaN where it has no close."""
    n_times, n_symbols = close.shape
    out = np.empty((n_times, n_symbols))
    for t in range(n_times):
        for s in range(n_symbols):
            out[t, s] = np.nan if np.isnan(close[t, s]) else series[t]
    return out


@njit
def wilder_sum_nb(values: FloatArray, period: int) -> FloatArray:
    """Wilder's running sum: the sum of the first ``period - 1`` values, then
    ``state - state / period + value``.
    """
    n_times, n_symbols = values.shape
    out = np.full((n_times, n_symbols), np.nan)
    state = np.zeros(n_symbols)
    seen = np.zeros(n_symbols, dtype=np.int64)
    for t in range(n_times):
        for s in range(n_symbols):
            value = values[t, s]
            if np.isnan(value):
                continue
            seen[s] += 1
            if seen[s] < period:
                state[s] += value
                if seen[s] == period - 1:
                    out[t, s] = state[s]
                continue
            state[s] = state[s] - state[s] / period + value
            out[t, s] = state[s]
    return out


@njit
def _count_missing_nb(values: FloatArray, t: int, window: int, missing: IntArray) -> None:
    for s in range(values.shape[1]):
        if not np.isfinite(values[t, s]):
            missing[s] += 1
        if t >= window and not np.isfinite(values[t - window, s]):
            missing[s] -= 1


@njit
def _rolling_count_nb(values: FloatArray, window: int, strict: bool) -> FloatArray:
    # How many of the last ``window`` values are below (strict) or at or below the current
    # one; NaN while the window is incomplete or holds a missing (NaN or infinite) value.
    # O(window) per value, but along contiguous rows, which the compiler vectorises.
    n_times, n_symbols = values.shape
    out = np.full((n_times, n_symbols), np.nan)
    missing = np.zeros(n_symbols, dtype=np.int64)
    below = np.zeros(n_symbols)
    for t in range(n_times):
        _count_missing_nb(values, t, window, missing)
        if t < window - 1:
            continue
        current = values[t]
        below[:] = 0.0
        for j in range(t - window + 1, t + 1):
            row = values[j]
            for s in range(n_symbols):
                hit = row[s] < current[s] if strict else row[s] <= current[s]
                below[s] += 1.0 if hit else 0.0
        for s in range(n_symbols):
            if missing[s] == 0:
                out[t, s] = below[s]
    return out


@njit
def rolling_rank_nb(values: FloatArray, window: int) -> FloatArray:
    """Percentile rank of each value among the last ``window`` values (``window`` ≥ 2).

    ``(count of window values at or below the current one − 1) / (window − 1)``: 0 for the
    window's lowest, 1 for its highest or a flat window; NaN while the window is incomplete
    or holds a missing value. Infinite values count as missing, as in pandas' rolling windows.
    """
    return (_rolling_count_nb(values, window, False) - 1.0) / (window - 1.0)


@njit
def rolling_count_below_nb(values: FloatArray, window: int) -> FloatArray:
    """How many of the last ``window`` values are strictly below the current one; NaN while
    the window is incomplete or holds a missing (NaN or infinite) value.

    With it, "the value is above the window's q-quantile (linear interpolation)" is exactly
    ``count > q · (window − 1)``, with no quantile to compute.
    """
    return _rolling_count_nb(values, window, True)


@njit
def _block_maxima_nb(values: FloatArray, window: int) -> tuple[FloatArray, FloatArray]:
    # Van Herk / Gil-Werman: running maxima from the start (prefix) and to the end (suffix)
    # of each block of ``window`` bars; missing values count as -inf here.
    n_times, n_symbols = values.shape
    prefix, suffix = np.empty((n_times, n_symbols)), np.empty((n_times, n_symbols))
    for t in range(n_times):
        restart = t % window == 0
        for s in range(n_symbols):
            v = values[t, s] if np.isfinite(values[t, s]) else -np.inf
            prefix[t, s] = v if restart or v > prefix[t - 1, s] else prefix[t - 1, s]
    for t in range(n_times - 1, -1, -1):
        restart = (t + 1) % window == 0 or t == n_times - 1
        for s in range(n_symbols):
            v = values[t, s] if np.isfinite(values[t, s]) else -np.inf
            suffix[t, s] = v if restart or v > suffix[t + 1, s] else suffix[t + 1, s]
    return prefix, suffix


@njit
def _scan_max_nb(values: FloatArray, window: int, missing: IntArray, out: FloatArray) -> None:
    # O(window) per value along contiguous rows: the fastest for short windows.
    best = np.empty(values.shape[1])
    for t in range(values.shape[0]):
        _count_missing_nb(values, t, window, missing)
        if t < window - 1:
            continue
        best[:] = values[t - window + 1]
        for j in range(t - window + 2, t + 1):
            row = values[j]
            for s in range(values.shape[1]):
                best[s] = row[s] if row[s] > best[s] else best[s]
        for s in range(values.shape[1]):
            if missing[s] == 0:
                out[t, s] = best[s]


@njit
def _block_max_nb(values: FloatArray, window: int, missing: IntArray, out: FloatArray) -> None:
    # O(1) per value (van Herk / Gil-Werman): a window ending at t spans at most two blocks
    # of ``window`` bars, so its maximum is that of the first block's suffix and the
    # second's prefix.
    prefix, suffix = _block_maxima_nb(values, window)
    for t in range(values.shape[0]):
        _count_missing_nb(values, t, window, missing)
        if t < window - 1:
            continue
        for s in range(values.shape[1]):
            if missing[s] == 0:
                first, last = suffix[t - window + 1, s], prefix[t, s]
                out[t, s] = first if first > last else last


@njit
def rolling_max_nb(values: FloatArray, window: int) -> FloatArray:
    """Largest of the last ``window`` values; NaN while the window is incomplete or holds a
    missing (NaN or infinite) value. A scan for short windows, blocks for long ones.
    """
    out = np.full(values.shape, np.nan)
    missing = np.zeros(values.shape[1], dtype=np.int64)
    if window <= 48:
        _scan_max_nb(values, window, missing, out)
    else:
        _block_max_nb(values, window, missing, out)
    return out


@njit
def _window_offsets_nb(values: FloatArray, t: int, window: int, total: FloatArray) -> None:
    # Sum of (value - current value) over the window: exactly 0 on a flat window.
    current = values[t]
    total[:] = 0.0
    for j in range(t - window + 1, t + 1):
        row = values[j]
        for s in range(values.shape[1]):
            total[s] += row[s] - current[s]


@njit
def rolling_mean_nb(values: FloatArray, window: int) -> FloatArray:
    """Mean of the last ``window`` values (the current one plus the mean offset from it, so
    a flat window gives the value exactly); NaN as in :func:`rolling_max_nb`.
    """
    n_times, n_symbols = values.shape
    out = np.full((n_times, n_symbols), np.nan)
    missing = np.zeros(n_symbols, dtype=np.int64)
    total = np.empty(n_symbols)
    for t in range(n_times):
        _count_missing_nb(values, t, window, missing)
        if t < window - 1:
            continue
        _window_offsets_nb(values, t, window, total)
        for s in range(n_symbols):
            if missing[s] == 0:
                out[t, s] = values[t, s] + total[s] / window
    return out


@njit
def rolling_std_nb(values: FloatArray, window: int) -> FloatArray:
    """Population standard deviation of the last ``window`` values (two passes over the
    window, exactly 0 on a flat one); NaN as in :func:`rolling_max_nb`.
    """
    n_times, n_symbols = values.shape
    out = np.full((n_times, n_symbols), np.nan)
    missing = np.zeros(n_symbols, dtype=np.int64)
    total = np.empty(n_symbols)
    squares = np.empty(n_symbols)
    for t in range(n_times):
        _count_missing_nb(values, t, window, missing)
        if t < window - 1:
            continue
        _window_offsets_nb(values, t, window, total)
        current = values[t]
        squares[:] = 0.0
        for j in range(t - window + 1, t + 1):
            row = values[j]
            for s in range(n_symbols):
                deviation = row[s] - current[s] - total[s] / window
                squares[s] += deviation * deviation
        for s in range(n_symbols):
            if missing[s] == 0:
                out[t, s] = np.sqrt(squares[s] / window)
    return out


@njit
def rolling_zscore_nb(values: FloatArray, window: int) -> FloatArray:
    """``(value − mean) / std`` over the last ``window`` values (population std); 0 on a flat
    window, NaN as in :func:`rolling_max_nb`.

    One pass per window over the offsets ``d = v − current``: the z-score is
    ``−mean(d) / sqrt(mean(d²) − mean(d)²)``. Measured from the current value, a flat window
    has every offset exactly 0 (so z = 0), and since no value of a window lies more than
    ``sqrt(window − 1)`` standard deviations from its mean, the subtraction loses at most
    a few digits. Offsets below about 1e-154 square to subnormals and lose precision.
    """
    n_times, n_symbols = values.shape
    out = np.full((n_times, n_symbols), np.nan)
    missing = np.zeros(n_symbols, dtype=np.int64)
    total = np.empty(n_symbols)
    squares = np.empty(n_symbols)
    for t in range(n_times):
        _count_missing_nb(values, t, window, missing)
        if t < window - 1:
            continue
        current = values[t]
        total[:] = 0.0
        squares[:] = 0.0
        for j in range(t - window + 1, t + 1):
            row = values[j]
            for s in range(n_symbols):
                offset = row[s] - current[s]
                total[s] += offset
                squares[s] += offset * offset
        for s in range(n_symbols):
            if missing[s] != 0:
                continue
            shift = total[s] / window
            variance = squares[s] / window - shift * shift
            out[t, s] = -shift / np.sqrt(variance) if variance > 0.0 else 0.0
    return out


@njit
def _count_missing_pairs_nb(
    x: FloatArray, y: FloatArray, t: int, window: int, missing: IntArray
) -> None:
    for s in range(x.shape[1]):
        if not (np.isfinite(x[t, s]) and np.isfinite(y[t, s])):
            missing[s] += 1
        if t >= window and not (np.isfinite(x[t - window, s]) and np.isfinite(y[t - window, s])):
            missing[s] -= 1


@njit
def _flat_nb(squares: float, mean: float, window: int) -> bool:
    variance = squares / window
    return variance <= 1e-12 * (variance + mean * mean)


@njit
def rolling_correlation_nb(x: FloatArray, y: FloatArray, window: int) -> FloatArray:
    """Pearson correlation of ``x`` and ``y`` over the last ``window`` bars (two passes over
    the window); 0 where either is flat (variance at most 1e-12 of its mean square), NaN while
    the window is incomplete or either holds a missing (NaN or infinite) value.
    """
    n_times, n_symbols = x.shape
    out = np.full((n_times, n_symbols), np.nan)
    missing = np.zeros(n_symbols, dtype=np.int64)
    mean_x, mean_y = np.empty(n_symbols), np.empty(n_symbols)
    sxx, syy, sxy = np.empty(n_symbols), np.empty(n_symbols), np.empty(n_symbols)
    for t in range(n_times):
        _count_missing_pairs_nb(x, y, t, window, missing)
        if t < window - 1:
            continue
        _window_offsets_nb(x, t, window, mean_x)
        _window_offsets_nb(y, t, window, mean_y)
        for s in range(n_symbols):
            mean_x[s] = x[t, s] + mean_x[s] / window
            mean_y[s] = y[t, s] + mean_y[s] / window
        sxx[:], syy[:], sxy[:] = 0.0, 0.0, 0.0
        for j in range(t - window + 1, t + 1):
            for s in range(n_symbols):
                dx, dy = x[j, s] - mean_x[s], y[j, s] - mean_y[s]
                sxx[s] += dx * dx
                syy[s] += dy * dy
                sxy[s] += dx * dy
        for s in range(n_symbols):
            if missing[s] != 0:
                continue
            if _flat_nb(sxx[s], mean_x[s], window) or _flat_nb(syy[s], mean_y[s], window):
                out[t, s] = 0.0
            else:
                out[t, s] = min(1.0, max(-1.0, sxy[s] / np.sqrt(sxx[s] * syy[s])))
    return out


@njit
def lagged_sum_nb(values: FloatArray, weights: FloatArray) -> FloatArray:
    """``Σ_j weights[j] · (values[t − n + 1 + j] − values[t])`` over the last ``n`` bars.

    Measured from the current value, so a flat window gives exactly 0; NaN propagates (no
    missing-bar bookkeeping), and the first ``n − 1`` bars are NaN.
    """
    n_times, n_symbols = values.shape
    n = weights.shape[0]
    out = np.full((n_times, n_symbols), np.nan)
    total = np.empty(n_symbols)
    for t in range(n - 1, n_times):
        current = values[t]
        total[:] = 0.0
        for j in range(n):
            row = values[t - n + 1 + j]
            weight = weights[j]
            for s in range(n_symbols):
                total[s] += weight * (row[s] - current[s])
        out[t] = total
    return out


@njit
def directional_movement_nb(high: FloatArray, low: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Wilder's +DM and −DM of every bar: the larger of the up move ``high − previous high``
    and the down move ``previous low − low`` if positive, else 0; NaN on the first bar and
    where either move is NaN.
    """
    n_times, n_symbols = high.shape
    plus = np.full((n_times, n_symbols), np.nan)
    minus = np.full((n_times, n_symbols), np.nan)
    for t in range(1, n_times):
        for s in range(n_symbols):
            up = high[t, s] - high[t - 1, s]
            down = low[t - 1, s] - low[t, s]
            if np.isnan(up) or np.isnan(down):
                continue
            plus[t, s] = up if up > 0 and up > down else 0.0
            minus[t, s] = down if down > 0 and down > up else 0.0
    return plus, minus


@njit
def trap_confirmation_nb(
    floor: FloatArray, broke: FloatArray, close: FloatArray, lookforward: int
) -> FloatArray:
    """1 where the close is the first one back above ``floor`` within ``lookforward`` bars
    after a bar with ``broke == 1`` (that bar's floor is the level), else 0.
    """
    n_times, n_symbols = close.shape
    out = np.zeros((n_times, n_symbols))
    for t in range(n_times):
        for s in range(n_symbols):
            for lag in range(1, min(lookforward, t) + 1):
                level = floor[t - lag, s]
                if broke[t - lag, s] != 1.0 or not close[t, s] > level:
                    continue
                stayed_below = True
                for between in range(1, lag):
                    if not close[t - between, s] <= level:
                        stayed_below = False
                        break
                if stayed_below:
                    out[t, s] = 1.0
                    break
    return out
