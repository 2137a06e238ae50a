"""Readable twins of the numba kernels, one symbol at a time.

Each recursive twin compresses a symbol's column to its valid values, runs the textbook
recursion on them in plain Python and scatters the result back; each rolling twin looks at
every full window directly. The property tests check the kernels in
:mod:`harvester.features._kernels` give the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import numpy as np

from harvester.core.types import FloatArray

__all__ = [
    "directional_movement_reference",
    "ewm_reference",
    "lagged_sum_reference",
    "rolling_correlation_reference",
    "rolling_max_reference",
    "rolling_mean_reference",
    "rolling_rank_reference",
    "rolling_std_reference",
    "rolling_zscore_reference",
    "trap_confirmation_reference",
    "wilder_sum_reference",
]


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


def _per_window(
    values: FloatArray, window: int, statistic: Callable[[list[float], float], float]
) -> FloatArray:
    # ``statistic(window values, current value)`` on every full window without a NaN or inf.
    out = np.full(values.shape, np.nan)
    for s in range(values.shape[1]):
        column = [float(v) for v in values[:, s]]
        for t in range(window - 1, len(column)):
            recent = column[t - window + 1 : t + 1]
            if all(np.isfinite(v) for v in recent):
                out[t, s] = statistic(recent, column[t])
    return out


def rolling_rank_reference(values: FloatArray, window: int) -> FloatArray:
    """Percentile rank in the last ``window`` values; see :func:`_kernels.rolling_rank_nb`."""

    def rank(recent: list[float], current: float) -> float:
        return (sum(1 for v in recent if v <= current) - 1) / (window - 1)

    return _per_window(values, window, rank)


def rolling_count_below_reference(values: FloatArray, window: int) -> FloatArray:
    """Window values strictly below the current one; see :func:`_kernels.rolling_count_below_nb`."""
    return _per_window(
        values, window, lambda recent, current: float(sum(v < current for v in recent))
    )


def rolling_max_reference(values: FloatArray, window: int) -> FloatArray:
    """Largest of the last ``window`` values; see :func:`_kernels.rolling_max_nb`."""
    return _per_window(values, window, lambda recent, _: max(recent))


def rolling_mean_reference(values: FloatArray, window: int) -> FloatArray:
    """Mean of the last ``window`` values; see :func:`_kernels.rolling_mean_nb`."""
    return _per_window(values, window, lambda recent, _: math.fsum(recent) / window)


def rolling_std_reference(values: FloatArray, window: int) -> FloatArray:
    """Population standard deviation; see :func:`_kernels.rolling_std_nb`."""

    def deviation(recent: list[float], _: float) -> float:
        mean = math.fsum(recent) / window
        return math.sqrt(math.fsum((v - mean) ** 2 for v in recent) / window)

    return _per_window(values, window, deviation)


def rolling_zscore_reference(values: FloatArray, window: int) -> FloatArray:
    """``(current − mean) / std`` in exact rational arithmetic, 0 on a flat window; see
    :func:`_kernels.rolling_zscore_nb`.
    """

    def zscore(recent: list[float], current: float) -> float:
        exact = [Fraction(v) for v in recent]
        mean = sum(exact, Fraction(0)) / window
        variance = sum(((v - mean) ** 2 for v in exact), Fraction(0)) / window
        if variance == 0:
            return 0.0
        return float(Fraction(current) - mean) / math.sqrt(float(variance))

    return _per_window(values, window, zscore)


def rolling_correlation_reference(x: FloatArray, y: FloatArray, window: int) -> FloatArray:
    """Pearson correlation over the last ``window`` bars; see
    :func:`_kernels.rolling_correlation_nb`.
    """
    out = np.full(x.shape, np.nan)
    for s in range(x.shape[1]):
        for t in range(window - 1, x.shape[0]):
            xs = [float(v) for v in x[t - window + 1 : t + 1, s]]
            ys = [float(v) for v in y[t - window + 1 : t + 1, s]]
            if not all(np.isfinite(v) for v in xs + ys):
                continue
            mx, my = math.fsum(xs) / window, math.fsum(ys) / window
            vx = math.fsum((v - mx) ** 2 for v in xs) / window
            vy = math.fsum((v - my) ** 2 for v in ys) / window
            if vx <= 1e-12 * (vx + mx * mx) or vy <= 1e-12 * (vy + my * my):
                out[t, s] = 0.0
                continue
            cov = math.fsum((a - mx) * (b - my) for a, b in zip(xs, ys, strict=True)) / window
            out[t, s] = min(1.0, max(-1.0, cov / math.sqrt(vx * vy)))
    return out


def lagged_sum_reference(values: FloatArray, weights: FloatArray) -> FloatArray:
    """Weighted sum of offsets from the current value; see :func:`_kernels.lagged_sum_nb`."""
    n = len(weights)
    out = np.full(values.shape, np.nan)
    for s in range(values.shape[1]):
        for t in range(n - 1, values.shape[0]):
            recent = values[t - n + 1 : t + 1, s]
            out[t, s] = sum(w * (v - values[t, s]) for w, v in zip(weights, recent, strict=True))
    return out


def directional_movement_reference(
    high: FloatArray, low: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Wilder's +DM and −DM; see :func:`_kernels.directional_movement_nb`."""
    plus, minus = np.full(high.shape, np.nan), np.full(high.shape, np.nan)
    for t in range(1, high.shape[0]):
        for s in range(high.shape[1]):
            up = float(high[t, s]) - float(high[t - 1, s])
            down = float(low[t - 1, s]) - float(low[t, s])
            if math.isnan(up) or math.isnan(down):
                continue
            plus[t, s] = up if up > max(down, 0.0) else 0.0
            minus[t, s] = down if down > max(up, 0.0) else 0.0
    return plus, minus


def _shift(values: FloatArray, bars: int) -> FloatArray:
    out = np.full(values.shape, np.nan)
    out[bars:] = values[: max(values.shape[0] - bars, 0)]
    return out


def trap_confirmation_reference(
    floor: FloatArray, broke: FloatArray, close: FloatArray, lookforward: int
) -> FloatArray:
    """First close back above a broken floor; see :func:`_kernels.trap_confirmation_nb`."""
    fired = np.zeros(close.shape, dtype=bool)
    for lag in range(1, lookforward + 1):
        level = _shift(floor, lag)
        confirmed = (_shift(broke, lag) == 1.0) & (close > level)
        for between in range(1, lag):
            confirmed &= _shift(close, between) <= level
        fired |= confirmed
    return fired.astype(np.float64)
