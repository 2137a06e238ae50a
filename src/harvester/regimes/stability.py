"""Regime stability: how persistent the current regime is, in [0, 1].

The stability at bar t is the share of the last ``window`` bars (t included) whose label
equals the label at t: 1 when the regime has held for the whole window, ``1 / window`` when
it has just begun and was never seen in the window before. It works for any integer labels —
the rule regimes of :mod:`harvester.regimes.rules` or the most likely filtered HMM state —
and is causal. NaN while fewer than ``window`` bars exist and wherever the current label is
``UNKNOWN`` (-1); an unknown bar inside the window counts as a different regime.

Examples
--------
>>> regime_stability(np.array([[1], [1], [2], [2]]), window=2)[:, 0].tolist()
[nan, 1.0, 0.5, 1.0]
"""

from __future__ import annotations

import numpy as np

from harvester.core.errors import ConfigError
from harvester.core.types import FloatArray, IntArray
from harvester.regimes.rules import UNKNOWN

__all__ = ["regime_stability"]


def regime_stability(labels: IntArray, *, window: int = 20, axis: int = 0) -> FloatArray:
    """Return the share of the last ``window`` bars with the same label as the current bar.

    Parameters
    ----------
    labels
        Integer labels, time along ``axis``: (time, symbols) rule regimes, or the HMM's
        (symbols, time) most likely filtered states with ``axis=1``.
    window
        Bars looked back, the current one included (20).
    axis
        The time axis of ``labels``.

    Returns
    -------
    FloatArray
        Stability in [1 / window, 1], same shape as ``labels``; NaN during the first
        ``window - 1`` bars and where the label is ``UNKNOWN`` (-1).
    """
    if int(window) != window or window < 1:
        raise ConfigError(f"window must be an integer of at least 1; got {window!r}")
    current = np.moveaxis(np.asarray(labels), axis, 0)
    same = np.zeros(current.shape)
    for lag in range(window):
        same[lag:] += current[lag:] == current[: current.shape[0] - lag]
    share = same / window
    share[: window - 1] = np.nan
    share[current == UNKNOWN] = np.nan
    return np.moveaxis(share, 0, axis)
