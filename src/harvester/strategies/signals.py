"""``Signals``: what a strategy wants at each close, for every (time, symbol)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from harvester.core.types import BoolArray, FloatArray

__all__ = ["Signals", "empty_signals"]


class Signals(NamedTuple):
    """Arrays of shape (time × symbols); causal: row t uses nothing after bar t.

    ``direction``: +1 enter or hold long, −1 enter or hold short, 0 no opinion;
    ``exit``: close the position; ``size``: multiplier on the sized notional (conviction,
    G-Score halving, …); ``score``: entries with a higher score take free slots first.
    """

    direction: npt.NDArray[np.int8]
    exit: BoolArray
    size: FloatArray
    score: FloatArray

    def cut(self, rows: slice = slice(None), columns: slice = slice(None)) -> Signals:
        """The ``rows`` (bars) and ``columns`` (symbols) of every array, as row-ordered
        copies the engine's kernel can take."""

        def part(values: np.ndarray) -> np.ndarray:
            return np.array(values[rows, columns], order="C")  # a copy, never a view

        return Signals(part(self.direction), part(self.exit), part(self.size), part(self.score))


def empty_signals(shape: tuple[int, int]) -> Signals:
    """Return signals that do nothing (no entries, no exits, size 1, score 0)."""
    return Signals(
        np.zeros(shape, dtype=np.int8),
        np.zeros(shape, dtype=np.bool_),
        np.ones(shape),
        np.zeros(shape),
    )
