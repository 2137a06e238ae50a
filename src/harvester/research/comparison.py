"""Is variant B better than A? A paired bootstrap of the Sharpe difference, the
Jobson–Korkie test with Memmel's correction, and the verdict that reads both; see
:mod:`harvester.research.statistics`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from harvester.core.errors import ConfigError, DataError
from harvester.core.types import FloatArray, IntArray
from harvester.research.sharpe import (
    NORMAL,
    check_periods_per_year,
    paired_returns,
    per_period_sharpe,
    rowwise_sharpe,
)

__all__ = [
    "BootstrapResult",
    "SharpeDifferenceTest",
    "Verdict",
    "bootstrap_sharpe_difference",
    "sharpe_difference_test",
    "verdict",
]

_SAME_SHARPE_TOLERANCE = 1e-12  # Relative: Sharpe differences below this are rounding noise
_BOOTSTRAP_CHUNK = 256  # Bootstrap draws per vectorised batch: bounds memory at 256 × n

Verdict = Literal["no significant difference", "B significantly better", "B significantly worse"]


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
    a, b = paired_returns(returns_a, returns_b)
    check_periods_per_year(periods_per_year)
    length = _check_bootstrap(a.size, n_boot, block, alpha, method)
    scale = math.sqrt(periods_per_year)
    difference = (per_period_sharpe(b) - per_period_sharpe(a)) * scale
    rng = np.random.default_rng(seed)
    chunks = []
    for start in range(0, n_boot, _BOOTSTRAP_CHUNK):
        size = min(_BOOTSTRAP_CHUNK, n_boot - start)
        if method == "stationary":
            index = _stationary_indices(rng, size, a.size, length)
        else:
            index = _circular_indices(rng, size, a.size, length)
        chunks.append((rowwise_sharpe(b[index]) - rowwise_sharpe(a[index])) * scale)
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
    a, b = paired_returns(returns_a, returns_b)
    if a.size < 3:
        raise DataError(f"returns have {a.size} values: expected at least three paired periods")
    sr_a, sr_b = per_period_sharpe(a), per_period_sharpe(b)
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
    p_value = 2.0 * NORMAL.cdf(-abs(z))
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
