"""Benchmark: a feature set on 800 symbols × 20 years vs a per-symbol TA-Lib loop.

Computes every feature of the chosen set (``--set``: ``technical``, ``rally``, ``panic`` or
``all``; default parameters) on the whole synthetic panel at once, warm (best of
``--repeat``), and, beside it, the indicators TA-Lib also has (SMA, EMA, RSI, ATR, TRANGE,
MACD, BBANDS, ADX, LINEARREG_SLOPE) with a Python loop over symbols calling TA-Lib per column:
the usual way users compute them. Prints seconds, the ratio and the machine; with
``--per-feature`` also each feature's time, slowest first. Target of issue 4: the full daily
feature set in at most 3 s warm.

Run: ``python bench/bench_features.py [--set all] [--per-feature] [--symbols 800]
[--years 20] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial

import numpy as np

from _machine import machine_line, versions_line
from harvester.data.panel import Panel
from harvester.features.registry import FEATURES
from harvester.features.sets import FEATURE_SETS, feature_set
from harvester.testing import SyntheticParams, generate_market

TARGET_SECONDS = 3.0


def best_of(repeat: int, work: Callable[[], object]) -> float:
    """Return the fastest of ``repeat`` timed runs of ``work``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


# Our features that TA-Lib also computes (MACD and Bollinger give several outputs each).
SHARED = ("sma", "ema", "rsi", "atr", "true_range", "macd", "macd_signal", "macd_hist",
          "bb_middle", "bb_upper", "bb_lower", "adx", "linreg_slope")  # fmt: skip


def ours(panel: Panel, names: tuple[str, ...]) -> None:
    """Compute ``names`` on the whole panel at once, sharing their common pieces."""
    FEATURES.compute_many(panel, names)


def talib_loop(panel: Panel) -> None:
    """Compute the TA-Lib counterparts symbol by symbol."""
    import talib

    high, low, close = panel.array("high"), panel.array("low"), panel.array("close")
    for i in range(panel.shape[1]):
        h, lo, c = (np.ascontiguousarray(a[:, i]) for a in (high, low, close))
        talib.SMA(c, 20), talib.EMA(c, 20), talib.RSI(c, 14), talib.ATR(h, lo, c, 14)
        talib.TRANGE(h, lo, c), talib.MACD(c, 12, 26, 9), talib.BBANDS(c, 20, 2, 2)
        talib.ADX(h, lo, c, 14), talib.LINEARREG_SLOPE(c, 20)


def print_per_feature(panel: Panel, names: tuple[str, ...], repeat: int) -> None:
    """Print each feature's warm time, slowest first."""
    times = {name: best_of(repeat, partial(ours, panel, (name,))) for name in names}
    for name, seconds in sorted(times.items(), key=lambda item: -item[1]):
        print(f"  {name:<18} {seconds * 1000:8.1f} ms")
    print(f"  {'sum':<18} {sum(times.values()) * 1000:8.1f} ms")


def print_talib_comparison(panel: Panel, repeat: int) -> None:
    """Print our time and the TA-Lib loop's on the outputs both have, and their ratio."""
    shared = best_of(repeat, lambda: ours(panel, SHARED))
    print(f"harvester, the {len(SHARED)} outputs TA-Lib also has: {shared:.2f} s")
    try:
        peer = best_of(repeat, lambda: talib_loop(panel))
    except ImportError:
        print("TA-Lib: not installed (pip install TA-Lib)")
        return
    print(f"TA-Lib per-symbol loop, the same {len(SHARED)} outputs: {peer:.2f} s")
    print(f"ratio TA-Lib loop / harvester on the same outputs: {peer / shared:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--set", default="technical", choices=[*FEATURE_SETS, "all"])
    parser.add_argument("--per-feature", action="store_true")
    parser.add_argument("--symbols", type=int, default=800)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    params = SyntheticParams(symbols=args.symbols, years=args.years, seed=5, start="2000-01-03")
    panel = generate_market(params).panel
    names = feature_set(args.set)
    ours(panel, names)  # warm: compile the kernels
    print(f"data: synthetic, {panel.shape[1]} symbols × {panel.shape[0]} bars")
    mine = best_of(args.repeat, lambda: ours(panel, names))
    verdict = "pass" if mine <= TARGET_SECONDS else "not yet"
    print(f"harvester, {args.set} set ({len(names)} features): {mine:.2f} s "
          f"(target <= {TARGET_SECONDS:.0f} s: {verdict})")  # fmt: skip
    if args.per_feature:
        print_per_feature(panel, names, args.repeat)
    print_talib_comparison(panel, args.repeat)
    print(machine_line())
    print(versions_line("numpy", "numba", "pandas", "TA-Lib"))


if __name__ == "__main__":
    main()
