"""Benchmark: the research toolkit on 800 symbols × 10 years of synthetic daily bars.

Each section runs in a fresh interpreter (so its peak memory is its own) on the same
seeded market:

1. ``optimize``: a 1,000-trial Optuna study (TPE, seed 0) of ``composer`` over its default
   search space, every trial judged out of sample on a 7-fold walk-forward (train 504,
   test 252, purge 5, embargo 5 bars). Features are shared across trials per parameter
   value (``features._memo``), each trial runs the metrics-only walk-forward, and trials
   are asked in batches of 8. Run on 2 local processes, then on a 2-worker Dask
   ``LocalCluster``; trials per second for both. Target ≤ 120 s.
2. ``walk-forward``: 8 purged folds (train 480, test 252, purge 5, embargo 5), each fold's
   parameters chosen by a 200-trial inner study on its training bars (3 inner folds), on 2
   local processes, then the out-of-sample report (JSON, Markdown, HTML with plots).
   Target ≤ 5 minutes.
3. ``bias-check``: look-ahead perturbation (3 cuts), survivorship, the deflated Sharpe
   ratio and PBO (CSCV) over the 1,000 trials of section 1, and a stationary-bootstrap CI
   of the best trial's Sharpe against the default config's. Target ≤ 60 s.
4. Memory: the peak resident set (``VmHWM``) of the driver and of every worker process of
   each section. Target ≤ 2 GB each.

There is no peer here: none of vectorbt, backtrader or nautilus_trader runs a purged
walk-forward Optuna study over a panel; the simulation itself is compared with vectorbt in
``bench_e2e.py``.

Run: ``.venv/bin/python bench/bench_research.py [--symbols 800] [--years 10] [--trials 1000]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil

from _machine import machine_line, versions_line
from harvester.config.models import HarvesterConfig
from harvester.data.panel import Panel
from harvester.research.bias import bias_check
from harvester.research.comparison import bootstrap_sharpe_difference
from harvester.research.executors import Executor, open_executor
from harvester.research.folds import plan_folds
from harvester.research.objective import make_objective
from harvester.research.optimize import optimize
from harvester.research.per_fold import per_fold_optimizer
from harvester.research.report import write_report
from harvester.research.spaces import default_space
from harvester.research.walk_forward import walk_forward, walk_forward_metrics
from harvester.testing import SyntheticParams, generate_market

TARGETS_SECONDS = {"optimize": 120.0, "walk-forward": 300.0, "bias-check": 60.0}
TARGET_PEAK_MB = 2048.0
STRATEGY = "composer"
BATCH = 8


def market(symbols: int, years: int) -> Panel:
    """The benchmark's seeded synthetic market."""
    params = SyntheticParams(symbols=symbols, years=years, seed=5, start="2010-01-04")
    return generate_market(params).panel


def high_water_mb(pid: int | None = None) -> float:
    """A process's peak resident set (``VmHWM``) in MiB; this process by default."""
    status = Path(f"/proc/{pid or 'self'}/status").read_text(encoding="utf-8")
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return float(line.split()[1]) / 1024.0


def worker_peaks_mb() -> list[float]:
    """Peak resident sets of this process's live descendants (pool and Dask workers)."""
    peaks = []
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(OSError, StopIteration, psutil.Error):
            peaks.append(high_water_mb(child.pid))
    return peaks


@contextlib.contextmanager
def timed(results: dict[str, Any], key: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    results[key] = time.perf_counter() - started


def run_optimize(panel: Panel, executor: Executor, trials: int, folder: Path) -> dict[str, Any]:
    folds = plan_folds(panel.shape[0], train_len=504, test_len=252, purge=5, embargo=5)
    out: dict[str, Any] = {"folds": len(folds), "trials": trials}
    with timed(out, "seconds"):
        result = optimize(
            panel, STRATEGY, HarvesterConfig(), space=default_space(STRATEGY),
            objective=make_objective("sharpe"), n_trials=trials, folds=folds, seed=0,
            executor=executor, batch=BATCH,
        )  # fmt: skip
    out["workers_peak_mb"] = worker_peaks_mb()
    out["completed"] = len(result.completed)
    out["best_sharpe"] = None if result.best is None else result.best.value
    result.trial_returns.to_parquet(folder / "trial_returns.parquet")
    return out


def run_walk_forward(panel: Panel, executor: Executor, trials: int, folder: Path) -> dict[str, Any]:
    folds = plan_folds(panel.shape[0], train_len=480, test_len=252, purge=5, embargo=5)
    chooser = per_fold_optimizer(
        STRATEGY, space=default_space(STRATEGY), objective=make_objective("sharpe"),
        n_trials=trials, purge=5, embargo=5, seed=0, executor=executor,
    )  # fmt: skip
    out: dict[str, Any] = {"folds": len(folds), "trials_per_fold": trials}
    with timed(out, "seconds"):
        result = walk_forward(panel, STRATEGY, HarvesterConfig(), folds, choose_config=chooser)
        write_report(result, folder / "walk_forward", fold_params=chooser.fold_params())
    out["workers_peak_mb"] = worker_peaks_mb()
    out["oos_sharpe"] = float(result.metrics["sharpe"])
    return out


def run_bias_check(panel: Panel, folder: Path) -> dict[str, Any]:
    folds = plan_folds(panel.shape[0], train_len=504, test_len=252, purge=5, embargo=5)
    trials = pd.read_parquet(folder / "trial_returns.parquet")
    out: dict[str, Any] = {"trials": trials.shape[1]}
    with timed(out, "seconds"):
        report = bias_check(
            panel, STRATEGY, HarvesterConfig(), cuts=3, folds=folds, study_dir=trials
        )
        best = str(report.details["overfitting"]["best_trial"])
        base, _ = walk_forward_metrics(panel, STRATEGY, HarvesterConfig(), folds)
        boot = bootstrap_sharpe_difference(  # Sharpe(best) − Sharpe(default)
            base.pct_change().iloc[1:].to_numpy(), trials[best].to_numpy(), seed=0
        )
    overfitting = report.details["overfitting"]
    out.update(dsr=overfitting["dsr_probability"], pbo=overfitting["pbo"])
    out["ci"] = list(boot.ci)
    out["findings"] = len(report.findings)
    return out


def section(name: str, args: argparse.Namespace) -> int:
    """Child process: run one section, print its results as one JSON line."""
    panel = market(args.symbols, args.years)
    folder = Path(args.folder)
    if name == "bias-check":
        out = run_bias_check(panel, folder)
    else:
        with open_executor(args.executor, workers=2) as executor:
            if name == "optimize":
                out = run_optimize(panel, executor, args.trials, folder)
            else:
                out = run_walk_forward(panel, executor, args.trials // 5, folder)
    out["driver_peak_mb"] = high_water_mb()
    print(json.dumps(out))
    return 0


def child(name: str, executor: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    command = [
        sys.executable, str(Path(__file__).resolve()), "--section", name, "--executor",
        executor, "--folder", str(folder), "--symbols", str(args.symbols), "--years",
        str(args.years), "--trials", str(args.trials),
    ]  # fmt: skip
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def verdict(ok: bool) -> str:
    return "pass" if ok else "NOT MET"


def memory_line(out: dict[str, Any]) -> str:
    workers = out.get("workers_peak_mb", [])
    peak = max([out["driver_peak_mb"], *workers])
    shown = ", ".join(f"{w:.0f}" for w in workers) or "none"
    return (
        f"  peak memory: driver {out['driver_peak_mb']:.0f} MiB, workers [{shown}] MiB; "
        f"target <= {TARGET_PEAK_MB / 1024:.0f} GB each: {verdict(peak <= TARGET_PEAK_MB)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--symbols", type=int, default=800)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--section", help=argparse.SUPPRESS)
    parser.add_argument("--executor", default="local:2", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.section:
        return section(args.section, args)
    panel = market(args.symbols, args.years)
    print(f"data: synthetic, {panel.shape[1]} symbols × {panel.shape[0]} sessions = "
          f"{panel.shape[0] * panel.shape[1]:,} bars; strategy {STRATEGY}")  # fmt: skip
    del panel
    with tempfile.TemporaryDirectory(prefix="harvester-bench-research-") as name:
        folder = Path(name)
        for executor in ("local:2", "dask-local"):
            out = child("optimize", executor, args, folder)
            rate = out["trials"] / out["seconds"]
            print(f"optimize on {executor}: {out['trials']} trials × {out['folds']} folds in "
                  f"{out['seconds']:.1f} s = {rate:.2f} trials/s ({out['completed']} "
                  f"completed, best out-of-sample Sharpe {out['best_sharpe']:.2f}); target <= "
                  f"{TARGETS_SECONDS['optimize']:.0f} s: "
                  f"{verdict(out['seconds'] <= TARGETS_SECONDS['optimize'])}")  # fmt: skip
            print(memory_line(out))
        out = child("walk-forward", "local:2", args, folder)
        print(f"walk-forward on local:2: {out['folds']} purged folds × {out['trials_per_fold']} "
              f"inner trials + report in {out['seconds']:.1f} s (out-of-sample Sharpe "
              f"{out['oos_sharpe']:.2f}); target <= {TARGETS_SECONDS['walk-forward']:.0f} s: "
              f"{verdict(out['seconds'] <= TARGETS_SECONDS['walk-forward'])}")  # fmt: skip
        print(memory_line(out))
        out = child("bias-check", "serial", args, folder)
        print(f"bias-check: look-ahead (3 cuts), survivorship, DSR/PBO over {out['trials']} "
              f"trials, bootstrap CI in {out['seconds']:.1f} s (DSR probability "
              f"{out['dsr']:.3f}, PBO {out['pbo']:.3f}, best − default Sharpe CI "
              f"[{out['ci'][0]:.2f}, {out['ci'][1]:.2f}]); target <= "
              f"{TARGETS_SECONDS['bias-check']:.0f} s: "
              f"{verdict(out['seconds'] <= TARGETS_SECONDS['bias-check'])}")  # fmt: skip
        print(memory_line(out))
    print(versions_line("numpy", "numba", "optuna", "dask", "distributed"))
    print(machine_line())
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
