"""Numba kernels of the batched Gaussian HMM, diagonal or full covariance (twin: ``_reference.py``).

Shapes: observations ``x`` are (symbols, time, features); per symbol the parameters are
``startprob`` (K,), ``transmat`` (K, K), ``means`` and ``variances`` (K, features). Every
kernel loops over symbols inside compiled code, so one call trains or filters a universe.
The ``*_full_nb`` kernels take full covariance matrices (K, features, features) instead of
variances and share the forward, backward and transition kernels with the diagonal ones.

The forward-backward pass is the *scaled* one (Rabiner): emission densities are divided by
their per-bar maximum before exponentiation and the forward variables are normalised every
bar, so nothing underflows and no log-sum-exp is needed; the log-likelihood is the sum of
the log scale factors plus the per-bar maxima. A row with any NaN feature is missing: its
emission term is 1 (log 0) for every state, and it adds nothing to the mean and variance
statistics. The backward pass exists only for EM; nothing public returns smoothed posteriors.
"""

from __future__ import annotations

import math

import numpy as np

from harvester.core.jit import njit
from harvester.core.types import BoolArray, FloatArray, IntArray

__all__ = [
    "filter_full_nb",
    "filter_nb",
    "fit_full_nb",
    "fit_nb",
    "fit_steps_full_nb",
    "fit_steps_nb",
    "log_likelihood_full_nb",
    "log_likelihood_nb",
]

_LOG_2PI = math.log(2.0 * math.pi)
# hmmlearn's floor on a state's posterior mass in the variance denominator.
_MIN_DENOMINATOR = 1e-5
# Below this posterior mass a state keeps its previous mean and variance.
_DEAD_STATE = 1e-300
# A running product of scale factors (each in (0, K]) is logged once it falls below this.
_FLUSH = 1e-200


@njit
def _observed_nb(x: FloatArray) -> BoolArray:
    """True for each row whose features are all present (not NaN)."""
    observed = np.ones(x.shape[0], dtype=np.bool_)
    for t in range(x.shape[0]):
        for d in range(x.shape[1]):
            if math.isnan(x[t, d]):
                observed[t] = False
    return observed


@njit
def _emissions_nb(
    x: FloatArray,
    observed: BoolArray,
    means: FloatArray,
    variances: FloatArray,
    b: FloatArray,
    shift: FloatArray,
) -> None:
    """Scaled emission densities ``b[t, k] = exp(log N(x_t) - shift[t])``; missing rows give 1."""
    n_times, n_features = x.shape
    n_states = means.shape[0]
    constant = np.zeros(n_states)
    half_precision = 0.5 / variances
    for k in range(n_states):
        for d in range(n_features):
            constant[k] -= 0.5 * (_LOG_2PI + math.log(variances[k, d]))
    log_b = np.empty(n_states)
    for t in range(n_times):
        if not observed[t]:
            b[t, :] = 1.0
            shift[t] = 0.0
            continue
        top = -np.inf
        for k in range(n_states):
            total = constant[k]
            for d in range(n_features):
                diff = x[t, d] - means[k, d]
                total -= diff * diff * half_precision[k, d]
            log_b[k] = total
            top = max(top, total)
        for k in range(n_states):
            b[t, k] = math.exp(log_b[k] - top)
        shift[t] = top


@njit
def _forward_nb(
    b: FloatArray,
    shift: FloatArray,
    startprob: FloatArray,
    transmat: FloatArray,
    alpha: FloatArray,
    scale: FloatArray,
) -> float:
    """Normalised forward variables ``alpha[t] = p(state_t | x_1..t)``; returns log-likelihood."""
    n_times, n_states = b.shape
    # Scale factors are multiplied up and logged only when the product nears underflow.
    log_likelihood, product = 0.0, 1.0
    for t in range(n_times):
        total = 0.0
        for j in range(n_states):
            if t == 0:
                prior = startprob[j]
            else:
                prior = 0.0
                for i in range(n_states):
                    prior += alpha[t - 1, i] * transmat[i, j]
            alpha[t, j] = prior * b[t, j]
            total += alpha[t, j]
        inverse = 1.0 / total
        for j in range(n_states):
            alpha[t, j] *= inverse
        scale[t] = total
        log_likelihood += shift[t]
        product *= total
        if product < _FLUSH:
            log_likelihood += math.log(product)
            product = 1.0
    return log_likelihood + math.log(product)


@njit
def _backward_nb(b: FloatArray, transmat: FloatArray, scale: FloatArray, beta: FloatArray) -> None:
    """Scaled backward variables (private: used for the EM statistics only)."""
    n_times, n_states = b.shape
    beta[n_times - 1, :] = 1.0
    for t in range(n_times - 2, -1, -1):
        inverse = 1.0 / scale[t + 1]
        for i in range(n_states):
            total = 0.0
            for j in range(n_states):
                total += transmat[i, j] * b[t + 1, j] * beta[t + 1, j]
            beta[t, i] = total * inverse


@njit
def _transitions_nb(
    b: FloatArray,
    transmat: FloatArray,
    alpha: FloatArray,
    beta: FloatArray,
    scale: FloatArray,
    trans: FloatArray,
) -> None:
    """Expected transition counts ``trans[i, j] = sum_t p(s_t = i, s_t+1 = j | x)``."""
    n_times, n_states = b.shape
    trans[:, :] = 0.0
    weight = np.empty(n_states)
    for t in range(n_times - 1):
        for j in range(n_states):
            weight[j] = b[t + 1, j] * beta[t + 1, j] / scale[t + 1]
        for i in range(n_states):
            for j in range(n_states):
                trans[i, j] += alpha[t, i] * transmat[i, j] * weight[j]


@njit
def _moments_nb(
    x: FloatArray, observed: BoolArray, alpha: FloatArray, beta: FloatArray, moments: FloatArray
) -> None:
    """Posterior-weighted moments (3, K, D) over observed rows: mass, sum x, sum x²."""
    n_times, n_features = x.shape
    moments[:, :, :] = 0.0
    for t in range(n_times):
        if not observed[t]:
            continue
        for i in range(alpha.shape[1]):
            gamma = alpha[t, i] * beta[t, i]
            for d in range(n_features):
                moments[0, i, d] += gamma
                moments[1, i, d] += gamma * x[t, d]
                moments[2, i, d] += gamma * x[t, d] * x[t, d]


@njit
def _maximise_nb(
    alpha: FloatArray,
    beta: FloatArray,
    trans: FloatArray,
    moments: FloatArray,
    params: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    min_variance: float,
) -> None:
    """M-step in place, as hmmlearn's (no priors): zero rows and dead states keep old values."""
    startprob, transmat, means, variances = params
    n_states, n_features = means.shape
    for i in range(n_states):
        startprob[i] = alpha[0, i] * beta[0, i]
        row = 0.0
        for j in range(n_states):
            row += trans[i, j]
        if row > 0.0:
            for j in range(n_states):
                transmat[i, j] = trans[i, j] / row
        for d in range(n_features):
            mass = moments[0, i, d]
            if mass <= _DEAD_STATE:
                continue
            mean = moments[1, i, d] / mass
            spread = moments[2, i, d] - 2.0 * mean * moments[1, i, d] + mean * mean * mass
            means[i, d] = mean
            variances[i, d] = max(spread / max(mass, _MIN_DENOMINATOR), min_variance)
    total = startprob.sum()
    for i in range(n_states):
        startprob[i] /= total


@njit
def _fit_one_nb(
    x: FloatArray,
    params: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    settings: tuple[int, float, float, int],
    progress: tuple[float, int, bool],
) -> tuple[float, float, int, bool]:
    """Up to ``steps`` more EM iterations for one symbol, in place.

    ``settings`` is (n_iter, tol, min_variance, steps); ``progress`` is (previous E-step
    log-likelihood, iterations run, converged) from an earlier call, or (-inf, 0, False).
    Returns (final log-likelihood, previous, iterations, converged).
    """
    startprob, transmat, means, variances = params
    n_iter, tol, min_variance, steps = settings
    previous, iterations, converged = progress
    stop = min(n_iter, iterations + steps)
    n_times, n_states = x.shape[0], means.shape[0]
    b = np.empty((n_times, n_states))
    shift = np.empty(n_times)
    alpha = np.empty((n_times, n_states))
    beta = np.empty((n_times, n_states))
    scale = np.empty(n_times)
    trans = np.empty((n_states, n_states))
    moments = np.empty((3, n_states, x.shape[1]))
    observed = _observed_nb(x)
    while iterations < stop and not converged and n_times > 0:
        _emissions_nb(x, observed, means, variances, b, shift)
        current = _forward_nb(b, shift, startprob, transmat, alpha, scale)
        _backward_nb(b, transmat, scale, beta)
        _transitions_nb(b, transmat, alpha, beta, scale, trans)
        _moments_nb(x, observed, alpha, beta, moments)
        _maximise_nb(alpha, beta, trans, moments, params, min_variance)
        iterations += 1
        converged = current - previous < tol
        previous = current
    _emissions_nb(x, observed, means, variances, b, shift)
    final = _forward_nb(b, shift, startprob, transmat, alpha, scale) if n_times > 0 else 0.0
    return final, previous, iterations, converged


@njit
def fit_nb(
    x: FloatArray,
    startprob: FloatArray,
    transmat: FloatArray,
    means: FloatArray,
    variances: FloatArray,
    n_iter: int,
    tol: float,
    min_variance: float,
) -> tuple[FloatArray, IntArray, BoolArray]:
    """Fit every symbol's HMM in place; returns final log-likelihoods, iterations, converged.

    As hmmlearn: each iteration is an E-step under the current parameters then an M-step;
    EM stops after ``n_iter`` iterations or once the E-step log-likelihood improves by less
    than ``tol``. The returned log-likelihood is that of the final (updated) parameters.
    """
    progress = _new_progress_nb(x.shape[0])
    settings = (n_iter, tol, min_variance, n_iter)
    fit_steps_nb(x, startprob, transmat, means, variances, settings, progress)
    return progress[0], progress[2], progress[3]


@njit
def _new_progress_nb(n_symbols: int) -> tuple[FloatArray, FloatArray, IntArray, BoolArray]:
    """Fresh EM progress: (log-likelihood, previous, iterations, converged) per symbol."""
    return (
        np.zeros(n_symbols),
        np.full(n_symbols, -np.inf),
        np.zeros(n_symbols, dtype=np.int64),
        np.zeros(n_symbols, dtype=np.bool_),
    )


@njit
def fit_steps_nb(
    x: FloatArray,
    startprob: FloatArray,
    transmat: FloatArray,
    means: FloatArray,
    variances: FloatArray,
    settings: tuple[int, float, float, int],
    progress: tuple[FloatArray, FloatArray, IntArray, BoolArray],
) -> None:
    """Resumable :func:`fit_nb`: at most ``steps`` more EM iterations per symbol, in place.

    ``settings`` is (n_iter, tol, min_variance, steps). ``progress`` holds, per symbol, the
    final log-likelihood, the last E-step log-likelihood, the iterations run and whether EM
    converged (start from 0, -inf, 0 and False); it is updated in place. Symbols already
    done are skipped. Calls of ``steps`` iterations each give bitwise the result of one call.
    """
    log_likelihood, previous, iterations, converged = progress
    n_iter = settings[0]
    for s in range(x.shape[0]):
        if iterations[s] > 0 and (converged[s] or iterations[s] >= n_iter):
            continue
        params = (startprob[s], transmat[s], means[s], variances[s])
        state = (previous[s], iterations[s], converged[s])
        result = _fit_one_nb(x[s], params, settings, state)
        log_likelihood[s], previous[s], iterations[s], converged[s] = result


@njit
def filter_nb(
    x: FloatArray,
    startprob: FloatArray,
    transmat: FloatArray,
    means: FloatArray,
    variances: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Filtered probabilities (symbols, time, K) and log-likelihoods (symbols,): forward only."""
    n_symbols, n_times, _ = x.shape
    n_states = means.shape[1]
    probabilities = np.empty((n_symbols, n_times, n_states))
    log_likelihood = np.zeros(n_symbols)
    b = np.empty((n_times, n_states))
    shift = np.empty(n_times)
    scale = np.empty(n_times)
    for s in range(n_symbols):
        _emissions_nb(x[s], _observed_nb(x[s]), means[s], variances[s], b, shift)
        log_likelihood[s] = _forward_nb(
            b, shift, startprob[s], transmat[s], probabilities[s], scale
        )
    return probabilities, log_likelihood


@njit
def log_likelihood_nb(
    x: FloatArray,
    startprob: FloatArray,
    transmat: FloatArray,
    means: FloatArray,
    variances: FloatArray,
) -> FloatArray:
    """Log-likelihood per symbol under fixed parameters (the forward pass only)."""
    return filter_nb(x, startprob, transmat, means, variances)[1]


# --- Full covariance -------------------------------------------------------------------------
# ``covariances`` are (K, D, D) per symbol; densities use the lower Cholesky factor L
# (Sigma = L L^T): log N = -0.5 (D log 2pi + 2 sum log L_dd + |L^-1 (x - mu)|^2).


@njit
def _cholesky_nb(matrix: FloatArray, factor: FloatArray) -> None:
    """Lower Cholesky factor of a symmetric positive-definite matrix into ``factor``.

    A non-positive pivot (a matrix that is not positive definite) gives NaN entries, hence a
    NaN log-likelihood, instead of an exception inside compiled code.
    """
    n = matrix.shape[0]
    factor[:, :] = 0.0
    for j in range(n):
        pivot = matrix[j, j]
        for m in range(j):
            pivot -= factor[j, m] * factor[j, m]
        root = math.sqrt(pivot) if pivot > 0.0 else math.nan
        factor[j, j] = root
        for i in range(j + 1, n):
            total = matrix[i, j]
            for m in range(j):
                total -= factor[i, m] * factor[j, m]
            factor[i, j] = total / root


@njit
def _emissions_full_nb(
    x: FloatArray,
    observed: BoolArray,
    means: FloatArray,
    covariances: FloatArray,
    b: FloatArray,
    shift: FloatArray,
) -> None:
    """As :func:`_emissions_nb` with full covariance matrices (via their Cholesky factors)."""
    n_times, n_features = x.shape
    n_states = means.shape[0]
    factors = np.empty((n_states, n_features, n_features))
    constant = np.empty(n_states)
    for k in range(n_states):
        _cholesky_nb(covariances[k], factors[k])
        constant[k] = -0.5 * n_features * _LOG_2PI
        for d in range(n_features):
            constant[k] -= math.log(factors[k, d, d])
    solved = np.empty(n_features)
    log_b = np.empty(n_states)
    for t in range(n_times):
        if not observed[t]:
            b[t, :] = 1.0
            shift[t] = 0.0
            continue
        top = -np.inf
        for k in range(n_states):
            total = constant[k]
            for d in range(n_features):
                value = x[t, d] - means[k, d]
                for m in range(d):
                    value -= factors[k, d, m] * solved[m]
                solved[d] = value / factors[k, d, d]
                total -= 0.5 * solved[d] * solved[d]
            log_b[k] = total
            top = max(top, total)
        for k in range(n_states):
            b[t, k] = math.exp(log_b[k] - top)
        shift[t] = top


@njit
def _moments_full_nb(
    x: FloatArray,
    observed: BoolArray,
    alpha: FloatArray,
    beta: FloatArray,
    mass: FloatArray,
    first: FloatArray,
    second: FloatArray,
) -> None:
    """Posterior-weighted mass (K,), sum x (K, D) and sum x x^T (K, D, D) over observed rows."""
    n_times, n_features = x.shape
    mass[:] = 0.0
    first[:, :] = 0.0
    second[:, :, :] = 0.0
    for t in range(n_times):
        if not observed[t]:
            continue
        for i in range(alpha.shape[1]):
            gamma = alpha[t, i] * beta[t, i]
            mass[i] += gamma
            for d in range(n_features):
                first[i, d] += gamma * x[t, d]
                for e in range(n_features):
                    second[i, d, e] += gamma * x[t, d] * x[t, e]


@njit
def _maximise_full_nb(
    alpha: FloatArray,
    beta: FloatArray,
    trans: FloatArray,
    moments: tuple[FloatArray, FloatArray, FloatArray],
    params: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    min_variance: float,
) -> None:
    """Full-covariance M-step in place: weighted outer products plus ``min_variance`` * I."""
    startprob, transmat, means, covariances = params
    mass, first, second = moments
    n_states, n_features = means.shape
    for i in range(n_states):
        startprob[i] = alpha[0, i] * beta[0, i]
        row = 0.0
        for j in range(n_states):
            row += trans[i, j]
        if row > 0.0:
            for j in range(n_states):
                transmat[i, j] = trans[i, j] / row
        if mass[i] <= _DEAD_STATE:
            continue
        for d in range(n_features):
            means[i, d] = first[i, d] / mass[i]
        denominator = max(mass[i], _MIN_DENOMINATOR)
        for d in range(n_features):
            for e in range(n_features):
                spread = (
                    second[i, d, e]
                    - first[i, d] * means[i, e]
                    - means[i, d] * first[i, e]
                    + means[i, d] * means[i, e] * mass[i]
                )
                covariances[i, d, e] = spread / denominator
            covariances[i, d, d] += min_variance
    total = startprob.sum()
    for i in range(n_states):
        startprob[i] /= total


@njit
def _fit_one_full_nb(
    x: FloatArray,
    params: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    settings: tuple[int, float, float, int],
    progress: tuple[float, int, bool],
) -> tuple[float, float, int, bool]:
    """Full-covariance EM for one symbol in place (as :func:`_fit_one_nb`)."""
    startprob, transmat, means, covariances = params
    n_iter, tol, min_variance, steps = settings
    previous, iterations, converged = progress
    stop = min(n_iter, iterations + steps)
    n_times, n_states, n_features = x.shape[0], means.shape[0], x.shape[1]
    b = np.empty((n_times, n_states))
    shift = np.empty(n_times)
    alpha = np.empty((n_times, n_states))
    beta = np.empty((n_times, n_states))
    scale = np.empty(n_times)
    trans = np.empty((n_states, n_states))
    moments = (
        np.empty(n_states),
        np.empty((n_states, n_features)),
        np.empty((n_states, n_features, n_features)),
    )
    observed = _observed_nb(x)
    while iterations < stop and not converged and n_times > 0:
        _emissions_full_nb(x, observed, means, covariances, b, shift)
        current = _forward_nb(b, shift, startprob, transmat, alpha, scale)
        _backward_nb(b, transmat, scale, beta)
        _transitions_nb(b, transmat, alpha, beta, scale, trans)
        _moments_full_nb(x, observed, alpha, beta, moments[0], moments[1], moments[2])
        _maximise_full_nb(alpha, beta, trans, moments, params, min_variance)
        iterations += 1
        converged = current - previous < tol
        previous = current
    _emissions_full_nb(x, observed, means, covariances, b, shift)
    final = _forward_nb(b, shift, startprob, transmat, alpha, scale) if n_times > 0 else 0.0
    return final, previous, iterations, converged


@njit
def fit_full_nb(
    x: FloatArray,
    startprob: FloatArray,
    transmat: FloatArray,
    means: FloatArray,
    covariances: FloatArray,
    n_iter: int,
    tol: float,
    min_variance: float,
) -> tuple[FloatArray, IntArray, BoolArray]:
    """:func:`fit_nb` with full covariance matrices ``covariances`` (symbols, K, D, D)."""
    progress = _new_progress_nb(x.shape[0])
    settings = (n_iter, tol, min_variance, n_iter)
    fit_steps_full_nb(x, startprob, transmat, means, covariances, settings, progress)
    return progress[0], progress[2], progress[3]


@njit
def fit_steps_full_nb(
    x: FloatArray,
    startprob: FloatArray,
    transmat: FloatArray,
    means: FloatArray,
    covariances: FloatArray,
    settings: tuple[int, float, float, int],
    progress: tuple[FloatArray, FloatArray, IntArray, BoolArray],
) -> None:
    """:func:`fit_steps_nb` with full covariance matrices ``covariances`` (symbols, K, D, D)."""
    log_likelihood, previous, iterations, converged = progress
    n_iter = settings[0]
    for s in range(x.shape[0]):
        if iterations[s] > 0 and (converged[s] or iterations[s] >= n_iter):
            continue
        params = (startprob[s], transmat[s], means[s], covariances[s])
        state = (previous[s], iterations[s], converged[s])
        result = _fit_one_full_nb(x[s], params, settings, state)
        log_likelihood[s], previous[s], iterations[s], converged[s] = result


@njit
def filter_full_nb(
    x: FloatArray,
    startprob: FloatArray,
    transmat: FloatArray,
    means: FloatArray,
    covariances: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """:func:`filter_nb` with full covariance matrices: forward only, causal."""
    n_symbols, n_times, _ = x.shape
    n_states = means.shape[1]
    probabilities = np.empty((n_symbols, n_times, n_states))
    log_likelihood = np.zeros(n_symbols)
    b = np.empty((n_times, n_states))
    shift = np.empty(n_times)
    scale = np.empty(n_times)
    for s in range(n_symbols):
        _emissions_full_nb(x[s], _observed_nb(x[s]), means[s], covariances[s], b, shift)
        log_likelihood[s] = _forward_nb(
            b, shift, startprob[s], transmat[s], probabilities[s], scale
        )
    return probabilities, log_likelihood


@njit
def log_likelihood_full_nb(
    x: FloatArray,
    startprob: FloatArray,
    transmat: FloatArray,
    means: FloatArray,
    covariances: FloatArray,
) -> FloatArray:
    """Log-likelihood per symbol under fixed full-covariance parameters (forward pass only)."""
    return filter_full_nb(x, startprob, transmat, means, covariances)[1]
