"""Benchmark: the daily scan over 800 symbols from a warm cache with a trained Rally model.

Synthetic data (800 symbols × 2 years, fixed seed) is written to a ``ParquetCache``; the
pooled Rally walk-forward model (the ``aggressive`` named config with ``p_threshold=0.33``,
so the synthetic data gives hundreds of alerts) is trained once, untimed. Then one scan is
timed from data ready to the alerts handed to the notifier (a no-op callable), by stage:

1. load: every symbol from the warm Parquet cache into a Panel;
2. features: the Rally base feature set;
3. predict: calibrated P(rally) from the saved fold models (``predict_panel``);
4. risk: the daily step (``run_daily``: signals with the trained model, the engine's risk
   rules from the live start, the paper broker and the orders it books);
5. store: the scan run, its ranking and new signals in the store (SQLite in a temp folder).

Target: ≤ 5 s in total. Run: ``.venv/bin/python bench/bench_scan.py [--symbols 800]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from _machine import machine_line
from harvester.app.daily import run_daily
from harvester.config.models import HarvesterConfig
from harvester.data.cache import ParquetCache
from harvester.live.paper import PaperBroker
from harvester.store.database import open_store
from harvester.store.repository import finish_run, record_run, record_scan_results, record_signals
from harvester.strategies import rally
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
        fit = rally.fit_walk_forward(  # training on the cached bars: untimed
            cache.load_panel(PROVIDER, cache.symbols(PROVIDER)), config
        )
        print(f"setup: {args.symbols} symbols × {len(market.index)} sessions; "
              f"model trained once in {time.perf_counter() - started:.1f} s (untimed)")  # fmt: skip
        store = open_store(f"sqlite:///{folder / 'bench.db'}", environ={})
        alerts: list[pd.DataFrame] = []
        notify = alerts.append  # the notifier: a no-op sink
        times: dict[str, float] = {}

        def stage(label: str, started: float) -> float:
            now = time.perf_counter()
            times[label] = now - started
            return now

        t = time.perf_counter()
        panel = cache.load_panel(PROVIDER, cache.symbols(PROVIDER))
        t = stage("load", t)
        names, _ = rally.base_features(panel)
        t = stage("features", t)
        probability = rally.predict_panel(panel, fit.folds)
        t = stage("predict", t)
        original = rally.fit_walk_forward
        rally.fit_walk_forward = lambda p, c, **kw: fit  # signals from the trained model
        try:
            broker = PaperBroker(store, account="paper", initial_cash=config.initial_capital)
            live_start = panel.index[-252]
            rep, outcome = run_daily(store, broker, panel, "rally", config,
                                     live_start=live_start, account="paper")  # fmt: skip
        finally:
            rally.fit_walk_forward = original
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
    print(f"scan: {len(panel.symbols)} symbols, {len(names)} features, "
          f"{int(np.isfinite(p_last).sum())} predictions, {len(new)} alert(s) (new signals), "
          f"{len(outcome.orders)} paper order(s) on {rep.day}")  # fmt: skip
    print("stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in times.items()))
    verdict = "PASS" if total <= TARGET else "FAIL"
    print(f"total {total:.2f} s vs target {TARGET:.1f} s: ratio {total / TARGET:.2f} → {verdict}")


if __name__ == "__main__":
    main()
