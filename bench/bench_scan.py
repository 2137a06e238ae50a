"""Benchmark: the daily scan over 800 symbols from a warm cache with trained Rally models.

Synthetic data (800 symbols × 2 years, fixed seed) is written to a ``ParquetCache``; one
Rally model per symbol is trained and saved as ``harvester run retrain`` does (the
``aggressive`` named config with ``p_threshold=0.33``, so the synthetic data gives alerts),
untimed, on local processes. Then one scan is timed from data ready to the alerts handed to
the notifier (a no-op callable), by stage:

1. load: every symbol from the warm Parquet cache into a Panel, and every saved model;
2. features + predict: each symbol's Rally features and calibrated P(rally) from its saved
   fold models (``saved_fit``, what the scan's strategy does; no refit);
3. risk: the daily step (``run_daily`` with the saved-model strategy: signals, the engine's
   risk rules from the live start, the paper broker and the orders it books);
4. store: the scan run, its ranking and new signals in the store (SQLite in a temp folder).

Target: ≤ 5 s in total. Run: ``.venv/bin/python bench/bench_scan.py [--symbols 800]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from _machine import machine_line
from harvester.app.daily import run_daily
from harvester.app.orchestrator import _Task, _train_one
from harvester.config.models import HarvesterConfig
from harvester.data.cache import ParquetCache
from harvester.live.paper import PaperBroker
from harvester.research.executors import open_executor
from harvester.store.database import open_store
from harvester.store.repository import finish_run, record_run, record_scan_results, record_signals
from harvester.strategies import rally
from harvester.strategies.rally_saved import load_saved, own_history, saved_fit, with_saved_models
from harvester.testing import SyntheticParams, generate_market

PROVIDER = "bench"
TARGET = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=800)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(machine_line())
    config = HarvesterConfig().model_validate(
        {
            "strategies": {
                "rally": {
                    "train_years": 0.5,
                    "test_years": 0.5,
                    "hmm_n_iter": 20,
                    "named_config": "aggressive",
                    "p_threshold": 0.33,
                }
            }
        }
    )
    params = SyntheticParams(symbols=args.symbols, years=2, seed=5, start="2016-01-04")
    market = generate_market(params).panel
    with tempfile.TemporaryDirectory(prefix="harvester-bench-scan-") as name:
        folder = Path(name)
        cache = ParquetCache(folder / "cache")
        for symbol in market.symbols:
            bars = market.symbol_frame(symbol)
            cache.put(PROVIDER, symbol, bars[bars["close"].notna()], fetched_at=datetime.now(UTC))
        started = time.perf_counter()
        cached = cache.load_panel(PROVIDER, cache.symbols(PROVIDER))
        models_dir = folder / "models"
        models_dir.mkdir()
        tasks = [_Task(s, own_history(cached, s), config, str(models_dir / f"{s}.joblib"))
                 for s in cached.symbols]  # fmt: skip
        with open_executor("local", workers=2) as pool:  # the retrain: untimed
            trained = [d.symbol for d in pool.map(_train_one, tasks) if d.folds]
        print(f"setup: {args.symbols} symbols × {len(market.index)} sessions; {len(trained)} "
              f"models trained in {time.perf_counter() - started:.1f} s (untimed)")  # fmt: skip
        store = open_store(f"sqlite:///{folder / 'bench.db'}", environ={})
        alerts: list[pd.DataFrame] = []
        notify = alerts.append  # the notifier: a no-op sink
        times: dict[str, float] = {}

        def stage(label: str, started: float) -> float:
            now = time.perf_counter()
            times[label] = now - started
            return now

        t = time.perf_counter()
        panel = cache.load_panel(PROVIDER, trained)
        models = {s: load_saved(models_dir / f"{s}.joblib") for s in trained}
        t = stage("load", t)
        fit = saved_fit(panel, models)
        probability = fit.probability
        t = stage("features + predict", t)
        # ``with_saved_models(models)`` computes this same fit inside the daily step; it is
        # timed above as its own stage and handed over here, so it is not counted twice.
        strategy = with_saved_models(models)
        strategy = dataclasses.replace(
            strategy, generate=lambda p, c: rally.output_from_fit(p, c, fit)
        )
        broker = PaperBroker(store, account="paper", initial_cash=config.initial_capital)
        live_start = panel.index[-252]
        rep, outcome = run_daily(store, broker, panel, strategy, config,
                                 live_start=live_start, account="paper")  # fmt: skip
        t = stage("risk", t)
        last = rep.signals
        ranking = pd.DataFrame({"symbol": list(rep.panel.symbols),
                                "score": np.nan_to_num(last.score[-1]),
                                "direction": last.direction[-1].astype(int)})  # fmt: skip
        ranking = ranking.sort_values("score", ascending=False, kind="stable")
        ranking = ranking.assign(rank=np.arange(1, len(ranking) + 1))
        held = dict(zip(rep.panel.symbols, np.sign(rep.result.positions.iloc[-1]), strict=True))
        new = ranking[(ranking["direction"] != 0) & (ranking["symbol"].map(held) == 0)]
        run_id = record_run(store, "scan")
        record_scan_results(store, run_id, rep.day, ranking)
        if len(new):
            record_signals(store, run_id, new.assign(date=rep.day, strategy="rally"))
        finish_run(store, run_id, "ok")
        notify(new)
        stage("store", t)
        store.close()
    total = sum(times.values())
    p_last = probability[-1]
    print(f"scan: {len(panel.symbols)} symbols, "
          f"{int(np.isfinite(p_last).sum())} predictions, {len(new)} alert(s) (new signals), "
          f"{len(outcome.orders)} paper order(s) on {rep.day}")  # fmt: skip
    print("stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in times.items()))
    verdict = "PASS" if total <= TARGET else "FAIL"
    print(f"total {total:.2f} s vs target {TARGET:.1f} s: ratio {total / TARGET:.2f} → {verdict}")


if __name__ == "__main__":
    main()
