"""Harvester II's "dynamic prior optimisation": tune the HMM start priors with Optuna.

The priors are the starting start-probabilities of EM (:func:`fit_batched`'s ``priors``), so
they matter through the optimum EM reaches. Each trial draws one weight per state, normalises
them onto the simplex, fits on the first ``train_fraction`` of the bars and scores the
**held-out** log-likelihood of the filtered model: ``log p(x_1..T) − log p(x_1..split)``,
the log-likelihood of the later bars given the earlier ones, summed over symbols. A seeded
TPE sampler and Optuna's in-memory storage make the search deterministic and leave no files.
Optuna is an optional dependency (extra ``research``), imported when the function runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harvester.core.errors import ConfigError
from harvester.core.types import FloatArray
from harvester.regimes.hmm import _check_observations, fit_batched, log_likelihood

__all__ = ["held_out_log_likelihood", "optimize_priors"]


def held_out_log_likelihood(
    observations: FloatArray,
    priors: tuple[float, ...],
    *,
    train_fraction: float = 0.7,
    n_iter: int = 50,
    seed: int = 0,
) -> float:
    """Return the log-likelihood of the held-out bars given the training bars, all symbols.

    Fits on the first ``train_fraction`` of the time axis with ``priors`` as EM's starting
    start probabilities, then filters the whole series.
    """
    x = _check_observations(observations)
    split = int(x.shape[1] * train_fraction)
    if not 0 < split < x.shape[1]:
        raise ConfigError(f"train_fraction {train_fraction} leaves no training or held-out bars")
    train = x[:, :split]
    model = fit_batched(train, n_states=len(priors), n_iter=n_iter, seed=seed, priors=priors)
    return float(np.sum(log_likelihood(model, x) - log_likelihood(model, train)))


def optimize_priors(
    observations: FloatArray,
    *,
    n_trials: int = 20,
    seed: int = 0,
    n_states: int = 3,
    train_fraction: float = 0.7,
    n_iter: int = 50,
) -> dict[str, Any]:
    """Search the start priors that maximise the held-out log-likelihood.

    Parameters
    ----------
    observations
        (symbols, time, features) HMM inputs.
    n_trials
        Optuna trials (Harvester II: 20).
    seed
        Seed of the TPE sampler and of the HMM initialisation.
    n_states, train_fraction, n_iter
        HMM states, share of bars used for fitting, EM iterations per fit.

    Returns
    -------
    dict
        ``optimized_priors`` (tuple on the simplex), ``held_out_log_likelihood`` (its score)
        and ``n_trials``.
    """
    import optuna

    def objective(trial: optuna.Trial) -> float:
        priors = _simplex([trial.suggest_float(f"w{k}", 1e-3, 1.0) for k in range(n_states)])
        return held_out_log_likelihood(
            observations, priors, train_fraction=train_fraction, n_iter=n_iter, seed=seed
        )

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=n_trials)
    best = study.best_trial
    return {
        "optimized_priors": _simplex([best.params[f"w{k}"] for k in range(n_states)]),
        "held_out_log_likelihood": float(best.value if best.value is not None else np.nan),
        "n_trials": len(study.trials),
    }


def _simplex(weights: list[float]) -> tuple[float, ...]:
    total = sum(weights)
    return tuple(w / total for w in weights)
