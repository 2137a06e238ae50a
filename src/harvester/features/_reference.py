"""Readable twins of the numba kernels: one symbol at a time, missing bars dropped first.

Each twin compresses a symbol's column to its valid values, runs the textbook recursion on
them in plain Python and scatters the result back; the property tests check the kernels in
:mod:`harvester.features._kernels` give the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from harvester.core.types import FloatArray

__all__ = ["ewm_reference", "wilder_sum_reference"]


def _per_symbol(values: FloatArray, run: Callable[[list[float]], list[float]]) -> FloatArray:
    out = np.full(values.shape, np.nan)
    for s in range(values.shape[1]):
        valid = ~np.isnan(values[:, s])
        out[valid, s] = run([float(v) for v in values[valid, s]])
    return out


def ewm_reference(values: FloatArray, alpha: float, seed_count: int, skip: int) -> FloatArray:
    """Exponential average seeded with a simple mean; see :func:`_kernels.ewm_nb`."""

    def run(series: list[float]) -> list[float]:
        result = [float("nan")] * len(series)
        start = skip + seed_count - 1
        if seed_count < 1 or start >= len(series):
            return result
        state = sum(series[skip : start + 1]) / seed_count
        result[start] = state
        for k in range(start + 1, len(series)):
            state = state + alpha * (series[k] - state)
            result[k] = state
        return result

    return _per_symbol(values, run)


def wilder_sum_reference(values: FloatArray, period: int) -> FloatArray:
    """Wilder's running sum; see :func:`_kernels.wilder_sum_nb`."""

    def run(series: list[float]) -> list[float]:
        result = [float("nan")] * len(series)
        state = 0.0
        for k, value in enumerate(series):
            if k < period - 1:
                state += value
                if k == period - 2:
                    result[k] = state
                continue
            state = state - state / period + value
            result[k] = state
        return result

    return _per_symbol(values, run)
