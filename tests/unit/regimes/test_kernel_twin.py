"""The numba kernels equal the plain NumPy twin on random small batches, NaN rows included."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from harvester.regimes import _kernels, _reference
from harvester.regimes.hmm import initial_params

_SHAPES = st.tuples(st.integers(1, 3), st.integers(1, 30), st.integers(1, 3), st.integers(1, 4))


def _batch(shape: tuple[int, int, int, int], seed: int, nan_share: float) -> np.ndarray:
    n_symbols, n_times, n_features, _ = shape
    rng = np.random.default_rng(seed)
    x = (
        rng.standard_normal((n_symbols, n_times, n_features))
        * rng.uniform(0.5, 3.0, n_times)[None, :, None]
    )
    x[rng.random(x.shape) < nan_share] = np.nan
    return x


def _params(x: np.ndarray, n_states: int, seed: int) -> _reference.Params:
    start = initial_params(x, n_states=n_states, seed=seed, min_variance=1e-3)
    return start.startprob, start.transmat, start.means, start.variances


@given(shape=_SHAPES, seed=st.integers(0, 2**16), nan_share=st.sampled_from([0.0, 0.1, 0.5]))
def test_filter_kernel_equals_reference(
    shape: tuple[int, int, int, int], seed: int, nan_share: float
) -> None:
    x = _batch(shape, seed, nan_share)
    params = _params(x, shape[3], seed)
    kernel_p, kernel_ll = _kernels.filter_nb(x, *params)
    twin_p, twin_ll = _reference.filter_reference(x, params)
    np.testing.assert_allclose(kernel_p, twin_p, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(kernel_ll, twin_ll, rtol=1e-10, atol=1e-10)


@given(shape=_SHAPES, seed=st.integers(0, 2**16), nan_share=st.sampled_from([0.0, 0.2]))
def test_fit_kernel_equals_reference(
    shape: tuple[int, int, int, int], seed: int, nan_share: float
) -> None:
    x = _batch(shape, seed, nan_share)
    params = _params(x, shape[3], seed)
    twin_params, twin_ll, twin_iter, twin_conv = _reference.fit_reference(
        x, params, n_iter=5, tol=1e-8, min_variance=1e-3
    )
    startprob, transmat, means, variances = kernel_params = tuple(p.copy() for p in params)
    kernel_ll, kernel_iter, kernel_conv = _kernels.fit_nb(
        x, startprob, transmat, means, variances, 5, 1e-8, 1e-3
    )
    np.testing.assert_array_equal(kernel_iter, twin_iter)
    np.testing.assert_array_equal(kernel_conv, twin_conv)
    np.testing.assert_allclose(kernel_ll, twin_ll, rtol=1e-8, atol=1e-8)
    for mine, theirs in zip(kernel_params, twin_params, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-9)


def test_empty_time_axis_gives_zero_likelihood() -> None:
    x = np.empty((2, 0, 1))
    params = (
        np.full((2, 2), 0.5),
        np.full((2, 2, 2), 0.5),
        np.zeros((2, 2, 1)),
        np.ones((2, 2, 1)),
    )
    probabilities, ll = _kernels.filter_nb(x, *params)
    assert probabilities.shape == (2, 0, 2)
    np.testing.assert_array_equal(ll, [0.0, 0.0])
    assert _kernels.fit_nb(x, *params, 3, 1e-4, 1e-6)[1].tolist() == [0, 0]
