"""Benchmark: load ~500 S&P 500 symbols from the Parquet cache into a Panel.

Compares a warm load of every symbol from ``ParquetCache`` (one file per symbol) with the
peer path, building the same Panel from the long CSV with ``pandas.read_csv``, and prints
seconds, the ratio and peak memory. It also builds a 500 × 2520 Panel and prints its size.
Targets (from the issue): warm load under 0.5 s; the 500 × 2520 Panel under 100 MB.

Run: ``python bench/bench_panel_load.py [--csv PATH] [--repeat N]``. It reads
``../shared/data/equities_daily/sp500_all_stocks_5yr.csv.gz`` beside the repository and
skips with a message when that file is absent (a fresh clone has no ``../shared``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from harvester.data.cache import ParquetCache
from harvester.data.panel import OHLCV, Panel

T = TypeVar("T")

DEFAULT_CSV = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "equities_daily"
    / "sp500_all_stocks_5yr.csv.gz"
)
PROVIDER = "bench"
TARGET_LOAD_SECONDS = 0.5
TARGET_PANEL_MB = 100.0


def best_of(repeat: int, work: Callable[[], T]) -> tuple[float, T]:
    """Return the fastest of ``repeat`` timed runs of ``work`` and its last result."""
    best_seconds = float("inf")
    result = work()  # warm-up: imports, page cache, thread pool start
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        best_seconds = min(best_seconds, time.perf_counter() - started)
    return best_seconds, result


def peak_traced_mb(work: Callable[[], object]) -> float:
    """Return the peak allocation (MB) tracemalloc sees while ``work`` runs.

    It counts Python objects and NumPy / pandas buffers, not Arrow's own memory pool.
    """
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def rss_mb() -> float | None:
    """Return the resident set size of this process in MB, or None without psutil."""
    try:
        import psutil
    except ImportError:
        return None
    return float(psutil.Process().memory_info().rss) / 1e6


def panel_from_csv(csv: Path) -> Panel:
    """Return the peer path: ``read_csv`` of the long file, then ``Panel.from_long``."""
    long = pd.read_csv(csv).rename(columns={"Name": "symbol"})
    long["volume"] = long["volume"].astype(np.float64)
    return Panel.from_long(long)


def fill_cache(panel: Panel, cache: ParquetCache) -> float:
    """Write one Parquet file per symbol of ``panel`` and return the seconds it took."""
    started = time.perf_counter()
    fetched_at = datetime.now(UTC)
    for symbol in panel.symbols:
        bars = panel.symbol_frame(symbol)
        cache.put(PROVIDER, symbol, bars[bars["close"].notna()], fetched_at=fetched_at)
    return time.perf_counter() - started


def same_panel(left: Panel, right: Panel) -> bool:
    """Return True when both panels hold the same dates, symbols and OHLCV values."""
    if left.symbols != right.symbols or not left.index.equals(right.index):
        return False
    return all(np.array_equal(left.array(f), right.array(f), equal_nan=True) for f in OHLCV)


def synthetic_panel(n_times: int, n_symbols: int, *, seed: int = 7) -> Panel:
    """Return a seeded random-walk Panel of ``n_times`` sessions × ``n_symbols`` symbols."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, (n_times, n_symbols)), axis=0))
    spread = np.abs(rng.normal(0.0, 0.005, close.shape)) * close
    fields = {
        "open": close + rng.normal(0.0, 0.002, close.shape) * close,
        "high": close + spread,
        "low": close - spread,
        "close": close,
        "volume": rng.integers(10_000, 5_000_000, close.shape).astype(np.float64),
    }
    index = pd.bdate_range("2015-01-02", periods=n_times)
    symbols = tuple(f"S{i:04d}" for i in range(n_symbols))
    return Panel(index, symbols, fields)


def report(label: str, value: str) -> None:
    """Print one aligned result line."""
    print(f"{label:<52} {value}")


def measure_cache(panel: Panel, *, repeat: int) -> tuple[dict[str, float], Panel]:
    """Write ``panel`` to a temporary cache, time loading it back, return timings and panel."""
    with tempfile.TemporaryDirectory(prefix="harvester-bench-") as folder:
        cache = ParquetCache(Path(folder))
        numbers = {"write_seconds": fill_cache(panel, cache)}
        symbols = cache.symbols(PROVIDER)
        numbers["read_seconds"], long = best_of(repeat, lambda: cache.read_many(PROVIDER, symbols))
        numbers["build_seconds"], _ = best_of(repeat, lambda: Panel.from_long(long))
        numbers["rss_before_mb"] = rss_mb() or float("nan")
        numbers["load_seconds"], loaded = best_of(
            repeat, lambda: cache.load_panel(PROVIDER, symbols)
        )
        numbers["rss_after_mb"] = rss_mb() or float("nan")
        numbers["peak_mb"] = peak_traced_mb(lambda: cache.load_panel(PROVIDER, symbols))
    return numbers, loaded


def run(csv: Path, *, repeat: int) -> int:
    """Run every measurement, print the results, return the process exit code."""
    csv_seconds, csv_panel = best_of(repeat, lambda: panel_from_csv(csv))
    csv_peak_mb = peak_traced_mb(lambda: panel_from_csv(csv))
    cache, cached_panel = measure_cache(csv_panel, repeat=repeat)
    n_times, n_symbols = csv_panel.shape
    report("data", f"{csv.name}: {n_symbols} symbols × {n_times} sessions")
    report("write cache (one Parquet file per symbol)", f"{cache['write_seconds']:.3f} s")
    report(f"warm load from Parquet cache (best of {repeat})", f"{cache['load_seconds']:.3f} s")
    report("  of which ParquetCache.read_many (long frame)", f"{cache['read_seconds']:.3f} s")
    report("  of which Panel.from_long", f"{cache['build_seconds']:.3f} s")
    report(f"peer: pandas.read_csv + Panel.from_long (best of {repeat})", f"{csv_seconds:.3f} s")
    report("ratio peer / cache", f"{csv_seconds / cache['load_seconds']:.2f}x")
    report("same panel from both paths", str(same_panel(cached_panel, csv_panel)))
    peaks = f"{cache['peak_mb']:.0f} MB / {csv_peak_mb:.0f} MB"
    report("peak traced memory (tracemalloc): cache / CSV", peaks)
    rss = f"{cache['rss_before_mb']:.0f} -> {cache['rss_after_mb']:.0f} MB"
    report("process RSS around the timed cache loads", rss)
    big = synthetic_panel(2520, 500)
    big_mb = big.nbytes / 1e6
    report(
        f"Panel {big.shape[1]} × {big.shape[0]} ({len(big.fields)} fields) nbytes",
        f"{big_mb:.1f} MB",
    )
    verdict = {True: "met", False: "MISSED"}
    report(
        f"target: warm load < {TARGET_LOAD_SECONDS} s",
        verdict[cache["load_seconds"] < TARGET_LOAD_SECONDS],
    )
    report(
        f"target: 500 × 2520 Panel < {TARGET_PANEL_MB:.0f} MB", verdict[big_mb < TARGET_PANEL_MB]
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the benchmark, or skip when the data is absent."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV, help="long-format OHLCV CSV")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs; the best is kept")
    args = parser.parse_args(argv)
    csv = Path(args.csv).resolve()
    if not csv.is_file():
        print(f"skipped: {csv} not found; this benchmark needs ../shared/data (see DESIGN.md §4)")
        return 0
    return run(csv, repeat=max(1, args.repeat))


if __name__ == "__main__":
    sys.exit(main())
