"""Sharpe ratios that account for luck: per-period and annualised Sharpe, the probabilistic
and deflated Sharpe ratios, the minimum backtest length and data-snooping warnings.

The conventions (per-period returns, non-excess kurtosis, deterministic draws) are those of
:mod:`harvester.research.statistics`; docs/research-statistics.md has the formulas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from harvester.core.errors import ConfigError, DataError
from harvester.core.types import FloatArray

__all__ = [
    "EULER_GAMMA",
    "FLAT_RETURN_RANGE",
    "NORMAL",
    "DeflatedSharpeResult",
    "check_periods_per_year",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "minimum_backtest_length",
    "paired_returns",
    "per_period_sharpe",
    "probabilistic_sharpe_ratio",
    "rowwise_sharpe",
    "sharpe_ratio",
    "snooping_warnings",
]

EULER_GAMMA = 0.5772156649015329  # Euler–Mascheroni constant γ of the expected-maximum formula
FLAT_RETURN_RANGE = 1e-12  # As harvester.analytics.metrics: a smaller span is float noise
_MIN_TRADES = 30
_MIN_YEARS = 2.0
NORMAL = NormalDist()


def sharpe_ratio(returns: npt.ArrayLike, periods_per_year: float = 252) -> float:
    """Return the annualised Sharpe ratio of per-period returns (zero risk-free rate).

    Parameters
    ----------
    returns : array_like
        Simple per-period returns, one-dimensional, finite.
    periods_per_year : float, default 252
        Annualisation factor: the ratio is multiplied by ``sqrt(periods_per_year)``; pass 1
        for the per-period Sharpe ratio.

    Returns
    -------
    float
        mean(returns) / std(returns, ddof=1) · sqrt(periods_per_year); NaN with fewer than
        two returns or flat returns (spanning less than 1e-12). Identical to the ``sharpe``
        of ``harvester.analytics.metrics.compute_metrics`` with ``risk_free_rate=0``.

    Raises
    ------
    DataError
        If the returns are not one-dimensional or hold NaN or inf.
    ConfigError
        If periods_per_year is not a positive finite number.

    Examples
    --------
    >>> round(sharpe_ratio([0.01, -0.005, 0.02, 0.0], periods_per_year=4), 6)
    1.127469
    """
    check_periods_per_year(periods_per_year)
    values = _returns(returns, "returns")
    return per_period_sharpe(values) * math.sqrt(periods_per_year)


def per_period_sharpe(values: FloatArray) -> float:
    if values.size < 2 or np.ptp(values) < FLAT_RETURN_RANGE:
        return math.nan
    return float(values.mean() / values.std(ddof=1))


def rowwise_sharpe(values: FloatArray) -> FloatArray:
    """Per-period Sharpe of every row of a 2-D array; NaN for flat rows."""
    std = values.std(axis=1, ddof=1)
    flat = np.ptp(values, axis=1) < FLAT_RETURN_RANGE
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = values.mean(axis=1) / std
    return np.where(flat, np.nan, sharpe)


def probabilistic_sharpe_ratio(
    sr: float, sr_benchmark: float, n: int, skew: float, kurtosis: float
) -> float:
    """Return the probability that the true Sharpe ratio exceeds a benchmark (PSR).

    Bailey & López de Prado (2012), with the non-normality correction::

        PSR = Φ( (SR − SR*) · sqrt(n − 1) / sqrt(1 − γ₃·SR + (γ₄ − 1)/4 · SR²) )

    Parameters
    ----------
    sr : float
        Observed *per-period* (non-annualised) Sharpe ratio SR.
    sr_benchmark : float
        Per-period benchmark Sharpe ratio SR* (0 asks "is it positive at all?").
    n : int
        Number of returns the Sharpe ratio was measured on (at least 2).
    skew : float
        Skewness γ₃ of the returns.
    kurtosis : float
        *Non-excess* kurtosis γ₄ of the returns (3 for normal returns).

    Returns
    -------
    float
        PSR in [0, 1].

    Raises
    ------
    ConfigError
        If an input is not finite, n < 2, or the variance term is not positive (impossible
        for moments of real data, since γ₄ ≥ 1 + γ₃²).

    Examples
    --------
    The example of Bailey & López de Prado (2014): annual Sharpe 2.5 on 1,250 days, skew −3,
    kurtosis 10, against the expected maximum Sharpe (0.1132 per day) of 100 trials whose
    annual Sharpe ratios have variance 0.5, at 250 days a year:

    >>> sr0 = expected_max_sharpe(100, 0.5 / 250)
    >>> round(probabilistic_sharpe_ratio(2.5 / math.sqrt(250), sr0, 1250, -3.0, 10.0), 4)
    0.9004
    """
    for name, value in (("sr", sr), ("sr_benchmark", sr_benchmark), ("skew", skew)):
        if not math.isfinite(value):
            raise ConfigError(f"{name} is {value}: expected a finite number")
    if not math.isfinite(kurtosis):
        raise ConfigError(f"kurtosis is {kurtosis}: expected a finite non-excess kurtosis")
    if n < 2:
        raise ConfigError(f"n is {n}: expected at least two returns behind the Sharpe ratio")
    variance = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr**2
    if variance <= 0:
        raise ConfigError(
            f"1 − skew·SR + (kurtosis − 1)/4·SR² is {variance:g} with skew {skew} and "
            f"kurtosis {kurtosis}: expected non-excess kurtosis (3 for normal returns)"
        )
    z = (sr - sr_benchmark) * math.sqrt(n - 1) / math.sqrt(variance)
    return NORMAL.cdf(z)


def expected_max_sharpe(n_trials: int, trial_sharpe_variance: float) -> float:
    """Return the expected maximum Sharpe ratio of ``n_trials`` trials with no skill.

    ``E[max] ≈ sqrt(V) · ((1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e)))`` with γ the
    Euler–Mascheroni constant (Bailey & López de Prado 2014). The result is in the units of
    ``trial_sharpe_variance`` (per-period variance gives a per-period Sharpe ratio).

    Parameters
    ----------
    n_trials : int
        Number of independent trials N (at least 1; one trial gives 0).
    trial_sharpe_variance : float
        Variance V of the Sharpe ratios across the trials (>= 0).

    Returns
    -------
    float
        The expected maximum, >= 0.

    Raises
    ------
    ConfigError
        If n_trials < 1 or the variance is negative or not finite.

    Examples
    --------
    >>> round(expected_max_sharpe(100, 0.5 / 250), 4)
    0.1132
    """
    _check_n_trials(n_trials)
    if not (math.isfinite(trial_sharpe_variance) and trial_sharpe_variance >= 0):
        raise ConfigError(
            f"trial_sharpe_variance is {trial_sharpe_variance}: expected a finite variance >= 0"
        )
    if n_trials == 1:
        return 0.0
    return math.sqrt(trial_sharpe_variance) * _max_of_normals(n_trials)


def _max_of_normals(n_trials: int) -> float:
    """Approximate expected maximum of N independent standard normals."""
    quantile = NORMAL.inv_cdf
    return float(
        (1.0 - EULER_GAMMA) * quantile(1.0 - 1.0 / n_trials)
        + EULER_GAMMA * quantile(1.0 - 1.0 / (n_trials * math.e))
    )


@dataclass(frozen=True, slots=True)
class DeflatedSharpeResult:
    """Result of `deflated_sharpe_ratio`; every Sharpe ratio here is per period.

    Attributes
    ----------
    probability : float
        The deflated Sharpe ratio: PSR against ``expected_max_sharpe`` (flag below 0.95).
    sharpe : float
        Per-period Sharpe ratio of the returns.
    expected_max_sharpe : float
        Per-period Sharpe ratio the best of ``n_trials`` skill-less trials reaches on average.
    psr_zero : float
        PSR against 0 (what the probability would be with a single trial).
    n_trials : int
        Number of trials.
    n_observations : int
        Number of returns.
    skew : float
        Skewness of the returns (biased estimate).
    kurtosis : float
        Non-excess kurtosis of the returns (biased estimate, 3 if normal).
    """

    probability: float
    sharpe: float
    expected_max_sharpe: float
    psr_zero: float
    n_trials: int
    n_observations: int
    skew: float
    kurtosis: float


def deflated_sharpe_ratio(
    returns: npt.ArrayLike,
    n_trials: int,
    *,
    trial_sharpe_variance: float | None = None,
    trial_sharpes: npt.ArrayLike | None = None,
    periods_per_year: float | None = None,
) -> DeflatedSharpeResult:
    """Return the deflated Sharpe ratio (DSR) of the best of ``n_trials`` backtests.

    DSR = PSR(SR₀) with SR₀ = `expected_max_sharpe` (n_trials, V): the probability that the
    selected strategy's true Sharpe ratio beats what the best of N skill-less trials would
    show (Bailey & López de Prado 2014). Skewness and kurtosis come from ``returns``.

    Parameters
    ----------
    returns : array_like
        Per-period returns of the selected (best) trial.
    n_trials : int
        Number of independent trials tried before selecting it.
    trial_sharpe_variance : float, optional
        Variance V of the trials' Sharpe ratios. Give this or ``trial_sharpes``.
    trial_sharpes : array_like, optional
        Sharpe ratio of every trial; V is their variance with ddof=1.
    periods_per_year : float, optional
        If the trial Sharpe ratios (or their variance) are annualised, the factor used; they
        are de-annualised (V / periods_per_year). None means they are per period already.

    Returns
    -------
    DeflatedSharpeResult
        ``probability`` is the DSR; the other fields show how it was reached. NaN
        probabilities if the returns are flat.

    Raises
    ------
    ConfigError
        If neither or both of trial_sharpe_variance and trial_sharpes are given, n_trials
        < 1, or periods_per_year is not positive.
    DataError
        If the returns hold NaN or inf, are fewer than two, or trial_sharpes has NaN or inf
        or fewer than two values.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> result = deflated_sharpe_ratio(rng.normal(0.001, 0.01, 1000), 50,
    ...                                trial_sharpe_variance=0.001)
    >>> result.probability < result.psr_zero
    True
    """
    _check_n_trials(n_trials)
    values = _returns(returns, "returns")
    if values.size < 2:
        raise DataError(f"returns has {values.size} values: expected at least two")
    variance = _trial_variance(trial_sharpe_variance, trial_sharpes)
    if periods_per_year is not None:
        check_periods_per_year(periods_per_year)
        variance /= periods_per_year
    sr0 = expected_max_sharpe(n_trials, variance)
    sharpe = per_period_sharpe(values)
    skew, kurtosis = _skew_kurtosis(values)
    if math.isnan(sharpe):
        dsr = psr0 = math.nan
    else:
        dsr = probabilistic_sharpe_ratio(sharpe, sr0, values.size, skew, kurtosis)
        psr0 = probabilistic_sharpe_ratio(sharpe, 0.0, values.size, skew, kurtosis)
    return DeflatedSharpeResult(
        probability=dsr,
        sharpe=sharpe,
        expected_max_sharpe=sr0,
        psr_zero=psr0,
        n_trials=n_trials,
        n_observations=int(values.size),
        skew=skew,
        kurtosis=kurtosis,
    )


def _skew_kurtosis(values: FloatArray) -> tuple[float, float]:
    """Biased skewness and non-excess kurtosis; (0, 3) for flat returns, as if normal."""
    centred = values - values.mean()
    m2 = float(np.mean(centred**2))
    if m2 == 0 or np.ptp(values) < FLAT_RETURN_RANGE:
        return 0.0, 3.0
    return float(np.mean(centred**3)) / m2**1.5, float(np.mean(centred**4)) / m2**2


def _trial_variance(variance: float | None, sharpes: npt.ArrayLike | None) -> float:
    if (variance is None) == (sharpes is None):
        raise ConfigError(
            "deflated_sharpe_ratio needs exactly one of trial_sharpe_variance and trial_sharpes"
        )
    if sharpes is not None:
        values = _returns(sharpes, "trial_sharpes")
        if values.size < 2:
            raise DataError(
                f"trial_sharpes has {values.size} values: expected one Sharpe ratio per trial, "
                "at least two"
            )
        return float(values.var(ddof=1))
    assert variance is not None
    if not (math.isfinite(variance) and variance >= 0):
        raise ConfigError(f"trial_sharpe_variance is {variance}: expected a finite variance >= 0")
    return float(variance)


def minimum_backtest_length(n_trials: int, target_sharpe: float = 1.0) -> float:
    """Return the years of data below which N skill-less trials reach ``target_sharpe``.

    Bailey, Borwein, López de Prado & Zhu (2014): with annual Sharpe ratios of unit variance
    across trials, the best of N trials on y years has expected annual Sharpe
    ``E[max]/sqrt(y)``; it stays below the target only for
    ``y >= ((1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e)))² / target²``.

    Parameters
    ----------
    n_trials : int
        Number of trials N (>= 1; one trial needs 0 years).
    target_sharpe : float, default 1.0
        Annual Sharpe ratio to be out of reach of pure noise (> 0).

    Returns
    -------
    float
        Minimum backtest length in years.

    Raises
    ------
    ConfigError
        If n_trials < 1 or target_sharpe is not positive.

    Examples
    --------
    >>> round(minimum_backtest_length(200), 2)
    7.65
    """
    _check_n_trials(n_trials)
    if not (math.isfinite(target_sharpe) and target_sharpe > 0):
        raise ConfigError(f"target_sharpe is {target_sharpe}: expected a positive Sharpe ratio")
    return (expected_max_sharpe(n_trials, 1.0) / target_sharpe) ** 2


def snooping_warnings(
    n_trades: int, n_bars: int, n_trials: int, periods_per_year: float
) -> list[str]:
    """Return warnings that a backtest is too thin to trust; empty when none apply.

    - fewer than 30 trades: win rates and averages are mostly noise;
    - fewer than 2 years of bars (n_bars / periods_per_year): one market regime at best;
    - fewer years than `minimum_backtest_length` (n_trials): pure noise would be expected to
      show an annual Sharpe ratio of 1 in the best of that many trials.

    Parameters
    ----------
    n_trades : int
        Closed trades of the backtest.
    n_bars : int
        Bars in the sample.
    n_trials : int
        Configurations tried (optimisation trials, sweeps, A/B variants) before choosing.
    periods_per_year : float
        Bars per year (252 equity sessions, 365 crypto days).

    Returns
    -------
    list of str
        One sentence per warning, in the order above.

    Raises
    ------
    ConfigError
        If a count is negative, n_trials < 1 or periods_per_year is not positive.

    Examples
    --------
    >>> snooping_warnings(n_trades=120, n_bars=2520, n_trials=1, periods_per_year=252)
    []
    >>> len(snooping_warnings(n_trades=12, n_bars=252, n_trials=200, periods_per_year=252))
    3
    """
    if n_trades < 0 or n_bars < 0:
        raise ConfigError(f"n_trades {n_trades} and n_bars {n_bars}: expected counts >= 0")
    _check_n_trials(n_trials)
    check_periods_per_year(periods_per_year)
    years = n_bars / periods_per_year
    warnings = []
    if n_trades < _MIN_TRADES:
        warnings.append(
            f"only {n_trades} trades (fewer than {_MIN_TRADES}): win rate, payoff and Sharpe "
            "ratio are mostly noise"
        )
    if years < _MIN_YEARS:
        warnings.append(
            f"sample covers {years:.2f} years (fewer than {_MIN_YEARS:g}): results may reflect "
            "a single market regime"
        )
    needed = minimum_backtest_length(n_trials)
    if years < needed:
        warnings.append(
            f"{n_trials} trials on {years:.2f} years of data: the best of that many skill-less "
            f"trials is expected to show an annual Sharpe ratio of 1 or more; "
            f"{needed:.1f} years are needed (minimum backtest length)"
        )
    return warnings


def _returns(values: npt.ArrayLike, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise DataError(f"{name} has shape {array.shape}: expected one value per period")
    if not np.isfinite(array).all():
        first = int((~np.isfinite(array)).argmax())
        raise DataError(f"{name} has NaN or inf at position {first}: expected finite numbers")
    return array


def paired_returns(
    returns_a: npt.ArrayLike, returns_b: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    a, b = _returns(returns_a, "returns_a"), _returns(returns_b, "returns_b")
    if a.size != b.size:
        raise DataError(
            f"returns_a has {a.size} periods and returns_b {b.size}: expected both variants "
            "on the same periods"
        )
    if a.size < 2:
        raise DataError(f"returns have {a.size} values: expected at least two periods")
    return a, b


def check_periods_per_year(periods_per_year: float) -> None:
    if not (math.isfinite(periods_per_year) and periods_per_year > 0):
        raise ConfigError(
            f"periods_per_year is {periods_per_year}: expected a positive number of bars per "
            "year (252 for equity sessions, 365 for crypto days)"
        )


def _check_n_trials(n_trials: int) -> None:
    if n_trials < 1:
        raise ConfigError(f"n_trials is {n_trials}: expected at least one trial")
