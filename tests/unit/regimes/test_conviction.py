"""The conviction fallback chain: each level forced in turn, with a fake clock."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from harvester.config.models import BayesianConfig, RegimeConfig
from harvester.core.errors import DataError
from harvester.core.types import FloatArray
from harvester.regimes.conviction import ConvictionLevel, conviction, conviction_from_config
from harvester.regimes.hmm import BatchedHMM, InitialParams, filter_probabilities, fit_batched
from harvester.testing import SimClock

RULES = {"vol_rank_window": 60}


def observations() -> FloatArray:
    rng = np.random.default_rng(0)
    scale = np.repeat([0.01, 0.03, 0.08], 100)
    x: FloatArray = (rng.normal(0.0, 1.0, (2, 300)) * scale)[:, :, None]
    return x


def volatile_close() -> FloatArray:
    rng = np.random.default_rng(1)
    noise = 100.0 * np.exp(rng.normal(0.0, 0.03, (10, 2)))
    close: FloatArray = np.r_[np.full((200, 2), 100.0), noise]
    return close


def ticking(step: float) -> Callable[[], float]:
    now = [0.0]

    def clock() -> float:
        now[0] += step
        return now[0]

    return clock


def failing_fit(x: FloatArray, *, should_stop: Callable[[], bool]) -> BatchedHMM:
    raise FloatingPointError("EM diverged")


def quick_fit(x: FloatArray, *, should_stop: Callable[[], bool] | None = None) -> BatchedHMM:
    return fit_batched(x, n_iter=30, seed=0, should_stop=should_stop)


def test_hmm_level_is_the_filtered_panic_probability() -> None:
    x = observations()
    got = conviction(x, volatile_close(), fit=quick_fit, clock=ticking(0.1))
    expected = filter_probabilities(quick_fit(x), x)[:, -1, 2]
    np.testing.assert_allclose(got.value, expected)
    assert got.levels == (ConvictionLevel.HMM,) * 2
    assert got.reason == ""
    assert np.all(got.value > 0.5)  # the last 100 bars are the wildest


def test_stressed_states_are_summed() -> None:
    x = observations()
    got = conviction(x, None, fit=quick_fit, clock=ticking(0.1), stressed_states=(1, 2))
    probabilities = filter_probabilities(quick_fit(x), x)[:, -1]
    np.testing.assert_allclose(got.value, probabilities[:, 1] + probabilities[:, 2])


def test_a_failing_fit_falls_back_to_the_rules() -> None:
    got = conviction(observations(), volatile_close(), fit=failing_fit, rule_options=RULES)
    assert got.levels == (ConvictionLevel.RULES,) * 2
    assert "FloatingPointError" in got.reason
    # the last 10 bars follow a flat stretch: all volatile, out of a 20-bar window
    np.testing.assert_array_equal(got.value, [0.5, 0.5])
    shorter = conviction(None, volatile_close(), stability_window=10, rule_options=RULES)
    np.testing.assert_array_equal(shorter.value, [1.0, 1.0])


def test_a_slow_fit_is_stopped_early_by_the_timeout() -> None:
    sim = SimClock()
    checks: list[int] = []

    def one_second_per_read() -> float:  # every clock read costs a simulated second
        sim.seconds += 1.0
        return sim.monotonic()

    def endless_fit(x: FloatArray, *, should_stop: Callable[[], bool]) -> BatchedHMM:
        def counted() -> bool:
            checks.append(1)
            return should_stop()

        # tol=-inf: EM never converges, so only the deadline can end it before 10 000 steps
        return fit_batched(x, n_iter=10_000, tol=-np.inf, should_stop=counted, check_every=5)

    got = conviction(
        observations(),
        volatile_close(),
        fit=endless_fit,
        clock=one_second_per_read,
        inference_timeout=3.0,
        rule_options=RULES,
    )
    assert got.levels == (ConvictionLevel.RULES,) * 2
    assert "timeout" in got.reason and "stopped" in got.reason
    assert len(checks) == 4  # stopped at the 4th check (4 s > 3 s), after 20 of 10 000 steps


def test_a_fit_within_the_timeout_is_not_changed_by_the_checks() -> None:
    x = observations()
    got = conviction(x, None, fit=quick_fit, clock=SimClock().monotonic)
    expected = filter_probabilities(fit_batched(x, n_iter=30, seed=0), x)[:, -1, 2]
    np.testing.assert_array_equal(got.value, expected)


def test_conviction_from_config_uses_the_sections() -> None:
    x = observations()
    bayesian = BayesianConfig(covariance_type="diag", training_samples=300)
    got = conviction_from_config(x, volatile_close(), bayesian, RegimeConfig())
    expected = filter_probabilities(fit_batched(x, priors=(0.3, 0.4, 0.3)), x)[:, -1, 2]
    assert got.levels == (ConvictionLevel.HMM,) * 2
    np.testing.assert_allclose(got.value, expected)
    stressed = BayesianConfig(covariance_type="diag", stressed_states=(1, 2))
    both = conviction_from_config(x, None, stressed, RegimeConfig())
    probabilities = filter_probabilities(fit_batched(x), x)[:, -1]
    np.testing.assert_allclose(both.value, probabilities[:, 1] + probabilities[:, 2])


def test_conviction_from_config_falls_back_with_the_configured_values() -> None:
    disabled = BayesianConfig(enabled=False, rule_conviction_window=10, fallback_conviction=0.3)
    regimes = RegimeConfig(vol_rank_window=60)
    got = conviction_from_config(observations(), volatile_close(), disabled, regimes)
    assert got.levels == (ConvictionLevel.RULES,) * 2
    assert "disabled" in got.reason
    np.testing.assert_array_equal(got.value, [1.0, 1.0])
    # the default rank window (252) is longer than the 210 closes: no rule label yet
    default = conviction_from_config(None, volatile_close(), disabled, RegimeConfig())
    assert default.levels == (ConvictionLevel.DEFAULT,) * 2
    np.testing.assert_array_equal(default.value, [0.3, 0.3])
    tied = BayesianConfig(covariance_type="tied")  # not implemented: falls back
    assert "HMM failed" in conviction_from_config(observations(), None, tied, regimes).reason


def test_a_slow_fit_falls_back_to_the_rules() -> None:
    got = conviction(
        observations(),
        volatile_close(),
        fit=quick_fit,
        clock=ticking(2.5),
        inference_timeout=2.0,
        rule_options=RULES,
    )
    assert got.levels == (ConvictionLevel.RULES,) * 2
    assert "timeout" in got.reason


def test_missing_data_for_the_rules_falls_back_to_the_default() -> None:
    close = volatile_close()
    close[-1, 1] = np.nan
    got = conviction(observations(), close, fit=failing_fit, rule_options=RULES)
    assert got.levels == (ConvictionLevel.RULES, ConvictionLevel.DEFAULT)
    assert got.value[1] == 0.5
    nothing = conviction(observations(), None, fit=failing_fit, default=0.4)
    assert nothing.levels == (ConvictionLevel.DEFAULT,) * 2
    np.testing.assert_array_equal(nothing.value, [0.4, 0.4])


def test_too_short_history_falls_back_to_the_default() -> None:
    got = conviction(None, volatile_close()[:50], rule_options=RULES)
    assert got.levels == (ConvictionLevel.DEFAULT,) * 2
    assert got.reason == "no HMM observations"


def test_non_finite_probabilities_fall_back() -> None:
    def nan_fit(x: FloatArray, *, should_stop: Callable[[], bool]) -> BatchedHMM:
        params = InitialParams(
            np.full((2, 2), np.nan),
            np.full((2, 2, 2), 0.5),
            np.zeros((2, 2, 1)),
            np.ones((2, 2, 1)),
        )
        return BatchedHMM(*params, np.zeros(2), np.zeros(2, np.int64), np.zeros(2, bool))

    got = conviction(observations(), None, fit=nan_fit)
    assert got.levels == (ConvictionLevel.DEFAULT,) * 2
    assert "non-finite" in got.reason


def test_needs_some_data() -> None:
    with pytest.raises(DataError):
        conviction(None, None)
