"""Harvester II's conviction with its fallback chain: HMM → rule regimes → 0.5.

Conviction is a number in [0, 1] per symbol at the last bar, read as "how sure are we that
the market is in the stressed regime". Three levels, tried in order:

1. **hmm** — fit the batched HMM on the observations and take the filtered probability of
   the stressed states (by default the last, panic) at the last bar. Used when the fit and
   the filtering succeed, give finite probabilities and finish within ``inference_timeout``
   seconds as measured by the injected ``clock``. The fit is cooperative: EM runs in chunks
   of iterations and the deadline is checked between chunks, so a slow fit stops early
   (:class:`~harvester.regimes.hmm.FitInterrupted`); the total (fit plus filtering) is
   checked once more at the end.
2. **rules** — for each symbol whose rule regime at the last bar is known, the share of the
   last ``stability_window`` bars labelled ``VOLATILE`` by :func:`rule_regimes`.
3. **default** — ``default`` (0.5) for the symbols left.

:func:`conviction` reports the level used for every symbol, for logs and metrics.
:func:`conviction_from_config` runs the chain with the ``bayesian`` and ``regimes`` config
sections.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any, NamedTuple, Protocol, cast

import numpy as np

from harvester.config.models import BayesianConfig, RegimeConfig
from harvester.core.errors import DataError
from harvester.core.types import FloatArray
from harvester.regimes.hmm import (
    BatchedHMM,
    CovarianceType,
    FitInterrupted,
    filter_probabilities,
    fit_batched,
)
from harvester.regimes.rules import UNKNOWN, VOLATILE, rule_regimes

__all__ = ["Conviction", "ConvictionLevel", "HMMFit", "conviction", "conviction_from_config"]


class HMMFit(Protocol):
    """Fits the HMM; must poll ``should_stop`` and raise when it says so (as fit_batched)."""

    def __call__(
        self, observations: FloatArray, /, *, should_stop: Callable[[], bool]
    ) -> BatchedHMM: ...


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
    fit: HMMFit,
    stressed: tuple[int, ...],
    deadline: tuple[Callable[[], float], float],
) -> tuple[FloatArray | None, str]:
    clock, timeout = deadline
    started = clock()

    def should_stop() -> bool:
        return clock() - started > timeout

    try:
        probabilities = filter_probabilities(
            fit(observations, should_stop=should_stop), observations
        )
    except FitInterrupted:
        elapsed = clock() - started
        return None, f"HMM fit stopped after {elapsed:.3g} s, over the {timeout:.3g} s timeout"
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
    fit: HMMFit = fit_batched,
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
        Fits the HMM on ``observations``; :func:`fit_batched` with its defaults. It gets a
        ``should_stop`` callback that turns True past the timeout and must then raise
        :class:`~harvester.regimes.hmm.FitInterrupted` (fit_batched checks it between
        chunks of EM iterations).
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


def conviction_from_config(
    observations: FloatArray | None,
    close: FloatArray | None,
    bayesian: BayesianConfig,
    regimes: RegimeConfig,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> Conviction:
    """:func:`conviction` with the ``bayesian`` and ``regimes`` config sections.

    The HMM (``n_states``, ``priors``, ``covariance_type``, ``n_init`` restarts) is fitted on
    the last ``training_samples`` bars of ``observations`` and filters all of them; it is
    skipped when ``enabled`` is false. ``covariance_type`` "spherical" or "tied" is not
    implemented: the HMM level then fails and the chain falls back to the rules.
    """
    n_training = bayesian.training_samples

    def fit(x: FloatArray, *, should_stop: Callable[[], bool]) -> BatchedHMM:
        return fit_batched(
            x[:, -n_training:],
            n_states=bayesian.n_states,
            priors=bayesian.priors,
            covariance_type=cast(CovarianceType, bayesian.covariance_type),
            n_init=bayesian.n_init,
            should_stop=should_stop,
        )

    rule_options: dict[str, Any] = regimes.model_dump(exclude={"market_filter_period"})
    result = conviction(
        observations if bayesian.enabled else None,
        close,
        inference_timeout=bayesian.inference_timeout,
        clock=clock,
        fit=fit,
        stressed_states=bayesian.stressed_states,
        stability_window=bayesian.rule_conviction_window,
        default=bayesian.fallback_conviction,
        rule_options=rule_options,
    )
    if not bayesian.enabled and observations is not None:
        return result._replace(reason="HMM disabled (bayesian.enabled is false)")
    return result
