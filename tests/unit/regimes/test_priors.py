"""Optuna prior optimisation: deterministic, on the simplex, scored on held-out bars."""

from __future__ import annotations

import numpy as np
import pytest

from harvester.core.errors import ConfigError
from harvester.core.types import FloatArray
from harvester.regimes.hmm import DEFAULT_PRIORS
from harvester.regimes.priors import held_out_log_likelihood, optimize_priors

pytest.importorskip("optuna")


def observations() -> FloatArray:
    rng = np.random.default_rng(4)
    scale = np.tile(np.repeat([0.01, 0.03, 0.08], 40), 2)
    x: FloatArray = (rng.normal(0.0, 1.0, (2, scale.size)) * scale)[:, :, None]
    return x


def test_optimised_priors_are_deterministic_and_on_the_simplex() -> None:
    x = observations()
    first = optimize_priors(x, n_trials=6, seed=3, n_iter=20)
    again = optimize_priors(x, n_trials=6, seed=3, n_iter=20)
    assert first == again
    priors = first["optimized_priors"]
    assert len(priors) == 3 and min(priors) > 0 and sum(priors) == pytest.approx(1.0)
    assert first["n_trials"] == 6
    score = held_out_log_likelihood(x, priors, n_iter=20, seed=3)
    assert first["held_out_log_likelihood"] == pytest.approx(score)


def test_held_out_score_is_the_conditional_log_likelihood() -> None:
    x = observations()
    score = held_out_log_likelihood(x, DEFAULT_PRIORS, train_fraction=0.5, n_iter=10)
    assert np.isfinite(score)
    with pytest.raises(ConfigError):
        held_out_log_likelihood(x, DEFAULT_PRIORS, train_fraction=1.0)
