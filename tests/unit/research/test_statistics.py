"""Research statistics checked against hand calculations, independent formulas and properties.

Independent computations use scipy.stats (a dependency of scikit-learn) where the module uses
the standard library's NormalDist and its own moments, so a shared mistake is unlikely.
The worked examples of docs/research-statistics.md are recomputed here (`test_docs_*`).
"""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from harvester.analytics.metrics import compute_metrics
from harvester.core.errors import ConfigError, DataError
from harvester.core.types import FloatArray
from harvester.research.statistics import (
    EULER_GAMMA,
    bootstrap_sharpe_difference,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    minimum_backtest_length,
    pbo_cscv,
    probabilistic_sharpe_ratio,
    sharpe_difference_test,
    sharpe_ratio,
    snooping_warnings,
    verdict,
)

scipy_stats: Any = pytest.importorskip("scipy.stats")

DOCS = Path(__file__).resolve().parents[3] / "docs" / "research-statistics.md"


def _noise(seed: int, shape: tuple[int, ...], scale: float = 0.01) -> FloatArray:
    return np.random.default_rng(seed).normal(0.0, scale, shape)


# ---------------------------------------------------------------------------------- Sharpe


def test_sharpe_matches_analytics_metrics() -> None:
    returns = np.round(_noise(1, (300,)) + 0.0004, 4)
    equity = pd.Series(
        100.0 * np.cumprod(np.concatenate([[1.0], 1.0 + returns])),
        index=pd.bdate_range("2020-01-01", periods=301),
    )
    expected = compute_metrics(equity, periods_per_year=252)["sharpe"]
    assert sharpe_ratio(returns, 252) == pytest.approx(expected, rel=1e-9)


def test_sharpe_by_hand_and_degenerate_cases() -> None:
    # mean 0.00625, std(ddof=1) 0.0110868, per period 0.563735, times sqrt(4) = 1.127469.
    assert sharpe_ratio([0.01, -0.005, 0.02, 0.0], periods_per_year=4) == pytest.approx(
        1.127469, abs=1e-6
    )
    assert sharpe_ratio([0.01, 0.03], periods_per_year=1) == pytest.approx(0.02 / math.sqrt(2e-4))
    assert math.isnan(sharpe_ratio([0.01]))
    assert math.isnan(sharpe_ratio([0.01, 0.01, 0.01]))
    with pytest.raises(DataError):
        sharpe_ratio([0.01, math.nan])
    with pytest.raises(ConfigError):
        sharpe_ratio([0.01, 0.02], periods_per_year=0)


# -------------------------------------------------------------------------- PSR and DSR


def _psr_by_formula(sr: float, benchmark: float, n: int, skew: float, kurt: float) -> float:
    denominator = math.sqrt(1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr)
    return float(scipy_stats.norm.cdf((sr - benchmark) * math.sqrt(n - 1) / denominator))


def test_paper_example_bailey_lopez_de_prado_2014() -> None:
    # N = 100 trials, V[annual SR] = 0.5, 250 days a year, annual SR 2.5 on T = 1250 days,
    # skew −3, kurtosis 10: the paper reports SR0 = 0.1132 per day and DSR = 0.9004.
    z1 = scipy_stats.norm.ppf(1 - 1 / 100)
    z2 = scipy_stats.norm.ppf(1 - 1 / (100 * math.e))
    by_hand = math.sqrt(0.5 / 250) * ((1 - 0.5772156649) * z1 + 0.5772156649 * z2)
    sr0 = expected_max_sharpe(100, 0.5 / 250)
    assert sr0 == pytest.approx(by_hand, rel=1e-9)
    assert round(sr0, 4) == 0.1132
    dsr = probabilistic_sharpe_ratio(2.5 / math.sqrt(250), sr0, 1250, -3.0, 10.0)
    assert round(dsr, 4) == 0.9004


@pytest.mark.parametrize(
    ("sr", "benchmark", "n", "skew", "kurt"),
    [(0.1, 0.0, 500, 0.0, 3.0), (0.05, 0.02, 2000, -1.2, 8.0), (-0.03, 0.0, 60, 0.7, 4.5)],
)
def test_psr_matches_independent_formula(
    sr: float, benchmark: float, n: int, skew: float, kurt: float
) -> None:
    expected = _psr_by_formula(sr, benchmark, n, skew, kurt)
    assert probabilistic_sharpe_ratio(sr, benchmark, n, skew, kurt) == pytest.approx(expected)


def test_psr_rejects_excess_kurtosis_that_makes_no_sense() -> None:
    # Excess kurtosis 0 of a normal passed as if non-excess: 1 − 0 + (0 − 1)/4 · 4 = 0.
    with pytest.raises(ConfigError, match="non-excess"):
        probabilistic_sharpe_ratio(2.0, 0.0, 100, 0.0, 0.0)
    with pytest.raises(ConfigError):
        probabilistic_sharpe_ratio(0.1, 0.0, 1, 0.0, 3.0)


def test_dsr_uses_sample_moments_of_the_returns() -> None:
    returns = np.random.default_rng(3).standard_t(4, 1500) * 0.01 + 0.0008
    result = deflated_sharpe_ratio(returns, 40, trial_sharpe_variance=0.0004)
    skew = float(scipy_stats.skew(returns))
    kurt = float(scipy_stats.kurtosis(returns, fisher=False))
    sr = float(returns.mean() / returns.std(ddof=1))
    sr0 = math.sqrt(0.0004) * (
        (1 - EULER_GAMMA) * scipy_stats.norm.ppf(1 - 1 / 40)
        + EULER_GAMMA * scipy_stats.norm.ppf(1 - 1 / (40 * math.e))
    )
    assert result.skew == pytest.approx(skew)
    assert result.kurtosis == pytest.approx(kurt)
    assert result.sharpe == pytest.approx(sr)
    assert result.expected_max_sharpe == pytest.approx(sr0)
    assert result.probability == pytest.approx(_psr_by_formula(sr, sr0, 1500, skew, kurt))
    assert result.psr_zero == pytest.approx(_psr_by_formula(sr, 0.0, 1500, skew, kurt))


def test_dsr_decreases_with_trials_and_never_exceeds_psr_zero() -> None:
    returns = _noise(4, (1000,)) + 0.001
    results = [
        deflated_sharpe_ratio(returns, n, trial_sharpe_variance=0.0005)
        for n in (1, 2, 5, 20, 100, 1000)
    ]
    probabilities = [r.probability for r in results]
    assert probabilities[0] == pytest.approx(results[0].psr_zero)  # One trial: no deflation
    assert all(later < earlier for earlier, later in pairwise(probabilities))
    assert all(r.probability <= r.psr_zero for r in results)


def test_dsr_trial_sharpes_and_annualised_inputs_agree() -> None:
    returns = _noise(5, (800,)) + 0.0007
    daily = np.random.default_rng(6).normal(0.0, 0.03, 50)
    from_sharpes = deflated_sharpe_ratio(returns, 50, trial_sharpes=daily)
    from_variance = deflated_sharpe_ratio(
        returns, 50, trial_sharpe_variance=float(daily.var(ddof=1))
    )
    annualised = deflated_sharpe_ratio(
        returns, 50, trial_sharpes=daily * math.sqrt(252), periods_per_year=252
    )
    assert from_sharpes.probability == pytest.approx(from_variance.probability)
    assert annualised.probability == pytest.approx(from_variance.probability)


def test_dsr_flags_the_best_of_many_noise_trials() -> None:
    matrix = _noise(7, (1000, 200))
    sharpes = matrix.mean(axis=0) / matrix.std(axis=0, ddof=1)
    best = int(sharpes.argmax())
    result = deflated_sharpe_ratio(matrix[:, best], 200, trial_sharpes=sharpes)
    assert result.psr_zero > 0.95  # Looks significant alone...
    assert result.probability < 0.95  # ...but not once 200 trials are accounted for


def test_dsr_argument_errors() -> None:
    returns = _noise(8, (100,))
    with pytest.raises(ConfigError, match="exactly one"):
        deflated_sharpe_ratio(returns, 10)
    with pytest.raises(ConfigError, match="exactly one"):
        deflated_sharpe_ratio(returns, 10, trial_sharpe_variance=0.1, trial_sharpes=[0.1, 0.2])
    with pytest.raises(ConfigError):
        deflated_sharpe_ratio(returns, 0, trial_sharpe_variance=0.1)
    with pytest.raises(ConfigError):
        expected_max_sharpe(10, -1.0)
    flat = deflated_sharpe_ratio(np.zeros(50), 10, trial_sharpe_variance=0.1)
    assert math.isnan(flat.probability)


# ---------------------------------------------------------------------------------- PBO


def _mean_metric(rows: FloatArray) -> FloatArray:
    means: FloatArray = rows.mean(axis=0)
    return means


HAND_MATRIX = np.array(
    [
        [4.0, 0.0, 1.0],  # block 0: trials A, B, C
        [3.0, 1.0, 2.0],  # block 1
        [0.0, 3.0, 1.0],  # block 2
        [1.0, 2.0, 0.0],  # block 3
    ]
)


def test_pbo_hand_computed_four_blocks_three_trials() -> None:
    # In-sample blocks, best trial (by mean), its out-of-sample rank among 3, ω = rank / 4:
    # {0,1}: sums A7 B1 C3 -> A; OOS {2,3} A1 B5 C1: A ties C at the bottom, rank 1.5, ω .375
    # {0,2}: A4 B3 C2 -> A; OOS {1,3} A4 B3 C2: rank 3, ω .75
    # {0,3}: A5 B2 C1 -> A; OOS {1,2} A3 B4 C3: rank 1.5, ω .375
    # {1,2}: A3 B4 C3 -> B; OOS {0,3} A5 B2 C1: rank 2, ω .5 (λ = 0 counts as overfit)
    # {1,3}: A4 B3 C2 -> A; OOS {0,2} A4 B3 C2: rank 3, ω .75
    # {2,3}: A1 B5 C1 -> B; OOS {0,1} A7 B1 C3: rank 1, ω .25
    result = pbo_cscv(HAND_MATRIX, n_splits=4, metric=_mean_metric)
    omega = np.array([0.375, 0.75, 0.375, 0.5, 0.75, 0.25])
    np.testing.assert_allclose(result.relative_ranks, omega)
    np.testing.assert_allclose(result.logits, np.log(omega / (1 - omega)))
    np.testing.assert_array_equal(result.best_trials, [0, 0, 0, 1, 0, 1])
    assert result.pbo == pytest.approx(4 / 6)
    assert (result.n_splits, result.block_size) == (4, 1)


def test_pbo_hand_computed_two_blocks_with_default_sharpe() -> None:
    # Block 0 (rows 0-1), block 1 (rows 2-3). Per-period Sharpe = mean / std(ddof=1):
    # block 0: A (.01,.03) 1.414, B (.00,.04) 0.707, C (-.01,.01) 0
    # block 1: A (-.01,.01) 0,    B (.02,.04) 2.121, C (.00,.02) 0.707
    matrix = np.array(
        [[0.01, 0.00, -0.01], [0.03, 0.04, 0.01], [-0.01, 0.02, 0.00], [0.01, 0.04, 0.02]]
    )
    result = pbo_cscv(matrix, n_splits=2)
    # IS block 0 -> A, OOS rank of A in block 1 = 1 -> ω 1/4; IS block 1 -> B, rank 2 -> ω 1/2
    np.testing.assert_array_equal(result.best_trials, [0, 1])
    np.testing.assert_allclose(result.relative_ranks, [0.25, 0.5])
    np.testing.assert_allclose(result.in_sample, [math.sqrt(2), 0.03 / math.sqrt(2e-4)])
    assert result.pbo == 1.0


def test_pbo_of_pure_noise_is_high() -> None:
    result = pbo_cscv(_noise(42, (1000, 100)), n_splits=16)
    assert len(result.logits) == math.comb(16, 8)
    assert result.pbo == pytest.approx(0.4659, abs=1e-4)  # The seeded value, checked once
    assert result.pbo > 0.4


def test_pbo_mean_over_noise_seeds_is_about_one_half() -> None:
    values = [pbo_cscv(_noise(seed, (480, 30)), n_splits=8).pbo for seed in range(20)]
    assert 0.35 < float(np.mean(values)) < 0.65


def test_pbo_of_a_planted_edge_is_zero() -> None:
    matrix = _noise(42, (1000, 100))
    matrix[:, 7] += 0.004  # Sharpe +0.4 a day in every block
    result = pbo_cscv(matrix, n_splits=16)
    assert result.pbo == 0.0
    assert set(result.best_trials.tolist()) == {7}


def test_pbo_fast_sharpe_matches_generic_metric() -> None:
    matrix = _noise(9, (403, 12)) + np.linspace(-0.001, 0.001, 12)
    matrix[:, 3] = 0.0  # A flat trial: NaN Sharpe, ranked below every number
    matrix[:200, 5] = 0.0  # Flat only in the early blocks

    def sharpe(rows: FloatArray) -> FloatArray:
        flat = np.ptp(rows, axis=0) < 1e-12
        with np.errstate(invalid="ignore", divide="ignore"):
            values = rows.mean(axis=0) / rows.std(axis=0, ddof=1)
        return np.where(flat, np.nan, values)

    fast = pbo_cscv(matrix, n_splits=6)
    generic = pbo_cscv(matrix, n_splits=6, metric=sharpe)
    assert fast.block_size == 67  # 403 // 6; the first 1 row is dropped
    np.testing.assert_array_equal(fast.best_trials, generic.best_trials)
    np.testing.assert_allclose(fast.logits, generic.logits, rtol=1e-9)
    np.testing.assert_allclose(fast.in_sample, generic.in_sample, rtol=1e-9)
    assert 3 not in fast.best_trials


def test_pbo_validation() -> None:
    with pytest.raises(ConfigError, match="even"):
        pbo_cscv(_noise(1, (100, 5)), n_splits=5)
    with pytest.raises(ConfigError, match="trial"):
        pbo_cscv(_noise(1, (100, 1)), n_splits=4)
    with pytest.raises(DataError):
        pbo_cscv(np.full((100, 3), math.nan), n_splits=4)
    with pytest.raises(DataError):
        pbo_cscv(_noise(1, (100,)), n_splits=4)
    with pytest.raises(ConfigError, match="one score per trial"):
        pbo_cscv(_noise(1, (40, 3)), n_splits=4, metric=lambda rows: rows.mean(axis=1))


# ---------------------------------------------------------------------------- bootstrap


@pytest.mark.parametrize("method", ["stationary", "circular"])
def test_bootstrap_identical_series_is_exactly_zero(method: str) -> None:
    a = _noise(10, (600,)) + 0.0004
    result = bootstrap_sharpe_difference(a, a.copy(), n_boot=300, method=method)  # type: ignore[arg-type]
    assert result.difference == 0.0
    assert result.ci == (0.0, 0.0)
    assert result.standard_error == 0.0


def test_bootstrap_planted_better_variant() -> None:
    rng = np.random.default_rng(11)
    a = rng.normal(0.0002, 0.01, 2520)
    b = a + 0.0006 + rng.normal(0.0, 0.004, 2520)
    result = bootstrap_sharpe_difference(a, b, n_boot=1000, seed=3)
    expected = (b.mean() / b.std(ddof=1) - a.mean() / a.std(ddof=1)) * math.sqrt(252)
    assert result.difference == pytest.approx(expected)
    assert 0 < result.ci[0] < result.difference < result.ci[1]
    assert result.block == round(2520 ** (1 / 3))
    again = bootstrap_sharpe_difference(a, b, n_boot=1000, seed=3)
    np.testing.assert_array_equal(result.draws, again.draws)


def test_bootstrap_is_paired() -> None:
    # B = A + noise tiny next to A: pairing keeps the spread of the difference small; an
    # unpaired resample would give a standard error near that of two independent Sharpes.
    rng = np.random.default_rng(12)
    a = rng.normal(0.0005, 0.01, 1000)
    b = a + rng.normal(0.0, 0.0005, 1000)
    result = bootstrap_sharpe_difference(a, b, n_boot=400, block=1)
    assert result.standard_error < 0.1


def test_bootstrap_iid_standard_error_matches_theory() -> None:
    # Independent normal series: Var(SR_b − SR_a) ≈ 2·(1 + SR²/2)/T per period.
    rng = np.random.default_rng(13)
    a, b = rng.normal(0.0, 0.01, 2000), rng.normal(0.0, 0.01, 2000)
    result = bootstrap_sharpe_difference(a, b, n_boot=2000, block=1, periods_per_year=1)
    assert result.standard_error == pytest.approx(math.sqrt(2 / 2000), rel=0.1)


def test_bootstrap_validation() -> None:
    a = _noise(14, (50,))
    with pytest.raises(DataError):
        bootstrap_sharpe_difference(a, a[:-1])
    with pytest.raises(ConfigError):
        bootstrap_sharpe_difference(a, a, block=0)
    with pytest.raises(ConfigError):
        bootstrap_sharpe_difference(a, a, alpha=1.5)
    with pytest.raises(ConfigError):
        bootstrap_sharpe_difference(a, a, n_boot=0)


# ------------------------------------------------------------------ Jobson–Korkie–Memmel


def _jkm_by_moments(a: FloatArray, b: FloatArray) -> tuple[float, float]:
    """Memmel's corrected Jobson–Korkie statistic in its original moment form."""
    t = a.size
    mu_a, mu_b = a.mean(), b.mean()
    s_a, s_b = a.std(ddof=1), b.std(ddof=1)
    s_ab = np.cov(a, b, ddof=1)[0, 1]
    theta = (
        2 * s_a**2 * s_b**2
        - 2 * s_a * s_b * s_ab
        + 0.5 * mu_a**2 * s_b**2
        + 0.5 * mu_b**2 * s_a**2
        - mu_a * mu_b * s_ab**2 / (s_a * s_b)
    ) / t
    z = (s_a * mu_b - s_b * mu_a) / math.sqrt(theta)
    return float(z), float(2 * scipy_stats.norm.sf(abs(z)))


def test_jkm_matches_moment_form() -> None:
    rng = np.random.default_rng(15)
    a = rng.normal(0.0004, 0.01, 750)
    b = 0.6 * a + rng.normal(0.0006, 0.008, 750)
    result = sharpe_difference_test(a, b)
    z, p = _jkm_by_moments(a, b)
    assert result.z == pytest.approx(z, rel=1e-9)
    assert result.p_value == pytest.approx(p, rel=1e-9)
    assert result.correlation == pytest.approx(float(np.corrcoef(a, b)[0, 1]))
    assert sharpe_difference_test(b, a).z == pytest.approx(-z, rel=1e-9)


def test_jkm_planted_better_variant_is_significant() -> None:
    rng = np.random.default_rng(16)
    a = rng.normal(0.0002, 0.01, 2520)
    b = a + 0.0006 + rng.normal(0.0, 0.004, 2520)
    result = sharpe_difference_test(a, b)
    assert result.z > 0
    assert result.p_value < 0.01


def test_jkm_identical_or_proportional_series_give_z_zero_p_one() -> None:
    a = _noise(17, (500,)) + 0.0003
    for b in (a.copy(), 2.0 * a, 0.1 * a):
        result = sharpe_difference_test(a, b)
        assert (result.z, result.p_value) == (0.0, 1.0)


def test_jkm_flat_series_is_nan_and_short_series_rejected() -> None:
    result = sharpe_difference_test(np.zeros(10), _noise(18, (10,)))
    assert math.isnan(result.z) and math.isnan(result.p_value)
    with pytest.raises(DataError):
        sharpe_difference_test([0.01, 0.02], [0.01, 0.03])


# ------------------------------------------------------------------------------ verdict


@pytest.mark.parametrize(
    ("p_value", "ci", "expected"),
    [
        (0.003, (0.2, 0.9), "B significantly better"),
        (0.003, (-0.9, -0.2), "B significantly worse"),
        (0.2, (0.1, 0.9), "no significant difference"),  # The two tests disagree
        (0.01, (-0.1, 0.5), "no significant difference"),
        (1.0, (0.0, 0.0), "no significant difference"),
        (math.nan, (math.nan, math.nan), "no significant difference"),
        (0.05, (0.1, 0.2), "no significant difference"),  # p must be below alpha
    ],
)
def test_verdict(p_value: float, ci: tuple[float, float], expected: str) -> None:
    assert verdict(p_value, ci) == expected


def test_ab_of_a_variant_against_itself() -> None:
    a = _noise(19, (1000,)) + 0.0005
    boot = bootstrap_sharpe_difference(a, a, n_boot=200)
    test = sharpe_difference_test(a, a)
    assert boot.difference == 0.0
    assert verdict(test.p_value, boot.ci) == "no significant difference"


def test_ab_of_a_planted_better_variant() -> None:
    rng = np.random.default_rng(20)
    a = rng.normal(0.0002, 0.01, 2520)
    b = a + 0.0006 + rng.normal(0.0, 0.004, 2520)
    boot = bootstrap_sharpe_difference(a, b, n_boot=500)
    test = sharpe_difference_test(a, b)
    assert verdict(test.p_value, boot.ci) == "B significantly better"
    assert verdict(sharpe_difference_test(b, a).p_value, (-boot.ci[1], -boot.ci[0])) == (
        "B significantly worse"
    )


# ---------------------------------------------------------------------- snooping warnings


def test_minimum_backtest_length_formula() -> None:
    for n in (2, 10, 200, 1000):
        e_max = (1 - EULER_GAMMA) * scipy_stats.norm.ppf(1 - 1 / n) + EULER_GAMMA * (
            scipy_stats.norm.ppf(1 - 1 / (n * math.e))
        )
        assert minimum_backtest_length(n) == pytest.approx(e_max**2)
        assert minimum_backtest_length(n, 2.0) == pytest.approx(e_max**2 / 4)
    assert minimum_backtest_length(1) == 0.0


def test_snooping_warnings_each_rule() -> None:
    assert snooping_warnings(30, 2520, 1, 252) == []
    few_trades = snooping_warnings(29, 2520, 1, 252)
    assert len(few_trades) == 1 and "29 trades" in few_trades[0]
    short = snooping_warnings(100, 503, 1, 252)
    assert len(short) == 1 and "years" in short[0]
    assert snooping_warnings(100, 504, 1, 252) == []
    many = snooping_warnings(100, 1800, 200, 252)  # 7.1 years < 7.65 needed for 200 trials
    assert len(many) == 1 and "200 trials" in many[0] and "7.6" in many[0]
    assert snooping_warnings(100, 2000, 200, 252) == []  # 7.9 years
    assert len(snooping_warnings(12, 252, 200, 252)) == 3
    with pytest.raises(ConfigError):
        snooping_warnings(10, 100, 0, 252)
    with pytest.raises(ConfigError):
        snooping_warnings(10, 100, 1, 0)


# ------------------------------------------------------------------------- documentation


def test_docs_worked_examples() -> None:
    text = DOCS.read_text(encoding="utf-8")
    # Deflated Sharpe: the paper's example.
    sr0 = expected_max_sharpe(100, 0.5 / 250)
    dsr = probabilistic_sharpe_ratio(2.5 / math.sqrt(250), sr0, 1250, -3.0, 10.0)
    psr0 = probabilistic_sharpe_ratio(2.5 / math.sqrt(250), 0.0, 1250, -3.0, 10.0)
    assert f"{sr0:.4f}" == "0.1132" and "0.1132" in text
    assert f"{dsr:.4f}" == "0.9004" and "0.9004" in text
    assert f"{psr0:.4f}" in text
    # PBO: the hand-computed matrix.
    assert pbo_cscv(HAND_MATRIX, n_splits=4, metric=_mean_metric).pbo == pytest.approx(2 / 3)
    assert "2/3" in text
    # Jobson–Korkie–Memmel: SR_a 0.05, SR_b 0.08 per day, ρ 0.9, T 1000.
    a, b = _series_with_moments(0.05, 0.08, 0.9, 1000)
    result = sharpe_difference_test(a, b)
    assert f"{result.z:.4f}" == "2.1149" and "2.1149" in text
    assert f"{result.p_value:.4f}" == "0.0344" and "0.0344" in text
    # Minimum backtest length of 200 trials.
    assert f"{minimum_backtest_length(200):.2f}" == "7.65" and "7.65" in text


def _series_with_moments(
    sr_a: float, sr_b: float, rho: float, n: int
) -> tuple[FloatArray, FloatArray]:
    """Two series with exactly these sample Sharpe ratios (ddof=1) and correlation."""
    raw = np.random.default_rng(21).normal(size=(n, 2))
    raw -= raw.mean(axis=0)
    q, _ = np.linalg.qr(raw)  # Orthonormal, still centred (the ones vector is orthogonal)
    z1, z2 = q[:, 0] * math.sqrt(n - 1), q[:, 1] * math.sqrt(n - 1)  # std(ddof=1) = 1
    a = 0.01 * (sr_a + z1)
    b = 0.02 * (sr_b + rho * z1 + math.sqrt(1 - rho**2) * z2)
    return a, b


def test_series_with_moments_helper() -> None:
    a, b = _series_with_moments(0.05, 0.08, 0.9, 1000)
    assert a.mean() / a.std(ddof=1) == pytest.approx(0.05)
    assert b.mean() / b.std(ddof=1) == pytest.approx(0.08)
    assert float(np.corrcoef(a, b)[0, 1]) == pytest.approx(0.9)


def test_docs_mentions_every_public_function() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name in (
        "sharpe_ratio",
        "probabilistic_sharpe_ratio",
        "deflated_sharpe_ratio",
        "expected_max_sharpe",
        "pbo_cscv",
        "bootstrap_sharpe_difference",
        "sharpe_difference_test",
        "verdict",
        "snooping_warnings",
        "minimum_backtest_length",
    ):
        assert f"`{name}" in text, name
