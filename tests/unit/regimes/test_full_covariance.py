"""Full-covariance HMM: kernels equal the NumPy twin, EM agrees with hmmlearn, filtering is causal.

The hmmlearn comparison mirrors ``test_hmmlearn_parity.py``: both start from the same
parameters (``init_params=""``), run the same number of EM iterations (``tol=-inf``) and
hmmlearn's ``covars_prior`` is 0. Our M-step adds ``min_variance`` to each covariance
diagonal; the comparison sets it to 1e-12, far below every fitted variance.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.core.errors import DataError
from harvester.core.types import FloatArray
from harvester.regimes import _kernels, _reference
from harvester.regimes.hmm import (
    BatchedHMM,
    InitialParams,
    filter_probabilities,
    fit_batched,
    initial_params,
    log_likelihood,
)

N_ITER = 25
_SHAPES = st.tuples(st.integers(1, 3), st.integers(1, 30), st.integers(1, 3), st.integers(1, 4))


def _batch(shape: tuple[int, int, int, int], seed: int, nan_share: float) -> FloatArray:
    n_symbols, n_times, n_features, _ = shape
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((n_features, n_features)) + 2.0 * np.eye(n_features)
    x = (
        rng.standard_normal((n_symbols, n_times, n_features))
        @ mixing
        * rng.uniform(0.5, 3.0, n_times)[None, :, None]
    )
    x[rng.random(x.shape) < nan_share] = np.nan
    return x


def _params(x: FloatArray, n_states: int, seed: int) -> _reference.Params:
    start = initial_params(
        x, n_states=n_states, seed=seed, min_variance=1e-3, covariance_type="full"
    )
    return start.startprob, start.transmat, start.means, start.variances


@settings(max_examples=50, deadline=None)
@given(shape=_SHAPES, seed=st.integers(0, 2**16), nan_share=st.sampled_from([0.0, 0.1, 0.5]))
def test_full_filter_kernel_equals_reference(
    shape: tuple[int, int, int, int], seed: int, nan_share: float
) -> None:
    x = _batch(shape, seed, nan_share)
    params = _params(x, shape[3], seed)
    kernel_p, kernel_ll = _kernels.filter_full_nb(x, *params)
    twin_p, twin_ll = _reference.filter_reference(x, params)
    np.testing.assert_allclose(kernel_p, twin_p, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(kernel_ll, twin_ll, rtol=1e-10, atol=1e-10)
    score = _kernels.log_likelihood_full_nb(x, *params)
    np.testing.assert_allclose(score, twin_ll, rtol=1e-10, atol=1e-10)


@settings(max_examples=50, deadline=None)
@given(shape=_SHAPES, seed=st.integers(0, 2**16), nan_share=st.sampled_from([0.0, 0.2]))
def test_full_fit_kernel_equals_reference(
    shape: tuple[int, int, int, int], seed: int, nan_share: float
) -> None:
    x = _batch(shape, seed, nan_share)
    params = _params(x, shape[3], seed)
    twin_params, twin_ll, twin_iter, twin_conv = _reference.fit_reference(
        x, params, n_iter=5, tol=1e-8, min_variance=1e-3
    )
    startprob, transmat, means, covariances = kernel_params = tuple(p.copy() for p in params)
    kernel_ll, kernel_iter, kernel_conv = _kernels.fit_full_nb(
        x, startprob, transmat, means, covariances, 5, 1e-8, 1e-3
    )
    np.testing.assert_array_equal(kernel_iter, twin_iter)
    np.testing.assert_array_equal(kernel_conv, twin_conv)
    np.testing.assert_allclose(kernel_ll, twin_ll, rtol=1e-8, atol=1e-8)
    for mine, theirs in zip(kernel_params, twin_params, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-9)


def _observations(n_symbols: int, n_times: int, seed: int) -> FloatArray:
    rng = np.random.default_rng(seed)
    path = np.repeat(rng.integers(0, 3, size=n_times // 40 + 1), 40)[:n_times]
    scale = np.array([0.01, 0.02, 0.04])[path]
    correlation = np.array([0.2, 0.5, 0.8])[path]
    first = rng.standard_normal((n_symbols, n_times))
    noise = rng.standard_normal((n_symbols, n_times))
    second = correlation * first + np.sqrt(1.0 - correlation**2) * noise
    return np.stack([first * scale, second * scale * 0.7], axis=2)


def _init(n_symbols: int) -> InitialParams:
    means = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    scales = np.array([0.01, 0.02, 0.04])
    covariances = np.array([[[1.0, 0.1], [0.1, 0.5]]]) * scales[:, None, None] ** 2
    transmat = np.full((3, 3), 0.05) + 0.85 * np.eye(3)
    return InitialParams(
        np.tile([0.3, 0.4, 0.3], (n_symbols, 1)),
        np.tile(transmat, (n_symbols, 1, 1)),
        np.tile(means, (n_symbols, 1, 1)) + 1e-4 * np.arange(n_symbols)[:, None, None],
        np.tile(covariances, (n_symbols, 1, 1, 1)),
    )


def _hmmlearn(init: InitialParams, s: int, *, n_iter: int) -> Any:
    hmm = pytest.importorskip("hmmlearn.hmm")
    model = hmm.GaussianHMM(
        n_components=3,
        covariance_type="full",
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


def test_full_one_pass_log_likelihood_equals_hmmlearn_score() -> None:
    x = _observations(4, 500, seed=1)
    init = _init(4)
    model = BatchedHMM(*init, np.zeros(4), np.zeros(4, dtype=np.int64), np.zeros(4, dtype=bool))
    assert model.covariance_type == "full"
    ours = log_likelihood(model, x)
    theirs = [_hmmlearn(init, s, n_iter=1).score(x[s]) for s in range(4)]
    worst = max(_relative(a, b) for a, b in zip(ours, theirs, strict=True))
    print(f"\nfull score relative difference (worst of 4): {worst:.2e}")
    assert worst < 1e-12


def test_full_em_matches_hmmlearn_after_same_iterations() -> None:
    x = _observations(5, 800, seed=2)
    init = _init(5)
    ours = fit_batched(
        x, n_iter=N_ITER, tol=-np.inf, init=init, min_variance=1e-12, covariance_type="full"
    )
    assert ours.covariance_type == "full"
    assert ours.variances.shape == (5, 3, 2, 2)
    worst_ll, worst_param = 0.0, 0.0
    for s in range(5):
        theirs = _hmmlearn(init, s, n_iter=N_ITER).fit(x[s])
        order = np.argsort(theirs.covars_[:, 0, 0])
        worst_ll = max(worst_ll, _relative(ours.log_likelihood[s], theirs.score(x[s])))
        pairs = [
            (ours.means[s], theirs.means_[order]),
            (ours.variances[s], theirs.covars_[order]),
            (ours.transmat[s], theirs.transmat_[order][:, order]),
            (ours.startprob[s], theirs.startprob_[order]),
        ]
        for mine, reference in pairs:
            worst_param = max(worst_param, float(np.max(np.abs(mine - reference))))
    print(
        f"\nfull EM {N_ITER} iterations: log-likelihood rel. diff {worst_ll:.2e}, "
        f"max abs parameter diff {worst_param:.2e}"
    )
    assert ours.iterations.tolist() == [N_ITER] * 5
    assert worst_ll < 1e-6
    assert worst_param < 1e-6


def test_full_filtered_probabilities_are_causal() -> None:
    x = _observations(3, 300, seed=3)
    x[1, 50:53, :] = np.nan
    model = fit_batched(x[:, :200], n_iter=20, covariance_type="full", seed=1)
    probabilities = filter_probabilities(model, x)
    cut = 150
    perturbed = x.copy()
    perturbed[:, cut + 1 :] = np.random.default_rng(9).normal(
        0.0, 0.5, perturbed[:, cut + 1 :].shape
    )
    again = filter_probabilities(model, perturbed)
    np.testing.assert_array_equal(probabilities[:, : cut + 1], again[:, : cut + 1])
    truncated = filter_probabilities(model, x[:, : cut + 1])
    np.testing.assert_allclose(truncated, probabilities[:, : cut + 1], rtol=0, atol=0)
    np.testing.assert_allclose(probabilities.sum(axis=2), 1.0, rtol=1e-12)


def test_full_states_are_sorted_by_variance_and_positive_definite() -> None:
    x = _observations(3, 600, seed=4)
    model = fit_batched(x, n_iter=30, covariance_type="full", seed=0)
    lead = model.variances[:, :, 0, 0]
    assert np.all(np.diff(lead, axis=1) >= 0.0)
    np.testing.assert_allclose(model.variances, model.variances.swapaxes(-1, -2), atol=1e-18)
    assert np.all(np.linalg.eigvalsh(model.variances) > 0.0)
    assert model.state_names == ("calm", "volatile", "panic")


def test_full_initial_params_shapes_and_diag_default_unchanged() -> None:
    x = _observations(2, 300, seed=5)
    diag = initial_params(x, seed=3)
    full = initial_params(x, seed=3, covariance_type="full")
    assert full.variances.shape == (2, 3, 2, 2)
    np.testing.assert_array_equal(full.means, diag.means)
    np.testing.assert_allclose(
        np.diagonal(full.variances, axis1=2, axis2=3), diag.variances, rtol=1e-9, atol=2e-10
    )
    default = fit_batched(x, n_iter=5, seed=3)
    explicit = fit_batched(x, n_iter=5, seed=3, covariance_type="diag")
    assert default.covariance_type == "diag"
    np.testing.assert_array_equal(default.variances, explicit.variances)
    np.testing.assert_array_equal(default.log_likelihood, explicit.log_likelihood)


def test_full_rejects_bad_covariances_and_types() -> None:
    x = _observations(1, 100, seed=6)
    init = _init(1)
    with pytest.raises(DataError, match="covariance_type"):
        fit_batched(x, covariance_type="spherical")  # type: ignore[arg-type]
    not_pd = init._replace(variances=np.tile(np.array([[1.0, 2.0], [2.0, 1.0]]), (1, 3, 1, 1)))
    with pytest.raises(DataError, match="positive definite"):
        fit_batched(x, init=not_pd, covariance_type="full")
    with pytest.raises(DataError, match="expected shape"):
        fit_batched(x, init=init, covariance_type="diag")
