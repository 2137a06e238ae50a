"""Numba kernels of the strategies; each has a readable numpy twin it must equal.

:func:`composer_signals_nb` fuses what :func:`harvester.strategies.composer.generate_reference`
does in many numpy passes — the mean-reversion and breakout scores, each bar's regime
weights, the blend, the clip, entries, the held side and exits — in one pass over the panel,
writing only the signals. The momentum score needs ``tanh``, and numba's (libm's) tanh
differs from numpy's vectorised one in the last bit and is several times slower, so its
ratio comes from :func:`momentum_ratio_nb` and numpy applies the tanh in place. An
optimisation calls both once per trial; property tests require them to equal the numpy
twins (:mod:`harvester.strategies._composer_blend`) exactly. Every score repeats the
twin's float operations in its order, so the results are bit-identical.
"""

from __future__ import annotations

import math

import numpy as np

from harvester.core.jit import njit
from harvester.core.types import BoolArray, FloatArray, IntArray

__all__ = ["base_scores_nb", "composer_signals_nb", "momentum_ratio_nb"]


@njit
def momentum_ratio_nb(
    fast: FloatArray, slow: FloatArray, sigma: FloatArray, scale: float
) -> FloatArray:
    """``(fast − slow) / (scale · σ)`` where σ > 0; 0 on a flat window (σ = 0, a finite gap);
    NaN elsewhere. The momentum score is its tanh."""
    n_times, n_symbols = fast.shape
    ratio = np.empty((n_times, n_symbols))
    for t in range(n_times):
        for j in range(n_symbols):
            gap = fast[t, j] - slow[t, j]
            s = sigma[t, j]
            if s > 0.0:
                ratio[t, j] = gap / (scale * s)
            elif s == 0.0 and math.isfinite(gap):
                ratio[t, j] = 0.0
            else:
                ratio[t, j] = np.nan
    return ratio


@njit
def _clip(value: float, low: float, high: float) -> float:
    # np.clip's order (max, then min); NaN passes through as in numpy.
    if value < low:
        value = low
    if value > high:
        value = high
    return value


@njit
def _mean_reversion(z: float, threshold: float) -> float:
    return -_clip(z / threshold, -1.0, 1.0)


@njit
def _breakout(position: float, zone: float) -> float:
    x = 2.0 * position - 1.0
    edge = _clip((abs(x) - (1.0 - zone)) / zone, 0.0, 1.0)
    if x > 0.0:
        return edge
    if x < 0.0:
        return -1.0 * edge
    return 0.0 * edge if x == 0.0 else np.nan  # np.sign: 0 at 0 (NaN · 0 stays NaN), NaN at NaN


@njit
def base_scores_nb(
    z: FloatArray, position: FloatArray, mean_reversion_z: float, breakout_zone: float
) -> tuple[FloatArray, FloatArray]:
    """The mean-reversion and breakout scores as :func:`composer_signals_nb` computes them
    (for the property test against the numpy twin)."""
    n_times, n_symbols = z.shape
    mean_reversion = np.empty((n_times, n_symbols))
    breakout = np.empty((n_times, n_symbols))
    for t in range(n_times):
        for j in range(n_symbols):
            mean_reversion[t, j] = _mean_reversion(z[t, j], mean_reversion_z)
            breakout[t, j] = _breakout(position[t, j], breakout_zone)
    return mean_reversion, breakout


@njit
def composer_signals_nb(
    inputs: tuple[FloatArray, FloatArray, FloatArray],
    labels: IntArray,
    per_regime: FloatArray,
    score_params: tuple[float, float],
    thresholds: tuple[float, float],
) -> tuple[np.ndarray, BoolArray, FloatArray]:
    """The composer's signals: (direction int8, exit, strength |blend|), (time × symbols).

    ``inputs``: the momentum score, the mean-reversion z-score and the breakout channel
    position; ``score_params``: ``(mean_reversion_z, breakout_zone)``; ``thresholds``:
    ``(entry_threshold, exit_threshold)``. ``per_regime[row, symbol, k]``: the softmax weight
    of base strategy k in regime row (rows 0–3 the regime codes, row 4 UNKNOWN); a label of
    −1 reads row 4.
    """
    momentum, z, position = inputs
    mean_reversion_z, breakout_zone = score_params
    entry_threshold, exit_threshold = thresholds
    n_times, n_symbols = labels.shape
    unknown_row = per_regime.shape[0] - 1
    direction = np.zeros((n_times, n_symbols), dtype=np.int8)
    exits = np.zeros((n_times, n_symbols), dtype=np.bool_)
    strength = np.zeros((n_times, n_symbols))
    held = np.zeros(n_symbols, dtype=np.int64)  # the side of each symbol's last entry signal
    for t in range(n_times):  # row by row: the arrays are row-ordered (time × symbols)
        for j in range(n_symbols):
            row = unknown_row if labels[t, j] == -1 else labels[t, j]
            # Σ wₖ · scoreₖ; an ineligible strategy (w = 0) adds 0 whatever its score.
            w_mom, w_mr, w_bo = per_regime[row, j, 0], per_regime[row, j, 1], per_regime[row, j, 2]
            total = 0.0 if w_mom == 0.0 else w_mom * momentum[t, j]
            total += 0.0 if w_mr == 0.0 else w_mr * _mean_reversion(z[t, j], mean_reversion_z)
            total += 0.0 if w_bo == 0.0 else w_bo * _breakout(position[t, j], breakout_zone)
            if math.isnan(total):  # no opinion: no entry, no exit, the side held
                continue
            value = min(max(total, -1.0), 1.0)
            strength[t, j] = abs(value)
            # Branch-free from here (twice as fast as if/else on noisy blends): enter where
            # |blend| ≥ entry_threshold, in the blend's direction; the held side follows.
            sign = int(value > 0.0) - int(value < 0.0)
            enter = int((abs(value) >= entry_threshold) & (value != 0.0))
            direction[t, j] = sign * enter
            side = held[j] + enter * (sign - held[j])
            held[j] = side
            exits[t, j] = ((side > 0) & (value < exit_threshold)) | (
                (side < 0) & (value > -exit_threshold)
            )
    return direction, exits, strength
