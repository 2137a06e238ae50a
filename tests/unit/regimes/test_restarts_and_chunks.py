"""EM restarts keep each symbol's best run; chunked EM (for timeouts) equals one run bitwise."""

from __future__ import annotations

import numpy as np
import pytest

from harvester.core.errors import DataError
from harvester.core.types import FloatArray
from harvester.regimes import _kernels, _reference
from harvester.regimes.hmm import (
    BatchedHMM,
    CovarianceType,
    FitInterrupted,
    fit_batched,
    initial_params,
    restart_params,
)

FIELDS = ("startprob", "transmat", "means", "variances", "log_likelihood", "iterations")


def observations() -> FloatArray:
    rng = np.random.default_rng(7)
    scale = np.repeat([0.01, 0.03, 0.01, 0.08, 0.02], 80)
    x: FloatArray = rng.normal(0.0, 1.0, (6, 400, 2)) * scale[None, :, None]
    x[1, 50:60] = np.nan
    return x


def assert_same(a: BatchedHMM, b: BatchedHMM) -> None:
    for field in (*FIELDS, "converged"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)


@pytest.mark.parametrize("covariance_type", ["diag", "full"])
def test_restarts_never_lower_the_likelihood(covariance_type: CovarianceType) -> None:
    x = observations()
    single = fit_batched(x, n_iter=40, covariance_type=covariance_type)
    best = fit_batched(x, n_iter=40, covariance_type=covariance_type, n_init=4)
    floor = single.log_likelihood - 1e-9 * np.abs(single.log_likelihood)
    assert np.all(best.log_likelihood >= floor)
    variance = best.variances[:, :, 0, 0] if covariance_type == "full" else best.variances[..., 0]
    assert np.all(np.diff(variance, axis=1) >= 0.0)  # still calm, volatile, panic


@pytest.mark.parametrize("covariance_type", ["diag", "full"])
def test_restarts_pick_each_symbols_best_start(covariance_type: CovarianceType) -> None:
    x = observations()
    start = initial_params(x, covariance_type=covariance_type)
    starts = restart_params(start, 4, seed=0)
    separate = [fit_batched(x, n_iter=40, init=s, covariance_type=covariance_type) for s in starts]
    best = fit_batched(x, n_iter=40, covariance_type=covariance_type, n_init=4)
    table = np.stack([fit.log_likelihood for fit in separate])
    winner = np.argmax(table, axis=0)
    assert len(set(winner.tolist())) > 1  # the restarts matter for this data
    for s, r in enumerate(winner):
        for field in FIELDS:
            np.testing.assert_array_equal(
                getattr(best, field)[s], getattr(separate[r], field)[s], err_msg=field
            )


def test_restarts_are_reproducible_and_valid() -> None:
    start = initial_params(observations())
    first, second = restart_params(start, 3, seed=5), restart_params(start, 3, seed=5)
    for a, b in zip(first, second, strict=True):
        for p, q in zip(a, b, strict=True):
            np.testing.assert_array_equal(p, q)
    for params in first:
        np.testing.assert_allclose(params.transmat.sum(axis=2), 1.0)
        assert np.all(params.variances > 0.0)
    np.testing.assert_array_equal(first[0].means, start.means)
    assert not np.array_equal(first[1].means, restart_params(start, 2, seed=6)[1].means)
    with pytest.raises(DataError):
        restart_params(start, 0)


@pytest.mark.parametrize("covariance_type", ["diag", "full"])
@pytest.mark.parametrize("check_every", [1, 3, 7, 100])
def test_chunked_fit_is_bitwise_the_single_run(
    covariance_type: CovarianceType, check_every: int
) -> None:
    x = observations()
    whole = fit_batched(x, n_iter=25, tol=1e-6, covariance_type=covariance_type)
    calls: list[int] = []

    def never() -> bool:
        calls.append(1)
        return False

    chunked = fit_batched(
        x,
        n_iter=25,
        tol=1e-6,
        covariance_type=covariance_type,
        should_stop=never,
        check_every=check_every,
        n_threads=2,
    )
    assert_same(whole, chunked)
    assert len(calls) < -(-25 // check_every)  # never after the last chunk


def test_should_stop_interrupts_between_chunks() -> None:
    calls: list[int] = []

    def second_check() -> bool:
        calls.append(1)
        return len(calls) == 2

    with pytest.raises(FitInterrupted, match="10 of 1000"):
        fit_batched(
            observations(), n_iter=1000, tol=-np.inf, should_stop=second_check, check_every=5
        )
    with pytest.raises(DataError):
        fit_batched(observations(), should_stop=second_check, check_every=0)


def test_resumable_kernel_matches_the_reference_twin() -> None:
    x = observations()[:3, :120]
    start = initial_params(x, min_variance=1e-6)
    startprob, transmat, means, variances = params = tuple(p.copy() for p in start)
    progress = (np.zeros(3), np.full(3, -np.inf), np.zeros(3, np.int64), np.zeros(3, bool))
    for _ in range(4):
        _kernels.fit_steps_nb(
            x, startprob, transmat, means, variances, (8, 1e-8, 1e-6, 2), progress
        )
    twin_params, twin_ll, twin_iter, twin_conv = _reference.fit_reference(
        x,
        (start.startprob, start.transmat, start.means, start.variances),
        n_iter=8,
        tol=1e-8,
        min_variance=1e-6,
    )
    np.testing.assert_array_equal(progress[2], twin_iter)
    np.testing.assert_array_equal(progress[3], twin_conv)
    np.testing.assert_allclose(progress[0], twin_ll, rtol=1e-8, atol=1e-8)
    for mine, theirs in zip(params, twin_params, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-9)
