"""Benchmark: an end-to-end daily backtest of 800 symbols × 20 years (about 4 M bars).

The synthetic market is generated once and written (a) as one long CSV and (b) into a
``ParquetCache`` (one file per symbol) in a temporary folder. Then one pipeline is timed:

1. load the panel: warm from the Parquet cache (``ParquetCache.load_panel``), cold from the
   CSV through ``harvester.data.loader.load`` (the ``--data PATH`` path: read, sanity rules,
   clean, ``Panel.from_long``);
2. ten features at once with ``FEATURES.compute_many`` (atr, realized_vol, rsi, macd,
   bb_width, zscore, sma, adx, pct_rank, volume_ratio);
3. a causal consensus signal written inline: enter long when at least four of five votes
   agree (close above its SMA, ADX above 20, MACD above 0, RSI below 70, volume ratio above
   1) and they did not the bar before; exit when the close falls below the SMA or RSI tops 80;
4. the trade regimes (``trade_regimes``, as ``backtest_strategy`` records them), then
   ``run_backtest`` on the panel's own session calendar with commission and slippage and the
   full risk rules (ATR stop, ATR target, trailing stop, daily-loss and drawdown kill-switch,
   a position limit), then the trade journal (``result.trades``) and the metrics.

Warm: best of ``--repeat`` after one untimed run (numba compiled), garbage collector paused.
Cold: one run from the CSV, timed before any warm run (numba loads its on-disk cache; no
array is reused). Memory: the tracemalloc peak of one warm run, and the maximum resident
set of one warm and one cold pipeline, each in a fresh interpreter. Peer: vectorbt
``Portfolio.from_signals`` on the same entries and exits with the closest settings, against
our simulation part.

Targets: warm ≤ 3 s, cold ≤ 30 s, peak ≤ 1.5 GB.

Run: ``.venv/bin/python bench/bench_e2e.py [--symbols 800] [--years 20] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import math
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from _machine import machine_line, versions_line
from harvester.app.backtest import trade_regimes
from harvester.backtest.engine import run_backtest, simulate
from harvester.backtest.inputs import engine_params, market_arrays
from harvester.backtest.result import BacktestResult
from harvester.config.models import DataConfig, HarvesterConfig
from harvester.data.cache import ParquetCache
from harvester.data.loader import LoadContext, load
from harvester.data.panel import Panel
from harvester.features.registry import FEATURES
from harvester.strategies.signals import Signals
from harvester.testing import SyntheticParams, generate_market

TARGET_WARM_SECONDS = 3.0
TARGET_COLD_SECONDS = 30.0
TARGET_PEAK_MB = 1536.0
PROVIDER = "bench"
FEATURE_NAMES = ("atr", "realized_vol", "rsi", "macd", "bb_width", "zscore", "sma", "adx",
                 "pct_rank", "volume_ratio")  # fmt: skip
INITIAL_CASH = 100_000.0
FRACTION = 0.02
MAX_POSITIONS = 40
STOP_ATR, TARGET_ATR, TRAIL_ATR = 2.0, 4.0, 3.0
SLIPPAGE_BPS, COMMISSION_BPS = 5.0, 1.0
DAILY_LOSS_PCT, DRAWDOWN_PCT = 5.0, 50.0
STEPS = ("load", "features", "signal", "regimes", "backtest")


@dataclass
class Timings:
    """Seconds of each step of one pipeline run."""

    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        """All steps together."""
        return sum(self.seconds.values())


# -- helpers ------------------------------------------------------------------------------


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the garbage collector, as ``timeit`` does while it times."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def peak_rss_mb() -> float:
    """Return this process's peak resident memory so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def verdict(ok: bool) -> str:
    """Return the printed verdict of a target."""
    return "pass" if ok else "not yet"


# -- the pipeline -------------------------------------------------------------------------


def config() -> HarvesterConfig:
    """Return costs and the full risk rules (stops, target, trailing, kill-switch, limit)."""
    return HarvesterConfig.model_validate(
        {
            "initial_capital": INITIAL_CASH,
            "execution": {
                "fill": "next_open",
                "slippage_bps": SLIPPAGE_BPS,
                "commission_bps": COMMISSION_BPS,
                "fractional_shares": True,
            },
            "risk_management": {
                "base_position_fraction": FRACTION,
                "max_open_positions": MAX_POSITIONS,
                "allow_short": False,
                "stop_loss_atr": STOP_ATR,
                "take_profit_atr": TARGET_ATR,
                "trailing_stops": {"enabled": True, "atr_multiplier": TRAIL_ATR},
            },
            "risk_params": {
                "max_gross_exposure_pct": 100,
                "max_position_size": 1.0,
                "max_daily_loss_pct": DAILY_LOSS_PCT,
                "max_drawdown_pct": DRAWDOWN_PCT,
            },
        }
    )


def consensus(panel: Panel, features: dict[str, np.ndarray]) -> Signals:
    """Return long entries on a fresh 4-of-5 vote and exits on a broken trend (causal)."""
    close = panel.array("close")
    with np.errstate(invalid="ignore"):
        votes = (
            (close > features["sma"]).astype(np.int8)
            + (features["adx"] > 20.0)
            + (features["macd"] > 0.0)
            + (features["rsi"] < 70.0)
            + (features["volume_ratio"] > 1.0)
        )
        agree = votes >= 4
        exits = (close < features["sma"]) | (features["rsi"] > 80.0)
    entries = agree.copy()
    entries[1:] &= ~agree[:-1]
    entries &= ~exits
    # Calmer symbols rank first when more enter than the position limit allows.
    score = np.nan_to_num(-features["realized_vol"], nan=-np.inf)
    return Signals(entries.astype(np.int8), exits, np.ones(close.shape), score)


def pipeline(
    load_panel: Callable[[], Panel], cfg: HarvesterConfig
) -> tuple[Timings, Panel, Signals, BacktestResult]:
    """Run load → features → signal → trade regimes → backtest + journal + metrics.

    Times each step. The regimes are what ``backtest_strategy`` records on every trade
    (composer's rule regime at the entry decision).
    """
    timings = Timings()
    started = time.perf_counter()
    panel = load_panel()
    now = time.perf_counter()
    timings.seconds["load"], started = now - started, now
    features = FEATURES.compute_many(panel, FEATURE_NAMES)
    now = time.perf_counter()
    timings.seconds["features"], started = now - started, now
    signals = consensus(panel, features)
    now = time.perf_counter()
    timings.seconds["signal"], started = now - started, now
    regimes = trade_regimes(panel, cfg.regimes)
    now = time.perf_counter()
    timings.seconds["regimes"], started = now - started, now
    result = run_backtest(panel, signals, cfg, regimes=regimes)
    _ = len(result.trades), result.metrics["sharpe"]
    timings.seconds["backtest"] = time.perf_counter() - started
    return timings, panel, signals, result


# -- data ---------------------------------------------------------------------------------


def write_inputs(panel: Panel, folder: Path) -> tuple[Path, ParquetCache, float, float]:
    """Write ``panel`` as a long CSV and into a Parquet cache; return them and the seconds."""
    started = time.perf_counter()
    csv = folder / "market.csv"
    panel.to_long().to_csv(csv, index=False)
    csv_seconds = time.perf_counter() - started
    started = time.perf_counter()
    cache = ParquetCache(folder / "cache")
    fetched_at = datetime.now(UTC)
    for symbol in panel.symbols:
        bars = panel.symbol_frame(symbol)
        cache.put(PROVIDER, symbol, bars[bars["close"].notna()], fetched_at=fetched_at)
    return csv, cache, csv_seconds, time.perf_counter() - started


def cache_loader(folder: Path) -> Callable[[], Panel]:
    """Return the warm load: every symbol of the Parquet cache in ``folder`` into a Panel."""
    cache = ParquetCache(folder / "cache")
    symbols = cache.symbols(PROVIDER)
    return lambda: cache.load_panel(PROVIDER, symbols)


def child_peak_mb(path: str, folder: Path) -> float:
    """Run one pipeline in a fresh interpreter and return its peak resident set (MiB)."""
    script = Path(__file__).resolve()
    out = subprocess.run(
        [sys.executable, str(script), "--memory-child", path, "--folder", str(folder)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def high_water_mb() -> float:
    """Return this process's peak resident memory (``VmHWM``), in MiB.

    ``ru_maxrss`` survives ``fork`` + ``exec`` (a child started by a big parent reports the
    parent's size); ``VmHWM`` belongs to the new address space, so it starts afresh.
    """
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024.0
    return peak_rss_mb()


def memory_child(path: str, folder: Path) -> int:
    """Child of ``child_peak_mb``: run one ``warm`` or ``cold`` pipeline, print its peak."""
    csv = folder / "market.csv"
    load_panel = cache_loader(folder) if path == "warm" else csv_loader(csv, folder)
    pipeline(load_panel, config())
    print(f"{high_water_mb():.1f}")
    return 0


def csv_loader(csv: Path, folder: Path) -> Callable[[], Panel]:
    """Return the ``--data PATH`` load of ``csv`` (sanity rules in warn mode)."""
    ctx = LoadContext(
        config=DataConfig.model_validate({"sanity": {"mode": "warn"}}), cache_dir=folder
    )
    return lambda: load(str(csv), ctx).panel


# -- the peer -----------------------------------------------------------------------------


def shifted(values: np.ndarray, fill: Any) -> np.ndarray:
    """Return ``values`` one bar later: an order decided at a close executes at the next bar."""
    out = np.empty_like(values)
    out[0] = fill
    out[1:] = values[:-1]
    return out


def bench_vectorbt(
    panel: Panel, signals: Signals, cfg: HarvesterConfig, repeat: int
) -> tuple[float, int] | None:
    """Return vectorbt's best ``from_signals`` time and order count, or None if absent."""
    try:
        vbt = importlib.import_module("vectorbt")
    except ImportError:
        return None
    market = market_arrays(panel, cfg)

    def frame(values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(values, index=panel.index, columns=list(panel.symbols))

    kwargs = {
        "close": frame(market.close),
        "open": frame(market.open),
        "high": frame(market.high),
        "low": frame(market.low),
        "price": frame(market.open),
        "entries": frame(shifted(signals.direction > 0, fill=False)),
        "exits": frame(shifted(signals.exit, fill=False)),
        "sl_stop": frame(shifted(STOP_ATR * market.atr / market.close, fill=np.nan)),
        "sl_trail": True,
        "tp_stop": frame(shifted(TARGET_ATR * market.atr / market.close, fill=np.nan)),
        "stop_entry_price": "fillprice",
        "size": FRACTION,
        "size_type": "percent",
        "fees": COMMISSION_BPS / 10_000.0,
        "slippage": SLIPPAGE_BPS / 10_000.0,
        "init_cash": INITIAL_CASH,
        "cash_sharing": True,
        "group_by": True,
        "freq": "1D",
    }
    portfolio = vbt.Portfolio.from_signals(**kwargs)  # warm-up: numba compilation
    best = math.inf
    with gc_paused():
        for _ in range(repeat):
            started = time.perf_counter()
            portfolio = vbt.Portfolio.from_signals(**kwargs)
            best = min(best, time.perf_counter() - started)
    return best, int(portfolio.orders.count())


def simulation_seconds(panel: Panel, signals: Signals, cfg: HarvesterConfig, repeat: int) -> float:
    """Return our best time of the simulation part alone (inputs + kernel, no journal)."""
    best = math.inf
    params = engine_params(cfg)
    with gc_paused():
        for _ in range(repeat):
            started = time.perf_counter()
            simulate(market_arrays(panel, cfg), signals, params)
            best = min(best, time.perf_counter() - started)
    return best


# -- main ---------------------------------------------------------------------------------


def print_steps(label: str, timings: Timings) -> None:
    """Print one pipeline's total and its steps."""
    steps = ", ".join(f"{name} {timings.seconds[name]:.2f}" for name in STEPS)
    print(f"{label}: {timings.total:.2f} s ({steps})")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the benchmark and print the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--symbols", type=int, default=800)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-child", choices=("warm", "cold"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        return memory_child(args.memory_child, args.folder)
    repeat = max(1, args.repeat)
    cfg = config()

    params = SyntheticParams(symbols=args.symbols, years=args.years, seed=5, start="2000-01-03")
    market = generate_market(params).panel
    n_times, n_symbols = market.shape
    print(
        f"data: synthetic, {n_symbols} symbols × {n_times} sessions = {n_symbols * n_times:,} bars"
    )
    with tempfile.TemporaryDirectory(prefix="harvester-bench-e2e-") as name:
        folder = Path(name)
        csv, _, csv_write, cache_write = write_inputs(market, folder)
        size_mb = csv.stat().st_size / 2**20
        print(f"inputs written: long CSV {size_mb:.0f} MiB in {csv_write:.1f} s; "
              f"Parquet cache ({n_symbols} files) in {cache_write:.1f} s")  # fmt: skip
        del market
        gc.collect()

        # Cold: from the CSV, first pipeline run of the process (numba loads its disk cache).
        cold, *_ = pipeline(csv_loader(csv, folder), cfg)
        gc.collect()
        warm_load = cache_loader(folder)
        pipeline(warm_load, cfg)  # untimed warm-up
        best: Timings | None = None
        with gc_paused():
            for _ in range(repeat):
                timings, panel, signals, result = pipeline(warm_load, cfg)
                if best is None or timings.total < best.total:
                    best = timings
        assert best is not None
        del panel, signals, result
        gc.collect()
        tracemalloc.start()
        _, panel, signals, result = pipeline(warm_load, cfg)
        traced_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        # Resident peaks of one pipeline each, in fresh interpreters (imports included).
        warm_peak, cold_peak = child_peak_mb("warm", folder), child_peak_mb("cold", folder)

    print_steps(f"warm, from the Parquet cache (best of {repeat})", best)
    print(f"  target <= {TARGET_WARM_SECONDS:.0f} s: {verdict(best.total <= TARGET_WARM_SECONDS)}")
    print_steps("cold, from the CSV via load(PATH) with sanity rules (one run)", cold)
    print(f"  target <= {TARGET_COLD_SECONDS:.0f} s: {verdict(cold.total <= TARGET_COLD_SECONDS)}")
    entries = int((signals.direction > 0).sum())
    closed = int(result.metrics["number_of_trades"])
    counts = {k: v for k, v in result.warnings.items() if v} or "none"
    print(f"signal: {entries:,} entry signals; backtest: {closed:,} closed trades, "
          f"{len(result.trades):,} journal rows, sharpe {result.metrics['sharpe']:.2f}, "
          f"engine counts {counts}")  # fmt: skip
    print(f"peak memory of one pipeline: tracemalloc {traced_mb:.0f} MiB (warm, Python and "
          f"NumPy buffers); max RSS in a fresh process {warm_peak:.0f} MiB warm, "
          f"{cold_peak:.0f} MiB cold (imports and compiled code included)")  # fmt: skip
    peak = max(warm_peak, cold_peak)
    print(f"  target <= {TARGET_PEAK_MB / 1024:.1f} GB (max RSS {peak:.0f} MiB): "
          f"{verdict(peak <= TARGET_PEAK_MB)}")  # fmt: skip

    ours = simulation_seconds(panel, signals, cfg, repeat)
    peer = bench_vectorbt(panel, signals, cfg, repeat)
    print(f"simulation part, ours (market arrays + numba kernel): {ours:.3f} s; "
          f"run_backtest with journal and metrics: {best.seconds['backtest']:.3f} s")  # fmt: skip
    if peer is None:
        print("peer vectorbt: skipped: not installed (pip install -e '.[bench]')")
    else:
        seconds, orders = peer
        print(f"peer vectorbt Portfolio.from_signals, same entries/exits: {seconds:.3f} s "
              f"({orders:,} orders); ratio vectorbt / ours on the simulation: "
              f"{seconds / ours:.1f}x")  # fmt: skip
    print(machine_line())
    print(versions_line("numpy", "numba", "pandas", "pyarrow", "vectorbt"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
