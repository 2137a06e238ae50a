"""Readable twins of ``_pattern_kernels``: the definitions of the chart patterns.

Each function returns, for a (time × symbols) close array, 1.0 on the bar t that confirms
the pattern in the bars before it, 0.0 elsewhere and NaN where its window holds a NaN.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from harvester.core.types import FloatArray

Rule = Callable[[FloatArray, float], bool]


def _scan(close: FloatArray, span: int, rule: Rule) -> FloatArray:
    # rule(window of the ``span`` bars before t, close at t) -> confirmed?
    out = np.full(close.shape, np.nan)
    for s in range(close.shape[1]):
        for t in range(span, close.shape[0]):
            window = close[t - span : t + 1, s]
            if not np.isnan(window).any():
                out[t, s] = float(rule(window[:-1], float(window[-1])))
    return out


def double_top_ref(close: FloatArray, lookback: int, tol: float, depth: float) -> FloatArray:
    def rule(w: FloatArray, now: float) -> bool:
        half = lookback // 2
        a, b = int(np.argmax(w[:half])), half + int(np.argmax(w[half:]))
        neck = w[a : b + 1].min()
        similar = abs(w[a] - w[b]) <= tol * max(w[a], w[b])
        deep = neck <= (1.0 - depth) * min(w[a], w[b])
        return bool(similar and deep and w[b:].min() >= neck and now < neck)

    return _scan(close, lookback, rule)


def inverse_head_shoulders_ref(
    close: FloatArray, lookback: int, tol: float, depth: float
) -> FloatArray:
    def rule(w: FloatArray, now: float) -> bool:
        k = lookback // 3
        a, c, e = (
            int(np.argmin(w[:k])),
            k + int(np.argmin(w[k : 2 * k])),
            2 * k + int(np.argmin(w[2 * k :])),
        )
        neck = w[a : e + 1].max()
        similar = abs(w[a] - w[e]) <= tol * max(w[a], w[e])
        deep = w[c] <= (1.0 - depth) * min(w[a], w[e])
        return bool(similar and deep and w[e:].max() <= neck and now > neck)

    return _scan(close, lookback, rule)


def flag_ref(
    close: FloatArray, pole: int, flag: int, gain: float, retrace: float, sign: float
) -> FloatArray:
    # sign +1: bull flag (rise, shallow pullback, break above); −1: the mirror bear flag.
    def rule(w: FloatArray, now: float) -> bool:
        x = sign * w
        begin, end = x[0], x[pole]
        strong = end - begin >= gain * abs(begin)
        capped = x[pole + 1 :].max() <= end
        shallow = x[pole:].min() >= end - retrace * (end - begin)
        return bool(strong and capped and shallow and sign * now > end)

    return _scan(close, pole + flag, rule)
