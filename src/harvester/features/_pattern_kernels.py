"""Numba kernels of the chart-pattern detectors (twins in ``_pattern_reference``).

Each kernel takes a C-contiguous (time × symbols) float64 close array and returns 1.0 on
the bar that confirms the pattern, 0.0 elsewhere and NaN where its window holds a NaN.
"""

from __future__ import annotations

import numpy as np

from harvester.core.jit import njit
from harvester.core.types import FloatArray


@njit
def _last_nan(col: FloatArray) -> np.ndarray:
    # last[t]: the latest bar ≤ t with a NaN close (−1 if none), so a window check is O(1).
    last = np.empty(col.shape[0], dtype=np.int64)
    latest = -1
    for t in range(col.shape[0]):
        if np.isnan(col[t]):
            latest = t
        last[t] = latest
    return last


@njit
def _argext(col: FloatArray, start: int, stop: int, sign: float) -> int:
    best = start
    for i in range(start + 1, stop):
        if sign * col[i] > sign * col[best]:
            best = i
    return best


@njit
def _ext(col: FloatArray, start: int, stop: int, sign: float) -> float:
    value: float = col[_argext(col, start, stop, sign)]
    return value


@njit
def _sliding_argext(col: FloatArray, width: int, sign: float) -> np.ndarray:
    # arg[i] == _argext(col, i, i + width, sign) for every window without a NaN: a monotone
    # queue of candidate indices (popping only strictly worse ones keeps the first of ties).
    n = col.shape[0]
    arg = np.full(max(n - width + 1, 0), -1, dtype=np.int64)
    queue = np.empty(n, dtype=np.int64)
    head, tail = 0, 0
    for j in range(n):
        value = sign * col[j]
        while tail > head and sign * col[queue[tail - 1]] < value:
            tail -= 1
        queue[tail] = j
        tail += 1
        if queue[head] <= j - width:
            head += 1
        if j >= width - 1:
            arg[j - width + 1] = queue[head]
    return arg


@njit
def _double_top_col(col: FloatArray, out: FloatArray, lookback: int, tol: float,
                    depth: float) -> None:  # fmt: skip
    half = lookback // 2
    last = _last_nan(col)
    first_peaks = _sliding_argext(col, half, 1.0)
    second_peaks = _sliding_argext(col, lookback - half, 1.0)
    for t in range(lookback, col.shape[0]):
        if last[t] >= t - lookback:
            continue
        start = t - lookback
        a, b = first_peaks[start], second_peaks[start + half]
        first, second = col[a], col[b]
        out[t] = 0.0
        if abs(first - second) > tol * max(first, second):
            continue
        neck = _ext(col, a, b + 1, -1.0)
        if neck > (1.0 - depth) * min(first, second) or _ext(col, b, t, -1.0) < neck:
            continue
        out[t] = 1.0 if col[t] < neck else 0.0


@njit
def _inverse_hs_col(col: FloatArray, out: FloatArray, lookback: int, tol: float,
                    depth: float) -> None:  # fmt: skip
    third = lookback // 3
    last = _last_nan(col)
    thirds = _sliding_argext(col, third, -1.0)
    lasts = _sliding_argext(col, lookback - 2 * third, -1.0)
    for t in range(lookback, col.shape[0]):
        if last[t] >= t - lookback:
            continue
        start = t - lookback
        a, c, e = thirds[start], thirds[start + third], lasts[start + 2 * third]
        left, head, right = col[a], col[c], col[e]
        out[t] = 0.0
        if abs(left - right) > tol * max(left, right) or head > (1.0 - depth) * min(left, right):
            continue
        neck = _ext(col, a, e + 1, 1.0)
        if _ext(col, e, t, 1.0) > neck:
            continue
        out[t] = 1.0 if col[t] > neck else 0.0


@njit
def _flag_col(col: FloatArray, out: FloatArray, pole: int, flag: int, gain: float,
              retrace: float, sign: float) -> None:  # fmt: skip
    span = pole + flag
    last = _last_nan(col)
    caps = _sliding_argext(col, flag - 1, sign)
    floors = _sliding_argext(col, flag, -sign)
    for t in range(span, col.shape[0]):
        if last[t] >= t - span:
            continue
        out[t] = 0.0
        end, begin = sign * col[t - flag], sign * col[t - flag - pole]
        if end - begin < gain * abs(begin):
            continue
        if sign * col[caps[t - flag + 1]] > end:
            continue
        if sign * col[floors[t - flag]] < end - retrace * (end - begin):
            continue
        out[t] = 1.0 if sign * col[t] > end else 0.0


@njit
def double_top_nb(close: FloatArray, lookback: int, tol: float, depth: float) -> FloatArray:
    out = np.full(close.shape, np.nan)
    column = np.empty(close.shape[0])
    for s in range(close.shape[1]):
        column[:] = np.nan
        _double_top_col(np.ascontiguousarray(close[:, s]), column, lookback, tol, depth)
        out[:, s] = column
    return out


@njit
def inverse_head_shoulders_nb(
    close: FloatArray, lookback: int, tol: float, depth: float
) -> FloatArray:
    out = np.full(close.shape, np.nan)
    column = np.empty(close.shape[0])
    for s in range(close.shape[1]):
        column[:] = np.nan
        _inverse_hs_col(np.ascontiguousarray(close[:, s]), column, lookback, tol, depth)
        out[:, s] = column
    return out


@njit
def flag_nb(close: FloatArray, pole: int, flag: int, gain: float, retrace: float,
            sign: float) -> FloatArray:  # fmt: skip
    out = np.full(close.shape, np.nan)
    column = np.empty(close.shape[0])
    for s in range(close.shape[1]):
        column[:] = np.nan
        _flag_col(np.ascontiguousarray(close[:, s]), column, pole, flag, gain, retrace, sign)
        out[:, s] = column
    return out
