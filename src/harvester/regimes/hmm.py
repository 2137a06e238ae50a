"""Batched Gaussian HMM regimes: one model per symbol, fitted at once, read causally.

:func:`fit_batched` trains an independent Gaussian HMM (diagonal covariance by default, full
covariance with ``covariance_type="full"``) for every symbol of a (symbols × time × features)
array in one compiled call (Baum-Welch EM, scaled forward-backward). States are then sorted
by the variance of one feature (by default the first, a return), so state 0 is the calmest
for every symbol and every refit; with three states they are named :data:`REGIME_NAMES`
(calm, volatile, panic).

For trading use :func:`filter_probabilities` — ``p(state_t | x_1..t)`` from the forward pass
only, so the value at ``t`` never depends on a later observation. Smoothed posteriors (which
condition on the whole sequence, like hmmlearn's ``predict``/``predict_proba``) are not offered.

Restarts and deadlines: ``n_init`` runs EM from several starts (:func:`restart_params`) and
keeps each symbol's best; ``should_stop`` is polled between chunks of EM iterations and
stops a slow fit with :class:`FitInterrupted` (chunking leaves the result bitwise unchanged).

Missing data: a row with any NaN feature is treated as unobserved — its emission term is
uninformative (the same for every state), the state probabilities just propagate through the
transition matrix, and it adds nothing to the mean and (co)variance estimates.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(0.0, 0.01, size=(2, 300, 1)) * np.repeat([1.0, 3.0], 150)[None, :, None]
>>> model = fit_batched(x, n_states=2, n_iter=50, seed=0)
>>> filter_probabilities(model, x).shape
(2, 300, 2)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from harvester.core.errors import DataError, TransientError
from harvester.core.types import BoolArray, FloatArray, IntArray
from harvester.regimes import _kernels

__all__ = [
    "DEFAULT_PRIORS",
    "REGIME_NAMES",
    "BatchedHMM",
    "CovarianceType",
    "FitInterrupted",
    "InitialParams",
    "filter_probabilities",
    "fit_batched",
    "initial_params",
    "log_likelihood",
    "most_likely_filtered_state",
    "restart_params",
]

CovarianceType = Literal["diag", "full"]
_COVARIANCE_TYPES: tuple[str, str] = ("diag", "full")
REGIME_NAMES: tuple[str, str, str] = ("calm", "volatile", "panic")
# Harvester II's initial state distribution over (calm, volatile, panic).
DEFAULT_PRIORS: tuple[float, float, float] = (0.3, 0.4, 0.3)
# Initial probability of staying in a state for one more bar.
_INITIAL_PERSISTENCE = 0.9
# Relative size of the seeded jitter on the initial means (in standard deviations).
_MEAN_JITTER = 0.1
# Bars in the centred window whose mean |deviation| assigns a row to an initial state.
_INIT_WINDOW = 11
# Restarts: jitter on the means (in standard deviations), log-scale jitter on the variances,
# and the weight of a random (Dirichlet) row mixed into each transition row.
_RESTART_MEAN_JITTER = 0.5
_RESTART_LOG_VARIANCE_JITTER = 0.5
_RESTART_TRANSITION_MIX = 0.25
# EM iterations between two ``should_stop`` checks by default.
_CHECK_EVERY = 10


class FitInterrupted(TransientError):
    """:func:`fit_batched` was stopped between two chunks of EM iterations by ``should_stop``."""


class InitialParams(NamedTuple):
    """Starting parameters for EM, per symbol or shared (the symbol axis may be left out).

    Attributes
    ----------
    startprob : FloatArray
        (symbols, K) or (K,) start probabilities.
    transmat : FloatArray
        (symbols, K, K) or (K, K) row-stochastic transition matrices.
    means : FloatArray
        (symbols, K, features) or (K, features) emission means.
    variances : FloatArray
        Diagonal covariance: (symbols, K, features) or (K, features) variances. Full
        covariance: (symbols, K, features, features) or (K, features, features) symmetric
        positive-definite covariance matrices.
    """

    startprob: FloatArray
    transmat: FloatArray
    means: FloatArray
    variances: FloatArray


@dataclass(frozen=True, slots=True, eq=False)
class BatchedHMM:
    """One fitted Gaussian HMM per symbol, states in canonical (volatility) order.

    Attributes
    ----------
    startprob, transmat, means, variances : FloatArray
        Per-symbol parameters, shapes (S, K), (S, K, K), (S, K, D) and (S, K, D) for diagonal
        covariance or (S, K, D, D) covariance matrices for full covariance.
    log_likelihood : FloatArray
        (S,) log-likelihood of the training data under the fitted parameters.
    iterations : IntArray
        (S,) EM iterations run per symbol.
    converged : BoolArray
        (S,) whether EM stopped on ``tol`` before ``n_iter``.
    """

    startprob: FloatArray
    transmat: FloatArray
    means: FloatArray
    variances: FloatArray
    log_likelihood: FloatArray
    iterations: IntArray
    converged: BoolArray

    @property
    def n_states(self) -> int:
        """Number of hidden states K."""
        return int(self.startprob.shape[1])

    @property
    def covariance_type(self) -> CovarianceType:
        """``"full"`` when ``variances`` holds (S, K, D, D) matrices, else ``"diag"``."""
        return "full" if self.variances.ndim == 4 else "diag"

    @property
    def state_names(self) -> tuple[str, ...]:
        """:data:`REGIME_NAMES` for three states, ``state0``, ``state1``, ... otherwise."""
        if self.n_states == len(REGIME_NAMES):
            return REGIME_NAMES
        return tuple(f"state{k}" for k in range(self.n_states))

    @property
    def params(self) -> InitialParams:
        """The fitted parameters, e.g. to warm-start a refit."""
        return InitialParams(self.startprob, self.transmat, self.means, self.variances)


def _check_observations(observations: FloatArray) -> FloatArray:
    x = np.ascontiguousarray(observations, dtype=np.float64)
    if x.ndim != 3:
        raise DataError(
            f"HMM observations: expected a (symbols, time, features) array, got shape {x.shape}"
        )
    if np.isinf(x).any():
        raise DataError("HMM observations: infinite values found; use NaN for missing rows")
    return x


def _default_priors(n_states: int) -> FloatArray:
    if n_states == len(DEFAULT_PRIORS):
        return np.asarray(DEFAULT_PRIORS, dtype=np.float64)
    return np.full(n_states, 1.0 / n_states)


def _local_magnitude(deviation: FloatArray, observed: BoolArray) -> FloatArray:
    """Centred moving average of |deviation| over observed rows (regimes persist)."""
    half = _INIT_WINDOW // 2
    padded = np.pad(np.where(observed, deviation, 0.0), ((0, 0), (half + 1, half)))
    counts = np.pad(observed.astype(np.float64), ((0, 0), (half + 1, half)))
    sums, sizes = np.cumsum(padded, axis=1), np.cumsum(counts, axis=1)
    window = sums[:, _INIT_WINDOW:] - sums[:, :-_INIT_WINDOW]
    sizes = sizes[:, _INIT_WINDOW:] - sizes[:, :-_INIT_WINDOW]
    return np.where(observed, window / np.maximum(sizes, 1.0), np.inf)


def _volatility_bins(x: FloatArray, n_states: int, order_feature: int) -> FloatArray:
    """One-hot (S, T, K) weights: observed rows binned by quantile of local |deviation|."""
    observed = ~np.isnan(x.sum(axis=2))
    lead = x[:, :, order_feature]
    n_observed = np.maximum(observed.sum(axis=1, keepdims=True), 1)
    centre = np.where(observed, lead, 0.0).sum(axis=1, keepdims=True) / n_observed
    magnitude = _local_magnitude(np.abs(lead - centre), observed)
    ranks = np.argsort(np.argsort(magnitude, axis=1, kind="stable"), axis=1, kind="stable")
    # Calm is the most common state and panic the rarest: bin shares halve state by state.
    shares = 0.5 ** np.arange(n_states)
    edges = np.cumsum(shares / shares.sum())[:-1]
    bins = np.searchsorted(edges, (ranks + 0.5) / n_observed, side="right")
    one_hot: BoolArray = bins[:, :, None] == np.arange(n_states)[None, None, :]
    weights: FloatArray = (one_hot & observed[:, :, None]).astype(np.float64)
    return weights


def _check_covariance_type(covariance_type: str) -> None:
    if covariance_type not in _COVARIANCE_TYPES:
        raise DataError(
            f"HMM covariance_type: expected one of {_COVARIANCE_TYPES}, got {covariance_type!r}"
        )


def initial_params(
    observations: FloatArray,
    *,
    n_states: int = 3,
    seed: int = 0,
    priors: tuple[float, ...] | None = None,
    order_feature: int = 0,
    min_variance: float = 1e-10,
    covariance_type: CovarianceType = "diag",
) -> InitialParams:
    """Data-driven starting parameters for every symbol (the default of :func:`fit_batched`).

    Each symbol's observed rows are ranked by the mean absolute deviation of ``order_feature``
    from its mean over a centred 11-bar window (the training window is known in full, and
    regimes persist) and split into ``n_states`` bins whose shares halve from state to state
    (4/7, 2/7, 1/7 for three: calm is common, panic rare); the bins' means and variances
    start the states, with a seeded jitter of 0.1 standard deviations on the means. The
    transition matrix starts at 0.9 persistence and the start probabilities at ``priors``.
    With ``covariance_type="full"`` each bin's weighted covariance matrix, plus
    ``min_variance`` on its diagonal, starts the state (the means and their jitter are the
    same as for diagonal covariance).
    """
    _check_covariance_type(covariance_type)
    x = _check_observations(observations)
    weights = _volatility_bins(x, n_states, order_feature)
    values = np.nan_to_num(x)
    mass = np.maximum(weights.sum(axis=1)[:, :, None], 1.0)
    means = np.einsum("stk,std->skd", weights, values) / mass
    second = np.einsum("stk,std->skd", weights, values**2) / mass
    variances = np.maximum(second - means**2, min_variance)
    rng = np.random.default_rng(seed)
    if covariance_type == "full":
        centred = values[:, :, None, :] - means[:, None, :, :]
        scatter = np.einsum("stk,stkd,stke->skde", weights, centred, centred)
        covariances = scatter / mass[:, :, :, None] + min_variance * np.eye(x.shape[2])
    means = means + _MEAN_JITTER * np.sqrt(variances) * rng.standard_normal(means.shape)
    if covariance_type == "full":
        variances = covariances
    start = np.asarray(priors, dtype=np.float64) if priors else _default_priors(n_states)
    stay = _INITIAL_PERSISTENCE if n_states > 1 else 1.0
    leave = (1.0 - stay) / max(n_states - 1, 1)
    transmat = np.full((n_states, n_states), leave) + (stay - leave) * np.eye(n_states)
    n_symbols = x.shape[0]
    return InitialParams(
        np.tile(start / start.sum(), (n_symbols, 1)),
        np.tile(transmat, (n_symbols, 1, 1)),
        means,
        variances,
    )


def _broadcast(
    init: InitialParams, n_symbols: int, n_features: int, covariance_type: str
) -> InitialParams:
    startprob = np.asarray(init.startprob, dtype=np.float64)
    n_states = startprob.shape[-1]
    spread = (n_features, n_features) if covariance_type == "full" else (n_features,)
    shapes = ((n_states,), (n_states, n_states), (n_states, n_features), (n_states, *spread))
    arrays = []
    for name, value, shape in zip(InitialParams._fields, init, shapes, strict=True):
        array = np.asarray(value, dtype=np.float64)
        if array.shape not in (shape, (n_symbols, *shape)):
            raise DataError(
                f"HMM initial {name}: expected shape {shape} or {(n_symbols, *shape)}, "
                f"got {array.shape}"
            )
        arrays.append(np.ascontiguousarray(np.broadcast_to(array, (n_symbols, *shape))).copy())
    if covariance_type == "full":
        covariances = arrays[3]
        if not np.allclose(covariances, covariances.swapaxes(-1, -2)):
            raise DataError("HMM initial variances: covariance matrices must be symmetric")
        try:
            np.linalg.cholesky(covariances)
        except np.linalg.LinAlgError as error:
            raise DataError(
                "HMM initial variances: covariance matrices must be positive definite"
            ) from error
    return InitialParams(*arrays)


def _canonical_order(params: InitialParams, order_feature: int) -> InitialParams:
    """Sort each symbol's states by ascending variance of ``order_feature``."""
    full = params.variances.ndim == 4
    key = params.variances[:, :, order_feature]
    if full:
        key = key[:, :, order_feature]
    order = np.argsort(key, axis=1, kind="stable")
    spread_order = order[:, :, None, None] if full else order[:, :, None]
    rows_sorted = np.take_along_axis(params.transmat, order[:, :, None], axis=1)
    transmat = np.take_along_axis(rows_sorted, order[:, None, :], axis=2)
    return InitialParams(
        np.take_along_axis(params.startprob, order, axis=1),
        np.ascontiguousarray(transmat),
        np.take_along_axis(params.means, order[:, :, None], axis=1),
        np.take_along_axis(params.variances, spread_order, axis=1),
    )


def restart_params(init: InitialParams, n_init: int, *, seed: int = 0) -> list[InitialParams]:
    """``n_init`` EM starting points: ``init`` itself, then seeded perturbations of it.

    ``init`` holds per-symbol arrays (the symbol axis included, as :func:`initial_params`
    returns). Restart ``r`` (1, 2, ...) draws from ``default_rng((seed, r))``: the means move
    by 0.5 standard deviations, the variances (whole covariance matrices for full
    covariance) scale by ``exp(0.5 z)`` and every transition row is mixed 3:1 with a random
    Dirichlet row. The same ``seed`` gives the same restarts.
    """
    if n_init < 1:
        raise DataError(f"HMM n_init: expected at least 1 start, got {n_init}")
    starts = [InitialParams(*(np.asarray(p, dtype=np.float64) for p in init))]
    full = starts[0].variances.ndim == 4
    for restart in range(1, n_init):
        rng = np.random.default_rng((seed, restart))
        startprob, transmat, means, variances = starts[0]
        spread = np.diagonal(variances, axis1=2, axis2=3) if full else variances
        noise = rng.standard_normal(means.shape)
        shifted = means + _RESTART_MEAN_JITTER * np.sqrt(spread) * noise
        factor_shape = variances.shape[:2] if full else variances.shape
        factor = np.exp(_RESTART_LOG_VARIANCE_JITTER * rng.standard_normal(factor_shape))
        scaled = variances * (factor[:, :, None, None] if full else factor)
        rows = rng.dirichlet(np.ones(transmat.shape[-1]), size=transmat.shape[:-1])
        mixed = (1.0 - _RESTART_TRANSITION_MIX) * transmat + _RESTART_TRANSITION_MIX * rows
        starts.append(InitialParams(startprob.copy(), mixed, shifted, scaled))
    return starts


def fit_batched(
    observations: FloatArray,
    *,
    n_states: int = 3,
    n_iter: int = 100,
    tol: float = 1e-4,
    init: InitialParams | None = None,
    seed: int = 0,
    priors: tuple[float, ...] | None = None,
    order_feature: int = 0,
    min_variance: float = 1e-10,
    n_threads: int = 1,
    covariance_type: CovarianceType = "diag",
    n_init: int = 1,
    should_stop: Callable[[], bool] | None = None,
    check_every: int = _CHECK_EVERY,
) -> BatchedHMM:
    """Fit one Gaussian HMM per symbol by Baum-Welch EM, all symbols in one call.

    Parameters
    ----------
    observations
        (symbols, time, features) float array; a row with any NaN feature is missing.
    n_states
        Number of hidden states K (3: calm, volatile, panic).
    n_iter, tol
        At most ``n_iter`` EM iterations per symbol; a symbol stops early once its
        log-likelihood improves by less than ``tol`` in one iteration (hmmlearn's rule).
    init
        Starting parameters (per symbol or shared); by default :func:`initial_params`.
    seed
        Seed of the jitter in the default initialisation and of the restarts; the fit itself
        is deterministic.
    priors
        Initial start probabilities (Harvester II: 0.3 / 0.4 / 0.3); only a starting value,
        EM re-estimates them (no Dirichlet prior). Ignored when ``init`` is given.
    order_feature
        Feature whose per-state variance orders the states (0: a return).
    min_variance
        Diagonal covariance: floor on every variance after each M-step (absolute, in the
        feature's units squared). Full covariance: ridge added to the diagonal of every
        covariance matrix after each M-step (keeps it positive definite).
    n_threads
        Threads sharing the symbols (the compiled kernel releases the GIL); results do not
        depend on it.
    covariance_type
        ``"diag"`` (default): one variance per state and feature. ``"full"``: one covariance
        matrix per state, ``init.variances`` then has shape (K, D, D) or (S, K, D, D).
    n_init
        EM runs per symbol, from the starts of :func:`restart_params` (the first is the
        initialisation above); each symbol keeps the run with the highest log-likelihood
        (the earliest on a tie, so never worse than ``n_init=1``).
    should_stop
        Called between chunks of ``check_every`` EM iterations (not after the last); when
        it returns True the fit raises :class:`FitInterrupted`. Use it for a deadline.
        Chunking does not change the result: it is bitwise that of one uninterrupted run.
    check_every
        EM iterations per chunk when ``should_stop`` is given.

    Returns
    -------
    BatchedHMM
        Parameters with states sorted by ascending variance of ``order_feature``.

    Raises
    ------
    FitInterrupted
        ``should_stop`` returned True before EM finished.
    """
    _check_covariance_type(covariance_type)
    if check_every < 1:
        raise DataError(f"HMM check_every: expected at least 1 iteration, got {check_every}")
    x = _check_observations(observations)
    if init is None:
        init = initial_params(
            x,
            n_states=n_states,
            seed=seed,
            priors=priors,
            order_feature=order_feature,
            min_variance=min_variance,
            covariance_type=covariance_type,
        )
    n_symbols = x.shape[0]
    start = _broadcast(init, n_symbols, x.shape[2], covariance_type)
    starts = restart_params(start, n_init, seed=seed)
    if n_init > 1:
        start = InitialParams(*(np.concatenate(parts) for parts in zip(*starts, strict=True)))
        x = np.concatenate([x] * n_init)
    settings = (int(n_iter), float(tol), float(min_variance))
    stop = (should_stop, check_every if should_stop is not None else max(int(n_iter), 1))
    result = _run_em(x, start, settings, n_threads=n_threads, stop=stop)
    params, result = _best_runs(start, result, n_init)
    fitted = _canonical_order(params, order_feature)
    return BatchedHMM(*fitted, *result)


_Result = tuple[FloatArray, IntArray, BoolArray]


def _best_runs(
    params: InitialParams, result: _Result, n_init: int
) -> tuple[InitialParams, _Result]:
    """Per symbol, the run (of ``n_init`` stacked along the symbol axis) of highest likelihood."""
    if n_init == 1:
        return params, result
    n_symbols = result[0].shape[0] // n_init
    log_likelihood = result[0].reshape(n_init, n_symbols)
    best = np.argmax(np.where(np.isnan(log_likelihood), -np.inf, log_likelihood), axis=0)
    symbols = np.arange(n_symbols)

    def pick(array: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(
            array.reshape(n_init, n_symbols, *array.shape[1:])[best, symbols]
        )

    chosen = InitialParams(*(pick(p) for p in params))
    return chosen, (pick(result[0]), pick(result[1]), pick(result[2]))


def _run_em(
    x: FloatArray,
    start: InitialParams,
    settings: tuple[int, float, float],
    *,
    n_threads: int,
    stop: tuple[Callable[[], bool] | None, int],
) -> _Result:
    """EM in place on ``start``, chunks of symbols on threads, chunks of iterations in turn.

    The kernel releases the GIL, so threads share the symbols. Between two chunks of
    ``stop[1]`` iterations ``stop[0]`` (if any) may interrupt the fit.
    """
    should_stop, steps = stop
    n_iter = settings[0]
    n_symbols = x.shape[0]
    progress: tuple[FloatArray, FloatArray, IntArray, BoolArray] = (
        np.zeros(n_symbols),
        np.full(n_symbols, -np.inf),
        np.zeros(n_symbols, dtype=np.int64),
        np.zeros(n_symbols, dtype=np.bool_),
    )
    bounds = np.linspace(0, n_symbols, max(1, min(n_threads, n_symbols)) + 1).astype(int)
    chunks = list(itertools.pairwise(bounds.tolist()))
    kernel = _kernels.fit_steps_full_nb if start.variances.ndim == 4 else _kernels.fit_steps_nb

    def run(chunk: tuple[int, int]) -> None:
        low, high = chunk
        startprob, transmat, means, variances = (p[low:high] for p in start)
        final, previous, iterations, converged = progress
        part = (final[low:high], previous[low:high], iterations[low:high], converged[low:high])
        kernel(x[low:high], startprob, transmat, means, variances, (*settings, steps), part)

    n_calls = max(1, -(-n_iter // steps))
    with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
        for call in range(n_calls):
            if len(chunks) == 1:
                run(chunks[0])
            else:
                list(pool.map(run, chunks))
            done = progress[3] | (progress[2] >= n_iter) | (x.shape[1] == 0)
            if call + 1 < n_calls and not done.all() and should_stop and should_stop():
                raise FitInterrupted(
                    f"HMM fit stopped after {int(progress[2].max())} of {n_iter} EM "
                    "iterations: should_stop returned True"
                )
            if done.all():
                break
    return progress[0], progress[2], progress[3]


def _model_arrays(model: BatchedHMM, observations: FloatArray) -> FloatArray:
    x = _check_observations(observations)
    if x.shape[0] != model.startprob.shape[0] or x.shape[2] != model.means.shape[2]:
        raise DataError(
            f"HMM observations: shape {x.shape} does not match a model of "
            f"{model.startprob.shape[0]} symbols and {model.means.shape[2]} features"
        )
    return x


def filter_probabilities(model: BatchedHMM, observations: FloatArray) -> FloatArray:
    """Causal state probabilities ``p(state_t | x_1..t)``, shape (symbols, time, K).

    Computed by the forward recursion alone, so the row at ``t`` is the same whether or not
    the observations after ``t`` exist. Fit ``model`` on a training window only and filter
    the period you trade; never use smoothed (forward-backward) posteriors for trading.
    """
    x = _model_arrays(model, observations)
    kernel = _kernels.filter_full_nb if model.covariance_type == "full" else _kernels.filter_nb
    return kernel(x, *model.params)[0]


def most_likely_filtered_state(model: BatchedHMM, observations: FloatArray) -> IntArray:
    """Index (0 = calm, ...) of the most probable filtered state, shape (symbols, time)."""
    states: IntArray = np.argmax(filter_probabilities(model, observations), axis=2)
    return states.astype(np.int64)


def log_likelihood(model: BatchedHMM, observations: FloatArray) -> FloatArray:
    """Log-likelihood of each symbol's observations under its model, shape (symbols,)."""
    x = _model_arrays(model, observations)
    if model.covariance_type == "full":
        return _kernels.log_likelihood_full_nb(x, *model.params)
    return _kernels.log_likelihood_nb(x, *model.params)
