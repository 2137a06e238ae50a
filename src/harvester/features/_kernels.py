"""Numba kernels of the recursive indicators (EMA, Wilder averages and sums).

Arrays in, arrays out: every kernel takes a (time × symbols) float64 array and loops over
time with the symbols inside, keeping one state per symbol. A NaN input is a missing bar: the
output there is NaN and the state carries over to the symbol's next valid bar. The readable
definitions are the twins in :mod:`harvester.features._reference`.
"""

from __future__ import annotations

import numpy as np

from harvester.core.jit import njit
from harvester.core.types import FloatArray

__all__ = ["ewm_nb", "wilder_sum_nb"]


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
