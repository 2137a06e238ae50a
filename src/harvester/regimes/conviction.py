"""Harvester II's conviction with its fallback chain: HMM → rule regimes → 0.5.

Conviction is a number in [0, 1] per symbol at the last bar, read as "how sure are we that
the market is in the stressed regime". Three levels, tried in order:

1. **hmm** — fit the batched HMM on the observations and take the filtered probability of
   the stressed states (by default the last, panic) at the last bar. Used when the fit and
   the filtering succeed, give finite probabilities and finish within ``inference_timeout``
   seconds as measured by the injected ``clock``. The timeout is checked after the fact: a
   slow fit runs to its end and its result is discarded (pre-empting a compiled kernel
   would need a separate process).
2. **rules** — for each symbol whose rule regime at the last bar is known, the share of the
   last ``stability_window`` bars labelled ``VOLATILE`` by :func:`rule_regimes`.
3. **default** — ``default`` (0.5) for the symbols left.

:func:`conviction` reports the level used for every symbol, for logs and metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any, NamedTuple

import numpy as np

from harvester.core.errors import DataError
from harvester.core.types import FloatArray
from harvester.regimes.hmm import BatchedHMM, filter_probabilities, fit_batched
from harvester.regimes.rules import UNKNOWN, VOLATILE, rule_regimes

__all__ = ["Conviction", "ConvictionLevel", "conviction"]


class ConvictionLevel(StrEnum):
    """Which level of the fallback chain produced a conviction."""

    HMM = "hmm"
    RULES = "rules"
    DEFAULT = "default"


class Conviction(NamedTuple):
    """Conviction per symbol and how it was obtained.

    Attributes
    ----------
    value : FloatArray
        (symbols,) conviction in [0, 1] at the last bar.
    levels : tuple[ConvictionLevel, ...]
        The level used for each symbol.
    reason : str
        Why the HMM level was not used ("" when it was).
    """

    value: FloatArray
    levels: tuple[ConvictionLevel, ...]
    reason: str


def _hmm_level(
    observations: FloatArray,
    fit: Callable[[FloatArray], BatchedHMM],
    stressed: tuple[int, ...],
    deadline: tuple[Callable[[], float], float],
) -> tuple[FloatArray | None, str]:
    clock, timeout = deadline
    started = clock()
    try:
        probabilities = filter_probabilities(fit(observations), observations)
    except Exception as error:  # any failure of the fit degrades to the next level
        return None, f"HMM failed: {type(error).__name__}: {error}"
    elapsed = clock() - started
    if elapsed > timeout:
        return None, f"HMM took {elapsed:.3g} s, over the {timeout:.3g} s timeout"
    value = probabilities[:, -1, list(stressed)].sum(axis=1)
    if not np.all(np.isfinite(value)):
        return None, "HMM gave non-finite probabilities"
    return np.clip(value, 0.0, 1.0), ""


def _rule_level(close: FloatArray, window: int, rule_options: dict[str, Any]) -> FloatArray:
    """Share of the last ``window`` bars labelled volatile; NaN where the last label is unknown."""
    labels = rule_regimes(close, **rule_options)
    n_symbols = labels.shape[1]
    if labels.shape[0] < window:
        return np.full(n_symbols, np.nan)
    recent = labels[-window:]
    share = (recent == VOLATILE).mean(axis=0)
    return np.where(recent[-1] == UNKNOWN, np.nan, share)


def conviction(
    observations: FloatArray | None,
    close: FloatArray | None,
    *,
    inference_timeout: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    fit: Callable[[FloatArray], BatchedHMM] = fit_batched,
    stressed_states: tuple[int, ...] = (-1,),
    stability_window: int = 20,
    default: float = 0.5,
    rule_options: dict[str, Any] | None = None,
) -> Conviction:
    """Return the conviction of every symbol at the last bar, falling back HMM → rules → 0.5.

    Parameters
    ----------
    observations
        (symbols, time, features) HMM inputs up to the current bar, or None to skip the HMM.
    close
        (time, symbols) closes for the rule regimes, or None to skip them.
    inference_timeout
        Seconds the HMM fit and filtering may take (``bayesian.inference_timeout``).
    clock
        Monotonic clock in seconds, injectable for tests.
    fit
        Fits the HMM on ``observations``; :func:`fit_batched` with its defaults.
    stressed_states
        HMM states whose filtered probabilities are summed (-1: the last, panic).
    stability_window
        Bars over which the rule level measures the share of volatile labels.
    default
        Conviction of the last level.
    rule_options
        Keyword arguments of :func:`rule_regimes` (thresholds, windows).

    Returns
    -------
    Conviction
        Values, the level used per symbol and why the HMM was not used.
    """
    n_symbols = _symbol_count(observations, close)
    reason = "no HMM observations"
    if observations is not None:
        deadline = (clock, inference_timeout)
        value, reason = _hmm_level(observations, fit, stressed_states, deadline)
        if value is not None:
            return Conviction(value, (ConvictionLevel.HMM,) * n_symbols, "")
    rules = np.full(n_symbols, np.nan)
    if close is not None:
        rules = _rule_level(
            np.asarray(close, dtype=np.float64), stability_window, rule_options or {}
        )
    known = ~np.isnan(rules)
    levels = tuple(ConvictionLevel.RULES if k else ConvictionLevel.DEFAULT for k in known)
    return Conviction(np.where(known, rules, default), levels, reason)


def _symbol_count(observations: FloatArray | None, close: FloatArray | None) -> int:
    if observations is not None:
        return int(np.shape(observations)[0])
    if close is not None:
        return int(np.shape(close)[1])
    raise DataError("conviction needs HMM observations or closes (or both)")
