"""Numba kernels of the strategies; each has a readable numpy twin it must equal.

:func:`composer_signals_nb` fuses what :func:`harvester.strategies.composer.generate_reference`
does in many numpy passes — look up each bar's regime weights, blend the three base scores,
clip, turn the blend into entries, the held side and exits — in one pass over the panel,
writing only the signals. An optimisation calls it once per trial; a property test requires
it to equal the twin exactly.
"""

from __future__ import annotations

import math

import numpy as np

from harvester.core.jit import njit
from harvester.core.types import BoolArray, FloatArray, IntArray

__all__ = ["composer_signals_nb"]


@njit
def composer_signals_nb(
    scores: tuple[FloatArray, FloatArray, FloatArray],
    labels: IntArray,
    per_regime: FloatArray,
    entry_threshold: float,
    exit_threshold: float,
) -> tuple[np.ndarray, BoolArray, FloatArray]:
    """The composer's signals: (direction int8, exit, strength |blend|), (time × symbols).

    ``per_regime[row, symbol, k]``: the softmax weight of base strategy k in regime row
    (rows 0–3 the regime codes, row 4 UNKNOWN); a label of −1 reads row 4.
    """
    n_times, n_symbols = labels.shape
    unknown_row = per_regime.shape[0] - 1
    direction = np.zeros((n_times, n_symbols), dtype=np.int8)
    exits = np.zeros((n_times, n_symbols), dtype=np.bool_)
    strength = np.zeros((n_times, n_symbols))
    held = np.zeros(n_symbols)  # the side of each symbol's last entry signal
    for t in range(n_times):  # row by row: the arrays are row-ordered (time × symbols)
        for j in range(n_symbols):
            row = unknown_row if labels[t, j] == -1 else labels[t, j]
            total = 0.0
            for k in range(3):
                w = per_regime[row, j, k]
                part = 0.0 if w == 0.0 else w * scores[k][t, j]
                total = part if k == 0 else total + part
            if math.isnan(total):  # no opinion: no entry, no exit, the side held
                continue
            value = min(max(total, -1.0), 1.0)
            strength[t, j] = abs(value)
            if strength[t, j] >= entry_threshold and value != 0.0:
                direction[t, j] = 1 if value > 0.0 else -1
                held[j] = float(direction[t, j])
            exits[t, j] = (held[j] > 0.0 and value < exit_threshold) or (
                held[j] < 0.0 and value > -exit_threshold
            )
    return direction, exits, strength
