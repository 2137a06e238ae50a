"""Statistics that decide whether a backtest result is real: pure functions on numpy arrays.

docs/research-statistics.md states every formula, its reference and a worked example.

Conventions
-----------
- Inputs are simple per-period returns (one value per bar), never prices or equity.
- A *per-period* Sharpe ratio is mean / std(ddof=1) of the returns, with no risk-free rate
  (pass excess returns if you want one). `sharpe_ratio` annualises it by
  ``sqrt(periods_per_year)``, exactly as ``harvester.analytics.metrics`` computes ``sharpe``
  with a zero risk-free rate. Returns spanning less than 1e-12 are flat: the Sharpe ratio is
  NaN, as with fewer than two returns.
- The probabilistic and deflated Sharpe ratios work on *per-period* (non-annualised) Sharpe
  ratios, as in Bailey & López de Prado; `deflated_sharpe_ratio` converts annualised trial
  Sharpe ratios when told their ``periods_per_year``.
- Kurtosis is the *non-excess* (Pearson) kurtosis: 3 for a normal distribution. Skewness and
  kurtosis of returns are the biased (population-moment) estimates, as ``scipy.stats.skew``
  and ``scipy.stats.kurtosis(fisher=False)`` give by default.
- Every function is deterministic: random draws come from ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import combinations
from statistics import NormalDist
from typing import Literal

import numpy as np
import numpy.typing as npt

from harvester.core.errors import ConfigError, DataError
from harvester.core.types import BoolArray, FloatArray, IntArray

__all__ = [
    "EULER_GAMMA",
    "BootstrapResult",
    "DeflatedSharpeResult",
    "PBOResult",
    "SharpeDifferenceTest",
    "bootstrap_sharpe_difference",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "minimum_backtest_length",
    "pbo_cscv",
    "probabilistic_sharpe_ratio",
    "sharpe_difference_test",
    "sharpe_ratio",
    "snooping_warnings",
    "verdict",
]

EULER_GAMMA = 0.5772156649015329  # Euler–Mascheroni constant γ of the expected-maximum formula
_FLAT_RETURN_RANGE = 1e-12  # As harvester.analytics.metrics: a smaller span is float noise
_SAME_SHARPE_TOLERANCE = 1e-12  # Relative: Sharpe differences below this are rounding noise
_MIN_TRADES = 30
_MIN_YEARS = 2.0
_NORMAL = NormalDist()
_BOOTSTRAP_CHUNK = 256  # Bootstrap draws per vectorised batch: bounds memory at 256 × n
_CSCV_CELLS = 4_000_000  # CSCV batch size: combinations × blocks × trials per batch (32 MB)

Verdict = Literal["no significant difference", "B significantly better", "B significantly worse"]


# --------------------------------------------------------------------------------- Sharpe


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
    _check_periods_per_year(periods_per_year)
    values = _returns(returns, "returns")
    return _per_period_sharpe(values) * math.sqrt(periods_per_year)


def _per_period_sharpe(values: FloatArray) -> float:
    if values.size < 2 or np.ptp(values) < _FLAT_RETURN_RANGE:
        return math.nan
    return float(values.mean() / values.std(ddof=1))


def _rowwise_sharpe(values: FloatArray) -> FloatArray:
    """Per-period Sharpe of every row of a 2-D array; NaN for flat rows."""
    std = values.std(axis=1, ddof=1)
    flat = np.ptp(values, axis=1) < _FLAT_RETURN_RANGE
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = values.mean(axis=1) / std
    return np.where(flat, np.nan, sharpe)


# ------------------------------------------------------------------ PSR and deflated Sharpe


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
    return _NORMAL.cdf(z)


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
    quantile = _NORMAL.inv_cdf
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
        _check_periods_per_year(periods_per_year)
        variance /= periods_per_year
    sr0 = expected_max_sharpe(n_trials, variance)
    sharpe = _per_period_sharpe(values)
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
    if m2 == 0 or np.ptp(values) < _FLAT_RETURN_RANGE:
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


# ----------------------------------------------------------------------------- PBO (CSCV)

Metric = Callable[[FloatArray], FloatArray]


@dataclass(frozen=True, slots=True)
class PBOResult:
    """Result of `pbo_cscv`, one entry per combination in the arrays.

    Attributes
    ----------
    pbo : float
        Probability of backtest overfitting: share of logits <= 0 (flag above 0.5).
    logits : FloatArray
        λ = ln(ω / (1 − ω)) of each combination.
    relative_ranks : FloatArray
        ω = out-of-sample rank of the in-sample best trial / (N + 1), rank 1 the worst.
    best_trials : IntArray
        Column of the in-sample best trial of each combination.
    in_sample : FloatArray
        Metric of that trial in sample.
    out_of_sample : FloatArray
        Metric of that trial out of sample.
    n_splits : int
        Number of blocks S.
    block_size : int
        Rows per block (the first T mod S rows are dropped to make blocks equal).
    """

    pbo: float
    logits: FloatArray
    relative_ranks: FloatArray
    best_trials: IntArray
    in_sample: FloatArray
    out_of_sample: FloatArray
    n_splits: int
    block_size: int


def pbo_cscv(
    performance_matrix: npt.ArrayLike, n_splits: int = 16, metric: Metric | None = None
) -> PBOResult:
    """Return the probability of backtest overfitting by combinatorially symmetric CV.

    Bailey, Borwein, López de Prado & Zhu (2016): the T rows are split into S equal blocks
    (the first T mod S rows are dropped); for each of the C(S, S/2) ways to choose half the
    blocks as in-sample (the rest, in time order, out-of-sample), the trial with the best
    in-sample metric is taken, its out-of-sample rank r among the N trials (1 = worst, ties
    share the average rank) gives ω = r / (N + 1) and λ = ln(ω / (1 − ω)).
    PBO = share of combinations with λ <= 0: how often the in-sample winner is no better
    than the median out of sample.

    Parameters
    ----------
    performance_matrix : array_like, shape (T, N)
        Per-period returns: one row per period, one column per trial (all on the same dates).
    n_splits : int, default 16
        Number of blocks S: even, at least 2, at most T. C(16, 8) = 12,870 combinations.
    metric : callable, optional
        Maps a (rows, N) array to N scores, higher is better. None (default) is the
        per-period Sharpe ratio (mean / std, ddof=1), computed fast from block sums.
        A NaN score (a flat trial) ranks below every number.

    Returns
    -------
    PBOResult
        PBO, the λ distribution and the selected trials.

    Raises
    ------
    DataError
        If the matrix is not two-dimensional or holds NaN or inf.
    ConfigError
        If n_splits is odd, below 2 or above T, or there are fewer than two trials.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> result = pbo_cscv(rng.normal(0, 0.01, (400, 20)), n_splits=8)
    >>> len(result.logits), 0.0 <= result.pbo <= 1.0
    (70, True)
    """
    matrix = np.asarray(performance_matrix, dtype=np.float64)
    _check_cscv(matrix, n_splits)
    block_size = matrix.shape[0] // n_splits
    blocks = matrix[matrix.shape[0] - block_size * n_splits :].reshape(
        n_splits, block_size, matrix.shape[1]
    )
    parts: list[tuple[FloatArray, FloatArray]] = []
    chunk = max(1, _CSCV_CELLS // (n_splits * matrix.shape[1]))
    for chosen in _combination_chunks(n_splits, chunk):
        if metric is None:
            parts.append(_sharpe_from_block_sums(blocks, chosen))
        else:
            parts.append(_metric_per_combination(blocks, chosen, metric))
    is_scores = _nan_to_worst(np.concatenate([p[0] for p in parts]))
    oos_scores = _nan_to_worst(np.concatenate([p[1] for p in parts]))
    best = is_scores.argmax(axis=1)
    rows = np.arange(best.size)
    selected_oos = oos_scores[rows, best]
    below = (oos_scores < selected_oos[:, None]).sum(axis=1)
    equal = (oos_scores == selected_oos[:, None]).sum(axis=1)
    ranks = below + (equal + 1) / 2.0
    omega = ranks / (matrix.shape[1] + 1)
    logits = np.log(omega / (1.0 - omega))
    return PBOResult(
        pbo=float((logits <= 0).mean()),
        logits=logits,
        relative_ranks=omega,
        best_trials=best.astype(np.int64),
        in_sample=is_scores[rows, best],
        out_of_sample=selected_oos,
        n_splits=n_splits,
        block_size=block_size,
    )


def _check_cscv(matrix: FloatArray, n_splits: int) -> None:
    if matrix.ndim != 2:
        raise DataError(f"performance matrix has shape {matrix.shape}: expected (periods, trials)")
    if not np.isfinite(matrix).all():
        raise DataError("performance matrix has NaN or inf: expected a return for every cell")
    if matrix.shape[1] < 2:
        raise ConfigError(f"performance matrix has {matrix.shape[1]} trial(s): expected >= 2")
    if n_splits < 2 or n_splits % 2 or n_splits > matrix.shape[0]:
        raise ConfigError(
            f"n_splits is {n_splits}: expected an even number >= 2 and <= the "
            f"{matrix.shape[0]} rows"
        )


def _combination_chunks(n_splits: int, chunk: int) -> Iterator[BoolArray]:
    """Yield (chunk, S) masks of in-sample blocks covering every C(S, S/2) combination."""
    chosen: list[tuple[int, ...]] = []
    for combo in combinations(range(n_splits), n_splits // 2):
        chosen.append(combo)
        if len(chosen) == chunk:
            yield _masks(chosen, n_splits)
            chosen = []
    if chosen:
        yield _masks(chosen, n_splits)


def _masks(chosen: list[tuple[int, ...]], n_splits: int) -> BoolArray:
    mask = np.zeros((len(chosen), n_splits), dtype=np.bool_)
    mask[np.repeat(np.arange(len(chosen)), n_splits // 2), np.asarray(chosen).ravel()] = True
    return mask


def _sharpe_from_block_sums(blocks: FloatArray, chosen: BoolArray) -> tuple[FloatArray, FloatArray]:
    """Per-period Sharpe of every trial on in- and out-of-sample halves, from block sums."""
    centre = blocks.mean(axis=(0, 1))  # Variance is shift-invariant: centring avoids cancellation
    centred = blocks - centre
    sums, squares = centred.sum(axis=1), (centred**2).sum(axis=1)  # (S, N) each
    span_min, span_max = blocks.min(axis=1), blocks.max(axis=1)
    rows = blocks.shape[1] * (blocks.shape[0] // 2)
    results = []
    for mask in (chosen, ~chosen):
        weights = mask.astype(np.float64)
        s1, s2 = weights @ sums, weights @ squares
        variance = (s2 - s1**2 / rows) / (rows - 1) if rows > 1 else np.full_like(s1, np.nan)
        low = np.where(mask[:, :, None], span_min[None], np.inf).min(axis=1)
        high = np.where(mask[:, :, None], span_max[None], -np.inf).max(axis=1)
        flat = (high - low) < _FLAT_RETURN_RANGE
        with np.errstate(divide="ignore", invalid="ignore"):
            sharpe = (s1 / rows + centre) / np.sqrt(np.maximum(variance, 0.0))
        results.append(np.where(flat, np.nan, sharpe))
    return results[0], results[1]


def _metric_per_combination(
    blocks: FloatArray, chosen: BoolArray, metric: Metric
) -> tuple[FloatArray, FloatArray]:
    is_rows: list[FloatArray] = []
    oos_rows: list[FloatArray] = []
    for mask in chosen:
        for rows, part in ((is_rows, mask), (oos_rows, ~mask)):
            scores = np.asarray(metric(blocks[part].reshape(-1, blocks.shape[2])), np.float64)
            if scores.shape != (blocks.shape[2],):
                raise ConfigError(
                    f"metric returned shape {scores.shape}: expected one score per trial "
                    f"({blocks.shape[2]},)"
                )
            rows.append(scores)
    return np.stack(is_rows), np.stack(oos_rows)


def _nan_to_worst(scores: FloatArray) -> FloatArray:
    return np.where(np.isnan(scores), -np.inf, scores)


# ------------------------------------------------------------------------------ A/B tests


@dataclass(frozen=True, slots=True)
class BootstrapResult:
    """Result of `bootstrap_sharpe_difference`; Sharpe ratios annualised.

    Attributes
    ----------
    difference : float
        Sharpe(B) − Sharpe(A) on the original sample.
    ci : tuple of float
        Percentile (1 − alpha) interval of the bootstrap differences.
    standard_error : float
        Standard deviation (ddof=1) of the bootstrap differences.
    draws : FloatArray
        The bootstrap differences (draws with a flat resample, hence NaN, are dropped).
    block : int
        Block length used (mean block length for the stationary bootstrap).
    method : str
        "stationary" or "circular".
    """

    difference: float
    ci: tuple[float, float]
    standard_error: float
    draws: FloatArray
    block: int
    method: str


def bootstrap_sharpe_difference(
    returns_a: npt.ArrayLike,
    returns_b: npt.ArrayLike,
    n_boot: int = 2000,
    block: int | None = None,
    seed: int = 0,
    alpha: float = 0.05,
    *,
    method: Literal["stationary", "circular"] = "stationary",
    periods_per_year: float = 252,
) -> BootstrapResult:
    """Return a paired block-bootstrap confidence interval of Sharpe(B) − Sharpe(A).

    Each draw resamples the *same* periods for both variants (paired), in blocks so that
    autocorrelation and volatility clustering survive: the stationary bootstrap of Politis &
    Romano (1994) (geometric block lengths of mean ``block``, wrapping round the end) or the
    circular block bootstrap (fixed length ``block``). The interval is the percentile interval
    of the differences. Identical series give a difference of exactly 0 and the interval
    (0, 0).

    Parameters
    ----------
    returns_a, returns_b : array_like
        Per-period returns of variants A and B on the same periods (same length).
    n_boot : int, default 2000
        Number of bootstrap draws.
    block : int, optional
        (Mean) block length in periods; None uses round(T ** (1/3)), 1 is the iid bootstrap.
    seed : int, default 0
        Seed of ``numpy.random.default_rng``.
    alpha : float, default 0.05
        The interval covers 1 − alpha.
    method : {"stationary", "circular"}, default "stationary"
        Block scheme.
    periods_per_year : float, default 252
        Annualisation factor of the Sharpe ratios (1 for per-period).

    Returns
    -------
    BootstrapResult
        Point difference, interval, standard error and draws. NaN interval if every draw
        was flat.

    Raises
    ------
    DataError
        If the series differ in length, have fewer than two values or hold NaN or inf.
    ConfigError
        If n_boot < 1, block < 1, alpha not in (0, 1), or method or periods_per_year invalid.

    Examples
    --------
    >>> a = np.random.default_rng(1).normal(0.0005, 0.01, 500)
    >>> result = bootstrap_sharpe_difference(a, a, n_boot=200)
    >>> result.difference, result.ci
    (0.0, (0.0, 0.0))
    """
    a, b = _paired(returns_a, returns_b)
    _check_periods_per_year(periods_per_year)
    length = _check_bootstrap(a.size, n_boot, block, alpha, method)
    scale = math.sqrt(periods_per_year)
    difference = (_per_period_sharpe(b) - _per_period_sharpe(a)) * scale
    rng = np.random.default_rng(seed)
    chunks = []
    for start in range(0, n_boot, _BOOTSTRAP_CHUNK):
        size = min(_BOOTSTRAP_CHUNK, n_boot - start)
        if method == "stationary":
            index = _stationary_indices(rng, size, a.size, length)
        else:
            index = _circular_indices(rng, size, a.size, length)
        chunks.append((_rowwise_sharpe(b[index]) - _rowwise_sharpe(a[index])) * scale)
    draws = np.concatenate(chunks)
    draws = draws[np.isfinite(draws)]
    if draws.size == 0:
        ci, error = (math.nan, math.nan), math.nan
    else:
        low, high = np.quantile(draws, [alpha / 2, 1 - alpha / 2])
        ci = (float(low), float(high))
        error = float(draws.std(ddof=1)) if draws.size > 1 else math.nan
    return BootstrapResult(difference, ci, error, draws, length, method)


def _check_bootstrap(n: int, n_boot: int, block: int | None, alpha: float, method: str) -> int:
    if n_boot < 1:
        raise ConfigError(f"n_boot is {n_boot}: expected at least one bootstrap draw")
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha is {alpha}: expected a level between 0 and 1, e.g. 0.05")
    if method not in ("stationary", "circular"):
        raise ConfigError(f"method is {method!r}: expected 'stationary' or 'circular'")
    length = max(1, round(n ** (1 / 3))) if block is None else block
    if not 1 <= length <= n:
        raise ConfigError(f"block is {block}: expected a block length from 1 to {n} periods")
    return length


def _stationary_indices(rng: np.random.Generator, draws: int, n: int, block: int) -> IntArray:
    starts_block = rng.random((draws, n)) < 1.0 / block
    starts_block[:, 0] = True
    starts = rng.integers(0, n, size=(draws, n))
    columns = np.arange(n)
    last_start = np.maximum.accumulate(np.where(starts_block, columns, 0), axis=1)
    first = np.take_along_axis(starts, last_start, axis=1)
    return (first + columns - last_start) % n


def _circular_indices(rng: np.random.Generator, draws: int, n: int, block: int) -> IntArray:
    n_blocks = -(-n // block)
    starts = rng.integers(0, n, size=(draws, n_blocks))
    index = (starts[:, :, None] + np.arange(block)) % n
    return index.reshape(draws, -1)[:, :n]


@dataclass(frozen=True, slots=True)
class SharpeDifferenceTest:
    """Result of `sharpe_difference_test`.

    Attributes
    ----------
    z : float
        Test statistic; positive when B has the higher Sharpe ratio.
    p_value : float
        Two-sided p-value 2·Φ(−|z|).
    sharpe_a, sharpe_b : float
        Per-period Sharpe ratios of A and B.
    correlation : float
        Pearson correlation of the two return series.
    n_observations : int
        Number of paired periods T.
    """

    z: float
    p_value: float
    sharpe_a: float
    sharpe_b: float
    correlation: float
    n_observations: int


def sharpe_difference_test(
    returns_a: npt.ArrayLike, returns_b: npt.ArrayLike
) -> SharpeDifferenceTest:
    """Test equal Sharpe ratios: Jobson & Korkie (1981) with Memmel's (2003) correction.

    With per-period Sharpe ratios SR_a, SR_b, correlation ρ and T paired periods::

        θ = (2 − 2ρ + ½·(SR_a² + SR_b² − 2·SR_a·SR_b·ρ²)) / T
        z = (SR_b − SR_a) / sqrt(θ),   p = 2·Φ(−|z|)

    The test assumes iid normal returns (no autocorrelation); the bootstrap interval of
    `bootstrap_sharpe_difference` does not.

    Parameters
    ----------
    returns_a, returns_b : array_like
        Per-period returns of variants A and B on the same periods (same length, >= 3).

    Returns
    -------
    SharpeDifferenceTest
        z and p. When the Sharpe ratios agree to 1e-12 (relative), as for identical series
        or B a positive multiple of A, θ is 0 or rounding noise: z = 0 and p = 1.
        A flat series has no Sharpe ratio: z and p are NaN.

    Raises
    ------
    DataError
        If the series differ in length, have fewer than three values or hold NaN or inf.

    Examples
    --------
    >>> a = np.random.default_rng(2).normal(0.0005, 0.01, 500)
    >>> test = sharpe_difference_test(a, a)
    >>> test.z, test.p_value
    (0.0, 1.0)
    """
    a, b = _paired(returns_a, returns_b)
    if a.size < 3:
        raise DataError(f"returns have {a.size} values: expected at least three paired periods")
    sr_a, sr_b = _per_period_sharpe(a), _per_period_sharpe(b)
    if math.isnan(sr_a) or math.isnan(sr_b):
        return SharpeDifferenceTest(math.nan, math.nan, sr_a, sr_b, math.nan, int(a.size))
    rho = float(np.clip(np.corrcoef(a, b)[0, 1], -1.0, 1.0))
    difference = sr_b - sr_a
    if abs(difference) <= _SAME_SHARPE_TOLERANCE * max(1.0, abs(sr_a), abs(sr_b)):
        return SharpeDifferenceTest(0.0, 1.0, sr_a, sr_b, rho, int(a.size))
    theta = (2 - 2 * rho + 0.5 * (sr_a**2 + sr_b**2 - 2 * sr_a * sr_b * rho**2)) / a.size
    z = (
        difference / math.sqrt(max(theta, 0.0))
        if theta > 0
        else math.copysign(math.inf, difference)
    )
    p_value = 2.0 * _NORMAL.cdf(-abs(z))
    return SharpeDifferenceTest(float(z), p_value, sr_a, sr_b, rho, int(a.size))


def verdict(p_value: float, ci: tuple[float, float], alpha: float = 0.05) -> Verdict:
    """Return the printed verdict of an A/B test.

    Significant only when both tests agree: the p-value is below ``alpha`` *and* the
    (1 − alpha) interval of Sharpe(B) − Sharpe(A) excludes 0, on the side that names the
    winner. Anything else, including a NaN p-value or interval, is "no significant difference".

    Parameters
    ----------
    p_value : float
        Two-sided p-value, e.g. from `sharpe_difference_test`.
    ci : tuple of float
        (low, high) interval of Sharpe(B) − Sharpe(A), e.g. from `bootstrap_sharpe_difference`.
    alpha : float, default 0.05
        Significance level.

    Returns
    -------
    str
        "no significant difference", "B significantly better" or "B significantly worse".

    Raises
    ------
    ConfigError
        If alpha is not in (0, 1).

    Examples
    --------
    >>> verdict(0.003, (0.2, 0.9)), verdict(0.2, (-0.1, 0.5)), verdict(0.01, (-0.8, -0.1))
    ('B significantly better', 'no significant difference', 'B significantly worse')
    """
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha is {alpha}: expected a level between 0 and 1, e.g. 0.05")
    low, high = ci
    if p_value < alpha and low > 0:
        return "B significantly better"
    if p_value < alpha and high < 0:
        return "B significantly worse"
    return "no significant difference"


# -------------------------------------------------------------------- data-snooping warnings


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
    _check_periods_per_year(periods_per_year)
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


# ----------------------------------------------------------------------------- validation


def _returns(values: npt.ArrayLike, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise DataError(f"{name} has shape {array.shape}: expected one value per period")
    if not np.isfinite(array).all():
        first = int((~np.isfinite(array)).argmax())
        raise DataError(f"{name} has NaN or inf at position {first}: expected finite numbers")
    return array


def _paired(returns_a: npt.ArrayLike, returns_b: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    a, b = _returns(returns_a, "returns_a"), _returns(returns_b, "returns_b")
    if a.size != b.size:
        raise DataError(
            f"returns_a has {a.size} periods and returns_b {b.size}: expected both variants "
            "on the same periods"
        )
    if a.size < 2:
        raise DataError(f"returns have {a.size} values: expected at least two periods")
    return a, b


def _check_periods_per_year(periods_per_year: float) -> None:
    if not (math.isfinite(periods_per_year) and periods_per_year > 0):
        raise ConfigError(
            f"periods_per_year is {periods_per_year}: expected a positive number of bars per "
            "year (252 for equity sessions, 365 for crypto days)"
        )


def _check_n_trials(n_trials: int) -> None:
    if n_trials < 1:
        raise ConfigError(f"n_trials is {n_trials}: expected at least one trial")
