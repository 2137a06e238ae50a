"""Filtered probabilities: a hand-written forward recursion, causality, ordering, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harvester.core.errors import DataError
from harvester.core.types import FloatArray
from harvester.regimes.hmm import (
    REGIME_NAMES,
    BatchedHMM,
    InitialParams,
    filter_probabilities,
    fit_batched,
    log_likelihood,
    most_likely_filtered_state,
)


def _model(params: InitialParams) -> BatchedHMM:
    n = params.startprob.shape[0]
    return BatchedHMM(*params, np.zeros(n), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool))


TINY = InitialParams(
    np.array([[0.6, 0.4]]),
    np.array([[[0.9, 0.1], [0.2, 0.8]]]),
    np.array([[[0.0], [1.0]]]),
    np.array([[[1.0], [4.0]]]),
)


def _density(x: float, mean: float, variance: float) -> float:
    return math.exp(-((x - mean) ** 2) / (2 * variance)) / math.sqrt(2 * math.pi * variance)


def test_two_state_example_equals_hand_forward_recursion() -> None:
    xs = [0.1, 2.5, float("nan"), -0.3]
    start, a = [0.6, 0.4], [[0.9, 0.1], [0.2, 0.8]]
    expected, previous, total_log = [], [0.0, 0.0], 0.0
    for t, x in enumerate(xs):
        prior = (
            start if t == 0 else [sum(previous[i] * a[i][j] for i in range(2)) for j in range(2)]
        )
        emit = [1.0, 1.0] if math.isnan(x) else [_density(x, 0.0, 1.0), _density(x, 1.0, 4.0)]
        joint = [prior[j] * emit[j] for j in range(2)]
        total_log += math.log(sum(joint))
        previous = [value / sum(joint) for value in joint]
        expected.append(previous)
    observations = np.array(xs)[None, :, None]
    model = _model(TINY)
    np.testing.assert_allclose(filter_probabilities(model, observations)[0], expected, rtol=1e-12)
    np.testing.assert_allclose(log_likelihood(model, observations), [total_log], rtol=1e-12)
    assert most_likely_filtered_state(model, observations)[0].tolist() == [0, 1, 1, 0]


@given(
    data=st.lists(st.floats(-5, 5), min_size=2, max_size=40),
    cut=st.integers(0, 39),
    noise=st.floats(-50, 50),
)
def test_filtered_probabilities_are_causal(data: list[float], cut: int, noise: float) -> None:
    cut = cut % len(data)
    x = np.array(data)[None, :, None]
    changed = x.copy()
    changed[0, cut + 1 :, 0] += noise
    model = _model(TINY)
    before = filter_probabilities(model, x)[0, : cut + 1]
    after = filter_probabilities(model, changed)[0, : cut + 1]
    np.testing.assert_array_equal(before, after)
    # The prefix alone gives the same rows too (prefix invariance).
    np.testing.assert_array_equal(filter_probabilities(model, x[:, : cut + 1])[0], before)


def _regime_data(seed: int) -> FloatArray:
    rng = np.random.default_rng(seed)
    scale = np.repeat([0.01, 0.03, 0.01, 0.06, 0.02], 120)
    returns = rng.standard_normal((3, scale.size)) * scale
    return np.stack([returns, np.abs(returns)], axis=2)


def test_states_are_sorted_by_return_variance_and_named() -> None:
    model = fit_batched(_regime_data(3), n_iter=60, seed=1)
    assert model.state_names == REGIME_NAMES
    assert np.all(np.diff(model.variances[:, :, 0], axis=1) > 0)
    np.testing.assert_allclose(model.transmat.sum(axis=2), 1.0, rtol=1e-12)
    np.testing.assert_allclose(model.startprob.sum(axis=1), 1.0, rtol=1e-12)


def test_refits_with_other_seeds_keep_state_meaning() -> None:
    x = _regime_data(4)
    first = fit_batched(x, n_iter=80, seed=1)
    second = fit_batched(x, n_iter=80, seed=2)
    agree = most_likely_filtered_state(first, x) == most_likely_filtered_state(second, x)
    assert agree.mean() > 0.95


def test_fit_is_deterministic() -> None:
    x = _regime_data(5)
    a, b = fit_batched(x, n_iter=20, seed=3), fit_batched(x, n_iter=20, seed=3)
    np.testing.assert_array_equal(a.means, b.means)
    np.testing.assert_array_equal(a.log_likelihood, b.log_likelihood)


def test_missing_rows_keep_the_fit_finite() -> None:
    x = _regime_data(6)
    x[1, 100:160] = np.nan
    x[2, ::7, 1] = np.nan
    model = fit_batched(x, n_iter=30)
    probabilities = filter_probabilities(model, x)
    assert np.isfinite(model.log_likelihood).all() and np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities.sum(axis=2), 1.0, rtol=1e-12)


def test_bad_shapes_are_data_errors() -> None:
    with pytest.raises(DataError, match="symbols, time, features"):
        fit_batched(np.zeros((3, 4)))
    with pytest.raises(DataError, match="infinite"):
        fit_batched(np.full((1, 5, 1), np.inf))
    model = fit_batched(_regime_data(7), n_iter=2)
    with pytest.raises(DataError, match="does not match"):
        filter_probabilities(model, np.zeros((2, 5, 2)))


def test_threads_do_not_change_the_fit() -> None:
    x = np.concatenate([_regime_data(8), _regime_data(9)])
    one, three = fit_batched(x, n_iter=15), fit_batched(x, n_iter=15, n_threads=3)
    for a, b in zip(one.params, three.params, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(one.log_likelihood, three.log_likelihood)
    np.testing.assert_array_equal(one.iterations, three.iterations)
