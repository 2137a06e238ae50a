"""Numba kernels of the chart-pattern detectors (twins in ``_pattern_reference``).

Each kernel takes a C-contiguous (time × symbols) float64 close array and returns 1.0 on
the bar that confirms the pattern, 0.0 elsewhere and NaN where its window holds a NaN.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from harvester.core.types import FloatArray


@njit(cache=True)
def _last_nan(col: FloatArray) -> np.ndarray:
    # last[t]: the latest bar ≤ t with a NaN close (−1 if none), so a window check is O(1).
    last = np.empty(col.shape[0], dtype=np.int64)
    latest = -1
    for t in range(col.shape[0]):
        if np.isnan(col[t]):
            latest = t
        last[t] = latest
    return last


@njit(cache=True)
def _argext(col: FloatArray, start: int, stop: int, sign: float) -> int:
    best = start
    for i in range(start + 1, stop):
        if sign * col[i] > sign * col[best]:
            best = i
    return best


@njit(cache=True)
def _ext(col: FloatArray, start: int, stop: int, sign: float) -> float:
    value: float = col[_argext(col, start, stop, sign)]
    return value


@njit(cache=True)
def _double_top_at(col: FloatArray, t: int, lookback: int, tol: float, depth: float) -> float:
    start = t - lookback
    a = _argext(col, start, start + lookback // 2, 1.0)
    b = _argext(col, start + lookback // 2, t, 1.0)
    first, second = col[a], col[b]
    if abs(first - second) > tol * max(first, second):
        return 0.0
    neck = _ext(col, a, b + 1, -1.0)
    if neck > (1.0 - depth) * min(first, second) or _ext(col, b, t, -1.0) < neck:
        return 0.0
    return 1.0 if col[t] < neck else 0.0


@njit(cache=True)
def _inverse_hs_at(col: FloatArray, t: int, lookback: int, tol: float, depth: float) -> float:
    start, third = t - lookback, lookback // 3
    a = _argext(col, start, start + third, -1.0)
    c = _argext(col, start + third, start + 2 * third, -1.0)
    e = _argext(col, start + 2 * third, t, -1.0)
    left, head, right = col[a], col[c], col[e]
    if abs(left - right) > tol * max(left, right) or head > (1.0 - depth) * min(left, right):
        return 0.0
    neck = _ext(col, a, e + 1, 1.0)
    if _ext(col, e, t, 1.0) > neck:
        return 0.0
    return 1.0 if col[t] > neck else 0.0


@njit(cache=True)
def _flag_at(col: FloatArray, t: int, pole: int, flag: int, gain: float, retrace: float,
             sign: float) -> float:  # fmt: skip
    end, begin = sign * col[t - flag], sign * col[t - flag - pole]
    if end - begin < gain * abs(begin):
        return 0.0
    if sign * _ext(col, t - flag + 1, t, sign) > end:
        return 0.0
    if sign * _ext(col, t - flag, t, -sign) < end - retrace * (end - begin):
        return 0.0
    return 1.0 if sign * col[t] > end else 0.0


@njit(cache=True)
def double_top_nb(close: FloatArray, lookback: int, tol: float, depth: float) -> FloatArray:
    out = np.full(close.shape, np.nan)
    for s in range(close.shape[1]):
        col = np.ascontiguousarray(close[:, s])
        last = _last_nan(col)
        for t in range(lookback, close.shape[0]):
            if last[t] < t - lookback:
                out[t, s] = _double_top_at(col, t, lookback, tol, depth)
    return out


@njit(cache=True)
def inverse_head_shoulders_nb(
    close: FloatArray, lookback: int, tol: float, depth: float
) -> FloatArray:
    out = np.full(close.shape, np.nan)
    for s in range(close.shape[1]):
        col = np.ascontiguousarray(close[:, s])
        last = _last_nan(col)
        for t in range(lookback, close.shape[0]):
            if last[t] < t - lookback:
                out[t, s] = _inverse_hs_at(col, t, lookback, tol, depth)
    return out


@njit(cache=True)
def flag_nb(close: FloatArray, pole: int, flag: int, gain: float, retrace: float,
            sign: float) -> FloatArray:  # fmt: skip
    out = np.full(close.shape, np.nan)
    span = pole + flag
    for s in range(close.shape[1]):
        col = np.ascontiguousarray(close[:, s])
        last = _last_nan(col)
        for t in range(span, close.shape[0]):
            if last[t] < t - span:
                out[t, s] = _flag_at(col, t, pole, flag, gain, retrace, sign)
    return out
