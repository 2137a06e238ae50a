"""The probability of backtest overfitting by combinatorially symmetric cross-validation
(Bailey, Borwein, López de Prado and Zhu, 2016); see :mod:`harvester.research.statistics`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt

from harvester.core.errors import ConfigError, DataError
from harvester.core.types import BoolArray, FloatArray, IntArray
from harvester.research.sharpe import FLAT_RETURN_RANGE

__all__ = ["PBOResult", "pbo_cscv"]

Metric = Callable[[FloatArray], FloatArray]
_CSCV_CELLS = 4_000_000  # CSCV batch size: combinations × blocks × trials per batch (32 MB)


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
        flat = (high - low) < FLAT_RETURN_RANGE
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
