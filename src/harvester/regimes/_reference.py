"""Plain NumPy twin of ``_kernels.py``: the readable definition of the batched HMM.

It works in log space (log-sum-exp recursions) where the kernels use the scaled recursion,
so the two agree to rounding, not bit for bit; the tests compare them with a tight tolerance.
Variances of shape (K, D) per symbol are diagonal, (K, D, D) full covariance matrices (their
M-step adds ``min_variance`` to the diagonal instead of flooring it). Conventions are the
kernels': a row with any NaN feature is missing (log emission 0 for every
state, no contribution to the mean and variance statistics); the M-step is hmmlearn's without
priors; states with no posterior mass and transition rows with no mass keep their old values.
"""

from __future__ import annotations

import numpy as np

from harvester.core.types import BoolArray, FloatArray, IntArray

__all__ = ["filter_reference", "fit_reference", "log_likelihood_reference"]

Params = tuple[FloatArray, FloatArray, FloatArray, FloatArray]


def _logsumexp(values: FloatArray, axis: int) -> FloatArray:
    top = np.max(values, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        summed = np.log(np.sum(np.exp(values - top), axis=axis, keepdims=True)) + top
    result: FloatArray = np.squeeze(summed, axis=axis)
    return result


def _log_emissions(x: FloatArray, means: FloatArray, variances: FloatArray) -> FloatArray:
    if variances.ndim == 3:
        return _log_emissions_full(x, means, variances)
    diff = x[:, None, :] - means[None, :, :]
    terms = np.log(2.0 * np.pi) + np.log(variances)[None] + diff**2 / variances[None]
    log_b = -0.5 * terms.sum(axis=2)
    missing = np.isnan(x.sum(axis=1, keepdims=True))
    return np.where(missing, 0.0, log_b)


def _log_emissions_full(x: FloatArray, means: FloatArray, covariances: FloatArray) -> FloatArray:
    """Full covariance: ``-0.5 (D log 2pi + log det Sigma + |L^-1 (x - mu)|^2)``."""
    n_features = x.shape[1]
    log_b = np.empty((x.shape[0], means.shape[0]))
    for k in range(means.shape[0]):
        with np.errstate(invalid="ignore"):
            factor = np.linalg.cholesky(covariances[k])
        solved = np.linalg.solve(factor, (x - means[k]).T)
        log_det = 2.0 * np.log(np.diagonal(factor)).sum()
        quadratic = (solved**2).sum(axis=0)
        log_b[:, k] = -0.5 * (n_features * np.log(2.0 * np.pi) + log_det + quadratic)
    missing = np.isnan(x.sum(axis=1, keepdims=True))
    return np.where(missing, 0.0, log_b)


def _log_forward(log_b: FloatArray, startprob: FloatArray, transmat: FloatArray) -> FloatArray:
    log_alpha = np.empty_like(log_b)
    with np.errstate(divide="ignore"):
        log_a, log_pi = np.log(transmat), np.log(startprob)
    for t in range(log_b.shape[0]):
        prior = log_pi if t == 0 else _logsumexp(log_alpha[t - 1][:, None] + log_a, axis=0)
        log_alpha[t] = prior + log_b[t]
    return log_alpha


def _log_backward(log_b: FloatArray, transmat: FloatArray) -> FloatArray:
    log_beta = np.zeros_like(log_b)
    with np.errstate(divide="ignore"):
        log_a = np.log(transmat)
    for t in range(log_b.shape[0] - 2, -1, -1):
        log_beta[t] = _logsumexp(log_a + (log_b[t + 1] + log_beta[t + 1])[None, :], axis=1)
    return log_beta


def _em_step(x: FloatArray, params: Params, min_variance: float) -> tuple[Params, float]:
    startprob, transmat, means, variances = params
    log_b = _log_emissions(x, means, variances)
    log_alpha = _log_forward(log_b, startprob, transmat)
    log_beta = _log_backward(log_b, transmat)
    log_likelihood = float(_logsumexp(log_alpha[-1], axis=0))
    gamma = np.exp(log_alpha + log_beta - log_likelihood)
    with np.errstate(divide="ignore"):
        log_a = np.log(transmat)
    log_xi = log_alpha[:-1, :, None] + log_a[None] + (log_b + log_beta)[1:, None, :]
    trans = np.exp(log_xi - log_likelihood).sum(axis=0)
    row = trans.sum(axis=1, keepdims=True)
    new_transmat = np.where(row > 0.0, trans / np.where(row > 0.0, row, 1.0), transmat)
    observed = ~np.isnan(x.sum(axis=1))
    weights, values = gamma[observed], x[observed]
    mass = weights.sum(axis=0)[:, None]
    alive = mass > 1e-300
    safe_mass = np.where(alive, mass, 1.0)
    new_means = np.where(alive, weights.T @ values / safe_mass, means)
    spread = weights.T @ (values**2) - 2.0 * new_means * (weights.T @ values) + new_means**2 * mass
    new_variances = np.maximum(spread / np.maximum(mass, 1e-5), min_variance)
    if variances.ndim == 3:
        second = np.einsum("tk,td,te->kde", weights, values, values)
        first = weights.T @ values
        outer = np.einsum("kd,ke->kde", first, new_means)
        scatter = second - outer - outer.transpose(0, 2, 1)
        scatter += np.einsum("kd,ke->kde", new_means, new_means) * mass[:, :, None]
        ridge = min_variance * np.eye(x.shape[1])
        new_variances = scatter / np.maximum(mass, 1e-5)[:, :, None] + ridge
        new_variances = np.where(alive[:, :, None], new_variances, variances)
    else:
        new_variances = np.where(alive, new_variances, variances)
    new_params = (gamma[0] / gamma[0].sum(), new_transmat, new_means, new_variances)
    return new_params, log_likelihood


def _fit_one(
    x: FloatArray, params: Params, *, n_iter: int, tol: float, min_variance: float
) -> tuple[Params, float, int, bool]:
    previous, iterations, converged = -np.inf, 0, False
    while iterations < n_iter and not converged and x.shape[0] > 0:
        params, current = _em_step(x, params, min_variance)
        iterations += 1
        converged = bool(current - previous < tol)
        previous = current
    final = _filter_one(x, params)[1]
    return params, final, iterations, converged


def _filter_one(x: FloatArray, params: Params) -> tuple[FloatArray, float]:
    startprob, transmat, means, variances = params
    if x.shape[0] == 0:
        return np.empty((0, means.shape[0])), 0.0
    log_alpha = _log_forward(_log_emissions(x, means, variances), startprob, transmat)
    log_norm = _logsumexp(log_alpha, axis=1)
    return np.exp(log_alpha - log_norm[:, None]), float(log_norm[-1])


def _symbol(params: Params, s: int) -> Params:
    startprob, transmat, means, variances = params
    return startprob[s].copy(), transmat[s].copy(), means[s].copy(), variances[s].copy()


def _stack(params: list[Params]) -> Params:
    startprob, transmat, means, variances = (np.stack([p[i] for p in params]) for i in range(4))
    return startprob, transmat, means, variances


def fit_reference(
    x: FloatArray, params: Params, *, n_iter: int, tol: float, min_variance: float
) -> tuple[Params, FloatArray, IntArray, BoolArray]:
    """Fit each symbol; returns new parameters, log-likelihoods, iterations, converged."""
    results = [
        _fit_one(
            x[s],
            _symbol(params, s),
            n_iter=n_iter,
            tol=tol,
            min_variance=min_variance,
        )
        for s in range(x.shape[0])
    ]
    return (
        _stack([r[0] for r in results]),
        np.array([r[1] for r in results], dtype=np.float64),
        np.array([r[2] for r in results], dtype=np.int64),
        np.array([r[3] for r in results], dtype=np.bool_),
    )


def filter_reference(x: FloatArray, params: Params) -> tuple[FloatArray, FloatArray]:
    """Filtered probabilities (symbols, time, K) and log-likelihoods (symbols,)."""
    results = [_filter_one(x[s], _symbol(params, s)) for s in range(x.shape[0])]
    probabilities = np.stack([r[0] for r in results]) if results else np.empty((0, 0, 0))
    return probabilities, np.array([r[1] for r in results], dtype=np.float64)


def log_likelihood_reference(x: FloatArray, params: Params) -> FloatArray:
    """Log-likelihood per symbol under fixed parameters."""
    return filter_reference(x, params)[1]
