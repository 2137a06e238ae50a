"""The Python brain's global filter: is the benchmark (SPY) below its 200-day average?

When it is, the brain is more cautious on longs: a smaller position
(``long_size_multiplier``, 0.5 in the spec's example) and a stricter entry z-score
(``z_tighten``, -2.8 in the spec's example, instead of the normal entry level). Both are
parameters here; the strategy layer decides what to do with them.

Warm-up: while the average is undefined (fewer than ``period`` closes, or a missing close in
the window) :func:`below_200_day` is False — no data, no caution, the filter is simply off.

Examples
--------
>>> close = np.r_[np.full(200, 100.0), 90.0]
>>> below_200_day(close)[[0, 199, 200]].tolist()
[False, False, True]
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from harvester.core.types import BoolArray, FloatArray
from harvester.features.technical import sma

__all__ = ["MarketFilterAdjustment", "below_200_day", "market_filter_adjustment"]


class MarketFilterAdjustment(NamedTuple):
    """Per-bar long-side adjustments of the filter.

    Attributes
    ----------
    long_size_multiplier : FloatArray
        Factor on long position size: ``long_size_multiplier`` below the average, 1 above.
    long_entry_z : FloatArray
        Z-score a long entry must reach: ``z_tighten`` below the average, ``base_z`` above.
    """

    long_size_multiplier: FloatArray
    long_entry_z: FloatArray


def below_200_day(close: FloatArray, *, period: int = 200) -> BoolArray:
    """Return whether each close is below its ``period``-day simple moving average.

    ``close`` is a 1-D series or a (time, symbols) array; the result has its shape. False
    during the warm-up and wherever the close or its average is missing.
    """
    values = np.asarray(close, dtype=np.float64)
    panel = values.reshape(values.shape[0], -1)
    average = sma(panel, period=period)
    below: BoolArray = (panel < average).reshape(values.shape)
    return below


def market_filter_adjustment(
    below: BoolArray,
    *,
    long_size_multiplier: float = 0.5,
    z_tighten: float = -2.8,
    base_z: float = -2.0,
) -> MarketFilterAdjustment:
    """Return the long size multiplier and the long entry z-score for every bar.

    Parameters
    ----------
    below
        Output of :func:`below_200_day`.
    long_size_multiplier
        Size factor on longs while below the average (``SPY_BELOW_200MA_LONG_SIZE_MULTIPLIER``).
    z_tighten
        Long entry z-score while below the average (``SPY_BELOW_200MA_Z_TIGHTEN``).
    base_z
        Long entry z-score otherwise.
    """
    flag = np.asarray(below, dtype=bool)
    return MarketFilterAdjustment(
        np.where(flag, long_size_multiplier, 1.0), np.where(flag, z_tighten, base_z)
    )
