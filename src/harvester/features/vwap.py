"""Volume-weighted average price from daily bars: rolling and anchored.

The price of a bar is its typical price ``(high + low + close) / 3``, weighted by its volume.

- **rolling VWAP** (``vwap``): ``Σ typical · volume / Σ volume`` over the last ``period``
  bars (the Python brain's ``VWAP_LOOKBACK``); NaN while a bar of the window is missing, and
  NaN when the window traded no volume.
- **anchored VWAP** (:func:`anchored_vwap`): the same sums restarted at every anchor bar and
  accumulated up to and including bar t. The anchoring rule is an explicit boolean vector
  over the panel's index; :func:`month_start_anchors` gives the default rule, the first
  session of every calendar month, and :func:`date_anchors` anchors at given dates. Missing
  bars are skipped (they add nothing to the sums). Before a symbol's first anchor it is NaN.

Both are causal: the value at bar t uses bars up to t (the anchors are known in advance from
the calendar, never from prices).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from harvester.core.types import FloatArray
from harvester.features._common import check_period, rolling_sum, safe_divide
from harvester.features._memo import shared

__all__ = [
    "anchored_vwap",
    "date_anchors",
    "month_start_anchors",
    "rolling_vwap",
    "typical_price",
]


def typical_price(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    """Return the typical price ``(high + low + close) / 3`` of every bar."""
    return (high + low + close) / 3.0


@shared
def rolling_vwap(
    high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray, *, period: int
) -> FloatArray:
    """Return the VWAP of the last ``period`` bars (NaN when they traded no volume)."""
    window = check_period(period, name="period")
    price = typical_price(high, low, close)
    value = rolling_sum(price * volume, window=window)
    traded = rolling_sum(np.where(np.isnan(price), np.nan, volume), window=window)
    return safe_divide(value, traded, fill=np.nan)


def month_start_anchors(index: pd.DatetimeIndex) -> np.ndarray:
    """Return a boolean vector, True on the first session of each calendar month."""
    periods = index.to_period("M")
    starts = np.ones(len(index), dtype=bool)
    starts[1:] = periods[1:] != periods[:-1]
    return starts


def date_anchors(index: pd.DatetimeIndex, dates: Iterable[str | pd.Timestamp]) -> np.ndarray:
    """Return a boolean vector, True on the first session at or after each of ``dates``."""
    anchors = np.zeros(len(index), dtype=bool)
    positions = index.searchsorted(pd.DatetimeIndex(list(dates)))
    anchors[positions[positions < len(index)]] = True
    return anchors


def anchored_vwap(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    *,
    anchors: np.ndarray,
) -> FloatArray:
    """Return the VWAP accumulated from the latest anchor bar at or before each bar.

    Parameters
    ----------
    high, low, close, volume
        (time × symbols) bars.
    anchors
        Boolean vector over the time axis: True where the sums restart (see
        :func:`month_start_anchors` and :func:`date_anchors`).

    Returns
    -------
    numpy.ndarray
        NaN before the first anchor, on missing bars and while the anchored sums hold no
        volume.
    """
    price = typical_price(high, low, close)
    valid = ~np.isnan(price) & ~np.isnan(volume)
    value = np.where(valid, price * volume, 0.0)
    traded = np.where(valid, volume, 0.0)
    segment = np.cumsum(np.asarray(anchors, dtype=bool))
    frame = pd.DataFrame(np.hstack([value, traded]))
    sums = frame.groupby(segment).cumsum().to_numpy(np.float64)
    symbols = price.shape[1]
    out = safe_divide(sums[:, :symbols], sums[:, symbols:], fill=np.nan)
    out[segment == 0] = np.nan
    out[~valid] = np.nan
    return out
