"""The batched EM agrees with hmmlearn's ``GaussianHMM(covariance_type="diag")``.

Both start from the same parameters (``init_params=""``) and run the same number of EM
iterations (``tol=-inf`` so neither stops early). hmmlearn's M-step adds ``covars_prior``
(default 1e-2) to every variance and has no variance floor during EM (``min_covar`` only
enters its own initialisation), so the comparison sets ``covars_prior=0`` and keeps our
``min_variance`` floor far below every fitted variance.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from harvester.core.types import FloatArray
from harvester.regimes.hmm import BatchedHMM, InitialParams, fit_batched, log_likelihood

hmm = pytest.importorskip("hmmlearn.hmm")

N_ITER = 25


def _observations(n_symbols: int, n_times: int, seed: int) -> FloatArray:
    rng = np.random.default_rng(seed)
    path = np.repeat(rng.integers(0, 3, size=n_times // 40 + 1), 40)[:n_times]
    scale = np.array([0.01, 0.02, 0.04])[path]
    returns = rng.standard_normal((n_symbols, n_times)) * scale
    return np.stack([returns, np.abs(returns)], axis=2)


def _init(x: FloatArray) -> InitialParams:
    n_symbols = x.shape[0]
    means = np.array([[0.0, 0.008], [0.0, 0.016], [0.0, 0.03]])
    variances = np.array([[1e-4, 4e-5], [4e-4, 1.5e-4], [1.6e-3, 6e-4]])
    transmat = np.full((3, 3), 0.05) + 0.85 * np.eye(3)
    return InitialParams(
        np.tile([0.3, 0.4, 0.3], (n_symbols, 1)),
        np.tile(transmat, (n_symbols, 1, 1)),
        np.tile(means, (n_symbols, 1, 1)) + 1e-4 * np.arange(n_symbols)[:, None, None],
        np.tile(variances, (n_symbols, 1, 1)),
    )


def _hmmlearn(init: InitialParams, s: int, *, n_iter: int) -> Any:
    model = hmm.GaussianHMM(
        n_components=3,
        covariance_type="diag",
        n_iter=n_iter,
        tol=-np.inf,
        init_params="",
        covars_prior=0.0,
        covars_weight=1.0,
    )
    model.startprob_ = init.startprob[s]
    model.transmat_ = init.transmat[s]
    model.means_ = init.means[s]
    model.covars_ = init.variances[s]
    return model


def _relative(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


def test_one_pass_log_likelihood_equals_hmmlearn_score() -> None:
    x = _observations(4, 500, seed=1)
    init = _init(x)
    model = BatchedHMM(*init, np.zeros(4), np.zeros(4, dtype=np.int64), np.zeros(4, dtype=bool))
    ours = log_likelihood(model, x)
    theirs = [_hmmlearn(init, s, n_iter=1).score(x[s]) for s in range(4)]
    worst = max(_relative(a, b) for a, b in zip(ours, theirs, strict=True))
    print(f"\nscore relative difference (worst of 4): {worst:.2e}")
    assert worst < 1e-12


def test_em_matches_hmmlearn_after_same_iterations() -> None:
    x = _observations(5, 800, seed=2)
    init = _init(x)
    ours = fit_batched(x, n_iter=N_ITER, tol=-np.inf, init=init, min_variance=1e-12)
    worst_ll, worst_param = 0.0, 0.0
    for s in range(5):
        theirs = _hmmlearn(init, s, n_iter=N_ITER).fit(x[s])
        covars = np.diagonal(theirs.covars_, axis1=1, axis2=2)
        order = np.argsort(covars[:, 0])
        worst_ll = max(worst_ll, _relative(ours.log_likelihood[s], theirs.score(x[s])))
        pairs = [
            (ours.means[s], theirs.means_[order]),
            (ours.variances[s], covars[order]),
            (ours.transmat[s], theirs.transmat_[order][:, order]),
            (ours.startprob[s], theirs.startprob_[order]),
        ]
        for mine, reference in pairs:
            worst_param = max(worst_param, float(np.max(np.abs(mine - reference))))
    print(
        f"\nEM {N_ITER} iterations: log-likelihood rel. diff {worst_ll:.2e}, "
        f"max abs parameter diff {worst_param:.2e}"
    )
    assert ours.iterations.tolist() == [N_ITER] * 5
    assert worst_ll < 1e-6
    assert worst_param < 1e-6
