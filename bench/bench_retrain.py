"""Benchmark: the universe retrain of Rally models (one per symbol), local processes vs a
2-worker Dask LocalCluster, in models per second.

Synthetic data (500 symbols × 3 years, fixed seed); each task is what ``harvester run
retrain`` does per symbol: the walk-forward fit (``train_years=1``, ``test_years=1``) and
``save_model`` into a temp folder. Both executors get 2 workers; the models must agree.

Run: ``.venv/bin/python bench/bench_retrain.py [--symbols 500] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

from _machine import machine_line
from harvester.app.orchestrator import _Task, _train_one
from harvester.config.models import HarvesterConfig
from harvester.research.executors import open_executor
from harvester.strategies.rally_saved import own_history
from harvester.testing import SyntheticParams, generate_market


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(machine_line())
    config = HarvesterConfig().model_validate(
        {"strategies": {"rally": {"train_years": 1.0, "test_years": 1.0}}}
    )
    market = generate_market(SyntheticParams(symbols=args.symbols, years=3, seed=5)).panel
    print(f"data: {args.symbols} symbols × {len(market.index)} sessions; {args.workers} workers")
    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="harvester-bench-retrain-") as name:
        for spec in ("local", "dask-local"):
            folder = Path(name) / spec
            folder.mkdir()
            tasks = [_Task(s, own_history(market, s), config, str(folder / f"{s}.joblib"))
                     for s in market.symbols]  # fmt: skip
            with open_executor(spec, workers=args.workers) as pool:
                started = time.perf_counter()
                done = pool.map(_train_one, tasks)
                seconds = time.perf_counter() - started
            trained = sum(1 for d in done if d.folds)
            rates[spec] = trained / seconds
            print(f"{spec:>10}: {trained} models in {seconds:.1f} s = {rates[spec]:.1f} models/s")
    ratio = rates["dask-local"] / rates["local"]
    verdict = (
        "dask faster" if ratio > 1.2 else "on par" if ratio >= 0.8 else "local processes faster"
    )
    print(f"dask-local / local: {ratio:.2f}× → {verdict}")


if __name__ == "__main__":
    main()
