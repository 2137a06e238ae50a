"""Panic strategy: the per-bar HMM conviction with Harvester II's fallback chain.

At every bar t and symbol the conviction is, in order (the chain of
:mod:`harvester.regimes.conviction`, read bar by bar instead of at the last bar only):

1. **hmm** (source 0) — the walk-forward filtered probability of ``bayesian.stressed_states``
   (:func:`~harvester.regimes.walk_forward.walk_forward_probabilities`: refits every
   ``hmm_refit_every`` bars from the panel start on the trailing ``training_samples`` bars);
2. **rules** (source 1) — where the HMM has no value yet (before the first refit, or a
   symbol without enough history at its refit): the share of the last
   ``bayesian.rule_conviction_window`` bars that :func:`~harvester.regimes.rules.rule_regimes`
   labels volatile, when the label at t is known;
3. **default** (source 2) — ``bayesian.fallback_conviction`` (0.5) for what is left.

HMM observations per bar: the one-bar log return and the log of the high/low range (only the
return when the panel has no high/low). States are ordered by return variance, so the last
state is the panic state.
"""

from __future__ import annotations

import numpy as np

from harvester.config.models import BayesianConfig, RegimeConfig
from harvester.config.strategies import PanicStrategyConfig
from harvester.core.types import FloatArray
from harvester.data.panel import Panel
from harvester.regimes.rules import UNKNOWN, VOLATILE, rule_regimes_from_config
from harvester.regimes.walk_forward import walk_forward_probabilities

__all__ = ["SOURCE_DEFAULT", "SOURCE_HMM", "SOURCE_RULES", "bar_conviction", "observations"]

SOURCE_HMM = 0.0
SOURCE_RULES = 1.0
SOURCE_DEFAULT = 2.0


def _log_ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    out = np.full(numerator.shape, np.nan)
    valid = (numerator > 0) & (denominator > 0)
    np.log(numerator / np.where(valid, denominator, 1.0), out=out, where=valid)
    return out


def observations(panel: Panel) -> FloatArray:
    """(time × symbols × features): log return, and log(high/low) when the panel has both."""
    close = panel.array("close")
    log_return = np.full(close.shape, np.nan)
    log_return[1:] = _log_ratio(close[1:], close[:-1])
    parts = [log_return]
    if "high" in panel.fields and "low" in panel.fields:
        parts.append(_log_ratio(panel.array("high"), panel.array("low")))
    return np.stack(parts, axis=2)


def rule_conviction(close: FloatArray, window: int, regimes: RegimeConfig) -> FloatArray:
    """Per bar: share of the last ``window`` bars labelled volatile; NaN where unknown."""
    labels = rule_regimes_from_config(close, regimes)
    volatile = np.cumsum(labels == VOLATILE, axis=0, dtype=np.float64)
    share = np.full(labels.shape, np.nan)
    if labels.shape[0] >= window:
        lagged = np.vstack([np.zeros((1, labels.shape[1])), volatile[:-window]])
        share[window - 1 :] = (volatile[window - 1 :] - lagged) / window
    return np.where(labels == UNKNOWN, np.nan, share)


def bar_conviction(
    panel: Panel,
    bayesian: BayesianConfig,
    regimes: RegimeConfig,
    params: PanicStrategyConfig,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return (conviction, source, HMM stressed probability), each (time × symbols).

    ``covariance_type`` "spherical" or "tied" is not implemented by the HMM: the chain then
    starts at the rules (as :func:`~harvester.regimes.conviction.conviction_from_config`).
    """
    x = observations(panel)
    if bayesian.covariance_type not in ("diag", "full"):
        no_hmm = np.full(panel.shape, np.nan)
        return _chain(no_hmm, panel, bayesian, regimes)
    probabilities = walk_forward_probabilities(
        x,
        refit_every=params.hmm_refit_every,
        training_samples=bayesian.training_samples,
        min_train=params.hmm_min_train,
        n_states=bayesian.n_states,
        priors=bayesian.priors,
        covariance_type=bayesian.covariance_type,
        n_init=bayesian.n_init,
        n_iter=params.hmm_n_iter,
    )
    stressed = np.clip(probabilities[:, :, list(bayesian.stressed_states)].sum(axis=2), 0.0, 1.0)
    return _chain(stressed, panel, bayesian, regimes)


def _chain(
    stressed: FloatArray, panel: Panel, bayesian: BayesianConfig, regimes: RegimeConfig
) -> tuple[FloatArray, FloatArray, FloatArray]:
    rules = rule_conviction(panel.array("close"), bayesian.rule_conviction_window, regimes)
    has_hmm = np.isfinite(stressed)
    has_rules = ~has_hmm & np.isfinite(rules)
    value = np.where(has_hmm, stressed, np.where(has_rules, rules, bayesian.fallback_conviction))
    source = np.where(has_hmm, SOURCE_HMM, np.where(has_rules, SOURCE_RULES, SOURCE_DEFAULT))
    return value, source, stressed
