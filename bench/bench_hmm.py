"""Benchmark: batched Gaussian HMM fit vs a Python loop over hmmlearn, same data and iterations.

Fits one 3-state diagonal Gaussian HMM per symbol on 800 synthetic symbols × 1,260 bars × 3
features (daily log return, log high/low range, log volume change), 100 EM iterations each
(``tol=-inf``, so nobody stops early), both from the same initial parameters. Prints seconds,
the ratio (target: batched at least 10× faster), the worst log-likelihood disagreement, the
machine and library versions.

Run: ``python bench/bench_hmm.py [--symbols 800] [--iterations 100] [--loop-symbols N]
[--threads N]``; the batched fit is timed on one thread and on ``--threads`` (default: all
cores), the kernel releasing the GIL.
``--loop-symbols`` times hmmlearn on the first N symbols only and scales its time to all
symbols linearly (each symbol is an independent fit), for a quicker run.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import time

import numpy as np

from harvester.core.types import FloatArray
from harvester.regimes.hmm import InitialParams, fit_batched, initial_params
from harvester.testing import SyntheticParams, generate_market

TARGET_RATIO = 10.0


def features(n_symbols: int) -> FloatArray:
    """(symbols, 1260, 3) features from five years of the synthetic market."""
    panel = generate_market(SyntheticParams(symbols=n_symbols, years=6, seed=3)).panel
    close, high, low = panel.array("close"), panel.array("high"), panel.array("low")
    volume = panel.array("volume")
    columns = [
        np.diff(np.log(close), axis=0),
        np.log(high / low)[1:],
        np.diff(np.log(volume), axis=0),
    ]
    return np.ascontiguousarray(np.stack(columns, axis=2).transpose(1, 0, 2)[:, -1260:])


def hmmlearn_loop(x: FloatArray, init: InitialParams, n_iter: int) -> FloatArray:
    """Fit hmmlearn symbol by symbol from ``init``; returns each final log-likelihood."""
    from hmmlearn.hmm import GaussianHMM  # type: ignore[import-untyped]

    scores = np.empty(x.shape[0])
    for s in range(x.shape[0]):
        model = GaussianHMM(
            n_components=init.startprob.shape[1],
            covariance_type="diag",
            n_iter=n_iter,
            tol=-np.inf,
            init_params="",
            covars_prior=0.0,
            covars_weight=1.0,
        )
        model.startprob_, model.transmat_ = init.startprob[s], init.transmat[s]
        model.means_, model.covars_ = init.means[s], init.variances[s]
        scores[s] = model.fit(x[s]).score(x[s])
    return scores


def environment() -> str:
    """One line naming the machine and the library versions."""
    import hmmlearn  # type: ignore[import-untyped]
    import numba

    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
        f"hmmlearn {hmmlearn.__version__}"
    )


def main() -> None:
    """Parse arguments, run both fits and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--symbols", type=int, default=800)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--loop-symbols", type=int, default=0, help="0: all symbols")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    logging.getLogger("hmmlearn").setLevel(logging.ERROR)
    x = features(args.symbols)
    init = initial_params(x, n_states=3, seed=0)
    fit_batched(x[:2], n_iter=2, init=InitialParams(*(p[:2] for p in init)))  # compile
    started = time.perf_counter()
    batched = fit_batched(x, n_iter=args.iterations, tol=-np.inf, init=init)
    single_seconds = time.perf_counter() - started
    started = time.perf_counter()
    fit_batched(x, n_iter=args.iterations, tol=-np.inf, init=init, n_threads=args.threads)
    batched_seconds = time.perf_counter() - started
    n_loop = args.loop_symbols or args.symbols
    started = time.perf_counter()
    scores = hmmlearn_loop(x[:n_loop], InitialParams(*(p[:n_loop] for p in init)), args.iterations)
    loop_seconds = (time.perf_counter() - started) * args.symbols / n_loop
    worst = np.max(np.abs(batched.log_likelihood[:n_loop] - scores) / np.abs(scores))
    scaled = "" if n_loop == args.symbols else f" (timed on {n_loop} symbols, scaled)"
    print(
        f"data: {x.shape[0]} symbols x {x.shape[1]} bars x {x.shape[2]} features, "
        f"3 states, {args.iterations} EM iterations"
    )
    print(f"harvester fit_batched, 1 thread:  {single_seconds:8.2f} s")
    print(f"harvester fit_batched, {args.threads} threads: {batched_seconds:8.2f} s")
    print(f"hmmlearn loop:                    {loop_seconds:8.2f} s{scaled}")
    print(f"ratio, 1 thread: {loop_seconds / single_seconds:.1f}x")
    ratio = loop_seconds / batched_seconds
    verdict = "met" if ratio >= TARGET_RATIO else "MISSED"
    print(f"ratio, {args.threads} threads: {ratio:.1f}x (target >= {TARGET_RATIO:.0f}x: {verdict})")
    print(f"worst relative log-likelihood difference vs hmmlearn: {worst:.2e}")
    print(f"machine: {environment()}")


if __name__ == "__main__":
    main()
