"""Walk-forward HMM: refit the batched HMM on past bars only, filter the next segment.

:func:`walk_forward_probabilities` turns the batched Gaussian HMM of
:mod:`harvester.regimes.hmm` into a causal (time × symbols × states) series of filtered state
probabilities over a whole panel:

- refits happen at bars ``refit_every, 2·refit_every, …`` — anchored at the **start** of the
  array, so truncating the array never moves a refit;
- the fit at bar ``t`` uses the trailing ``training_samples`` bars strictly before ``t``
  (``[max(0, t − training_samples), t)``), and a symbol takes part only if at least
  ``min_train`` of those rows are fully observed (a row with a NaN feature is missing);
- that model then runs the forward filter from the start of its training window through the
  segment ``[t, t + refit_every)`` and only the segment's rows are kept: the probability at
  bar ``s`` is ``p(state_s | x_{window start}..x_s)`` from parameters fitted on bars before
  ``t ≤ s``; nothing after ``s`` is read.

Rows before the first refit (and symbols that lacked data at a refit) are NaN — the caller
decides the fallback (Harvester II's chain: rule regimes, then a default conviction).

Examples
--------
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(0.0, 0.01, size=(600, 2, 1))
>>> p = walk_forward_probabilities(x, refit_every=200, training_samples=200, n_states=2)
>>> p.shape, bool(np.isnan(p[:200]).all()), bool(np.isfinite(p[200:]).all())
((600, 2, 2), True, True)
"""

from __future__ import annotations

import numpy as np

from harvester.core.errors import DataError
from harvester.core.types import BoolArray, FloatArray
from harvester.regimes.hmm import CovarianceType, filter_probabilities, fit_batched

__all__ = ["refit_points", "walk_forward_probabilities"]


def refit_points(n_bars: int, refit_every: int) -> list[int]:
    """Bars at which the model is refitted: ``refit_every, 2·refit_every, …`` below ``n_bars``."""
    if refit_every < 1:
        raise DataError(f"walk-forward HMM: refit_every must be at least 1, got {refit_every}")
    return list(range(refit_every, n_bars, refit_every))


def walk_forward_probabilities(
    observations: FloatArray,
    *,
    refit_every: int = 252,
    training_samples: int = 1000,
    min_train: int = 126,
    n_states: int = 3,
    priors: tuple[float, ...] | None = None,
    covariance_type: CovarianceType = "diag",
    n_init: int = 1,
    n_iter: int = 100,
    seed: int = 0,
) -> FloatArray:
    """Causal filtered state probabilities from walk-forward refits, shape (time, symbols, K).

    Parameters
    ----------
    observations
        (time × symbols × features) float array; a row with any NaN feature is missing.
        Infinite values are an error (use NaN).
    refit_every
        Bars between refits; the first refit is at bar ``refit_every``.
    training_samples
        At most this many bars before a refit train it (``bayesian.training_samples``).
    min_train
        Fully observed rows a symbol needs in its training window to be fitted.
    n_states, priors, covariance_type, n_init, n_iter, seed
        Passed to :func:`~harvester.regimes.hmm.fit_batched` (states ordered by the variance
        of feature 0, so with three states state 2 is the panic state).

    Returns
    -------
    FloatArray
        ``p(state_t | observations up to t)`` under the model of the latest refit at or
        before ``t``; NaN before the first refit and for symbols not fitted at that refit.
    """
    x = np.asarray(observations, dtype=np.float64)
    if x.ndim != 3:
        raise DataError(
            f"walk-forward HMM: expected a (time, symbols, features) array, got shape {x.shape}"
        )
    if training_samples < 1 or min_train < 1:
        raise DataError("walk-forward HMM: training_samples and min_train must be at least 1")
    n_bars, n_symbols, _ = x.shape
    out = np.full((n_bars, n_symbols, n_states), np.nan)
    by_symbol = np.ascontiguousarray(x.transpose(1, 0, 2))
    observed: BoolArray = np.asarray(~np.isnan(by_symbol).any(axis=2), dtype=np.bool_)
    for start in refit_points(n_bars, refit_every):
        window_start = max(0, start - training_samples)
        end = min(start + refit_every, n_bars)
        enough = observed[:, window_start:start].sum(axis=1) >= min_train
        if not enough.any():
            continue
        chosen = np.flatnonzero(enough)
        model = fit_batched(
            by_symbol[chosen, window_start:start],
            n_states=n_states,
            priors=priors,
            covariance_type=covariance_type,
            n_init=n_init,
            n_iter=n_iter,
            seed=seed,
        )
        filtered = filter_probabilities(model, by_symbol[chosen, window_start:end])
        segment = filtered[:, start - window_start :, :]
        out[start:end, chosen, :] = segment.transpose(1, 0, 2)
    return out
