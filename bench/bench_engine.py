"""Benchmark: the numba simulator against vectorbt and backtrader, and a trade cross-check.

On a synthetic market (800 symbols × 20 years by default) with random entry and exit signals:

(a) harvester's kernel throughput in million (bar × symbol) cells per second, warm, best of
    ``--repeat``, with ATR stop, take-profit and trailing stop, fractional fixed-fraction
    sizing, a position limit and one shared cash balance (target: at least 50 M cells/s);
(b) vectorbt ``Portfolio.from_signals`` on the same data with the closest settings, and the
    ratio of run times;
(c) backtrader on 20 of the symbols with the same rules, and the ratio;
(d) a cross-check on one symbol (next-open fills, no stops, no costs, whole shares): our trade
    list must equal backtesting.py's;
(e) the peak resident memory after our runs (target: at most 1.5 GB);
(f) the machine and the library versions.

Every timing is warm (one untimed run first, so compilation is excluded) and runs with the
garbage collector paused, as ``timeit`` does. A peer that is not installed prints "skipped:
not installed" (``pip install -e '.[bench]'`` installs them).

Run: ``.venv/bin/python bench/bench_engine.py [--symbols 800] [--years 20] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import io
import math
import os
import platform
import resource
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, TypeVar

import numpy as np
import pandas as pd

from harvester.backtest._arrays import (
    TRADE_COLUMNS,
    EngineParams,
    MarketArrays,
    SignalArrays,
    SimOutput,
)
from harvester.backtest._kernels import simulate_kernel
from harvester.backtest.inputs import engine_params, market_arrays
from harvester.config.models import HarvesterConfig
from harvester.data.panel import Panel
from harvester.domain.trades import ExitReason
from harvester.testing import SyntheticParams, generate_market

T = TypeVar("T")

TARGET_CELLS_PER_SECOND = 50e6
TARGET_PEAK_MIB = 1536.0
ENTRY_SHARE = 0.01  # share of (bar, symbol) cells with an entry signal, and with an exit
INITIAL_CASH = 100_000.0
FRACTION = 0.02
MAX_POSITIONS = 40
STOP_ATR, TARGET_ATR, TRAIL_ATR = 2.0, 4.0, 3.0
SLIPPAGE_BPS, COMMISSION_BPS = 5.0, 1.0
PEER_SYMBOLS = 20
PEER_MAX_POSITIONS = 10
PEER_FRACTION = 0.05
CROSS_FRACTION = 0.5
TRADE = {name: k for k, name in enumerate(TRADE_COLUMNS)}


class Case(NamedTuple):
    """One market with its signals, ready for our kernel and for the peers."""

    panel: Panel
    market: MarketArrays
    entries: np.ndarray  # (time × symbols) bool
    exits: np.ndarray


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


def best_of(repeat: int, work: Callable[[], T]) -> tuple[float, T]:
    """Return the fastest of ``repeat`` timed runs of ``work`` (after one warm-up run)."""
    result = work()
    best = math.inf
    with gc_paused():
        for _ in range(repeat):
            started = time.perf_counter()
            result = work()
            best = min(best, time.perf_counter() - started)
    return best, result


def peer(name: str) -> Any:
    """Return the imported peer library, or None when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def version(distribution: str) -> str:
    """Return the installed version of ``distribution``, or "not installed"."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def peak_rss_mb() -> float:
    """Return this process's peak resident memory so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo, or the platform's processor string."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


# -- inputs -------------------------------------------------------------------------------


def config(*, fraction: float, max_positions: int, costs: bool = True) -> HarvesterConfig:
    """Return the rules every contender is configured to follow as closely as it can."""
    stops = {"stop_loss_atr": STOP_ATR, "take_profit_atr": TARGET_ATR}
    trailing = {"enabled": True, "atr_multiplier": TRAIL_ATR, "min_distance": 0.0}
    return HarvesterConfig.model_validate(
        {
            "initial_capital": INITIAL_CASH,
            "execution": {
                "fill": "next_open",
                "slippage_bps": SLIPPAGE_BPS if costs else 0.0,
                "commission_bps": COMMISSION_BPS if costs else 0.0,
                "fractional_shares": costs,
            },
            "risk_management": {
                "base_position_fraction": fraction,
                "max_position_notional_usd": 0,
                "max_open_positions": max_positions,
                "allow_short": False,
                **(stops if costs else {"stop_loss_atr": 0.0, "take_profit_atr": 0.0}),
                "trailing_stops": trailing if costs else {"enabled": False},
            },
            "risk_params": {
                "max_gross_exposure_pct": 100,
                "max_position_size": 1.0,
                "max_daily_loss_pct": 0,
                "max_drawdown_pct": 0,
            },
        }
    )


def build_case(*, symbols: int, years: int, seed: int) -> Case:
    """Return a synthetic market and random entry and exit signals for it."""
    panel = generate_market(
        SyntheticParams(symbols=symbols, years=years, seed=seed, start="2000-01-03")
    ).panel
    # The feature functions return some (time × symbols) arrays in column order; the kernel
    # reads rows, so the C-ordered copies are made here, once, outside every timing.
    arrays = market_arrays(panel, config(fraction=FRACTION, max_positions=MAX_POSITIONS))
    market = MarketArrays(**{name: np.ascontiguousarray(a) for name, a in arrays._asdict().items()})
    rng = np.random.default_rng(seed + 1)
    shape = panel.shape
    return Case(panel, market, rng.random(shape) < ENTRY_SHARE, rng.random(shape) < ENTRY_SHARE)


def our_signals(entries: np.ndarray, exits: np.ndarray) -> SignalArrays:
    """Return long entries and exits as harvester ``Signals`` (size 1, equal scores)."""
    return SignalArrays(
        entries.astype(np.int8), exits, np.ones(entries.shape), np.zeros(entries.shape)
    )


def columns(market: MarketArrays, symbols: slice, *, fractional: bool = True) -> MarketArrays:
    """Return the market restricted to ``symbols``, C-ordered (optionally in whole units)."""
    arrays = market._asdict().items()
    kept = {name: np.ascontiguousarray(a[:, symbols]) for name, a in arrays if a.ndim == 2}
    whole = np.zeros(symbols.stop - symbols.start, dtype=bool)
    return market._replace(**kept, fractional=market.fractional[symbols] if fractional else whole)


def run_ours(market: MarketArrays, signals: SignalArrays, params: EngineParams) -> SimOutput:
    """Return our simulation of ``market`` and ``signals``."""
    return simulate_kernel(market, signals, params)


# -- (a) our kernel -----------------------------------------------------------------------


def bench_ours(case: Case, repeat: int, *, max_positions: int) -> tuple[float, SimOutput]:
    """Return the best time and the result of our kernel on the whole case."""
    params = engine_params(config(fraction=FRACTION, max_positions=max_positions))
    signals = our_signals(case.entries, case.exits)
    return best_of(repeat, lambda: run_ours(case.market, signals, params))


# -- (b) vectorbt -------------------------------------------------------------------------


def shifted(values: np.ndarray, fill: Any) -> np.ndarray:
    """Return ``values`` one bar later: an order decided at a close executes at the next bar."""
    out = np.empty_like(values)
    out[0] = fill
    out[1:] = values[:-1]
    return out


def vectorbt_kwargs(case: Case) -> dict[str, Any]:
    """Return ``from_signals`` arguments closest to our rules (see docs/engine-performance.md)."""
    m = case.market

    def frame(values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(values, index=case.panel.index, columns=list(case.panel.symbols))

    return {
        "close": frame(m.close),
        "open": frame(m.open),
        "high": frame(m.high),
        "low": frame(m.low),
        "price": frame(m.open),  # next-open fills: signals shifted one bar, filled at the open
        "entries": frame(shifted(case.entries, fill=False)),
        "exits": frame(shifted(case.exits, fill=False)),
        # Our stops are ATR multiples from the fill; as fractions of the signal close:
        "sl_stop": frame(shifted(STOP_ATR * m.atr / m.close, fill=np.nan)),
        "sl_trail": True,
        "tp_stop": frame(shifted(TARGET_ATR * m.atr / m.close, fill=np.nan)),
        "stop_entry_price": "fillprice",
        "size": FRACTION,
        "size_type": "percent",
        "fees": COMMISSION_BPS / 10_000.0,
        "slippage": SLIPPAGE_BPS / 10_000.0,
        "init_cash": INITIAL_CASH,
        "cash_sharing": True,
        "group_by": True,
        "freq": "1D",
        "engine": "numba",
    }


def bench_vectorbt(case: Case, repeat: int) -> tuple[float, int] | None:
    """Return vectorbt's best time and its number of orders, or None without vectorbt."""
    vbt = peer("vectorbt")
    if vbt is None:
        return None
    kwargs = vectorbt_kwargs(case)
    seconds, portfolio = best_of(repeat, lambda: vbt.Portfolio.from_signals(**kwargs))
    return seconds, int(portfolio.orders.count())


# -- (c) backtrader -----------------------------------------------------------------------


def backtrader_next(strategy: Any) -> None:
    """Trade one bar of the precomputed signals: exits first, then entries up to the limit."""
    t, p, datas = len(strategy) - 1, strategy.p, strategy.datas
    busy = sum(1 for d in datas if strategy.getposition(d).size or d in strategy.brackets)
    for k, data in enumerate(datas):
        if strategy.getposition(data).size and p.exits[t, k]:
            for order in strategy.brackets.pop(data, ()):
                strategy.cancel(order)
            strategy.close(data=data)
        elif data not in strategy.brackets and p.entries[t, k] and busy < PEER_MAX_POSITIONS:
            busy += backtrader_enter(strategy, data, close=data.close[0], atr=p.atr[t, k])


def backtrader_enter(strategy: Any, data: Any, *, close: float, atr: float) -> int:
    """Send a market entry with its trailing stop and take-profit; return 1 if sent."""
    if not atr > 0.0 or strategy.getposition(data).size:
        return 0
    order = strategy.order_types
    strategy.brackets[data] = strategy.buy_bracket(
        data=data,
        size=strategy.broker.getvalue() * PEER_FRACTION / close,
        exectype=order.Market,
        stopprice=close - STOP_ATR * atr,
        stopexec=order.StopTrail,
        stopargs={"trailamount": TRAIL_ATR * atr},
        limitprice=close + TARGET_ATR * atr,
    )
    return 1


def backtrader_strategy(bt: Any) -> Any:
    """Return a backtrader strategy that trades the precomputed signals with our rules."""

    class FromSignals(bt.Strategy):  # type: ignore[misc]
        params: ClassVar[dict[str, Any]] = {"entries": None, "exits": None, "atr": None}
        order_types = bt.Order

        def __init__(self) -> None:
            self.brackets: dict[Any, Any] = {}

        def next(self) -> None:
            backtrader_next(self)

        def notify_order(self, order: Any) -> None:
            if not order.isbuy() and not order.alive():
                self.brackets.pop(order.data, None)

    return FromSignals


def run_backtrader(bt: Any, case: Case, symbols: slice) -> float:
    """Run backtrader on ``symbols`` of the case and return the final portfolio value."""
    cerebro = bt.Cerebro(stdstats=False)
    m = case.market
    for k in range(symbols.stop):
        fields = {"open": m.open, "high": m.high, "low": m.low, "close": m.close}
        frame = pd.DataFrame({name: a[:, k] for name, a in fields.items()}, index=case.panel.index)
        cerebro.adddata(bt.feeds.PandasData(dataname=frame.assign(volume=m.volume[:, k])))
    cerebro.broker.setcash(INITIAL_CASH)
    cerebro.broker.setcommission(commission=COMMISSION_BPS / 10_000.0)
    cerebro.broker.set_slippage_perc(SLIPPAGE_BPS / 10_000.0)
    cerebro.addstrategy(
        backtrader_strategy(bt),
        entries=case.entries[:, symbols],
        exits=case.exits[:, symbols],
        atr=m.atr[:, symbols],
    )
    cerebro.run()
    return float(cerebro.broker.getvalue())


def bench_backtrader(case: Case) -> tuple[float, float] | None:
    """Return backtrader's time on 20 symbols and ours on the same, or None without it."""
    bt = peer("backtrader")
    if bt is None:
        return None
    symbols = slice(0, PEER_SYMBOLS)
    started = time.perf_counter()
    with gc_paused():
        run_backtrader(bt, case, symbols)
    theirs = time.perf_counter() - started
    params = engine_params(config(fraction=PEER_FRACTION, max_positions=PEER_MAX_POSITIONS))
    market = columns(case.market, symbols)
    signals = our_signals(case.entries[:, symbols], case.exits[:, symbols])
    ours, _ = best_of(3, lambda: run_ours(market, signals, params))
    return theirs, ours


# -- (d) cross-check ----------------------------------------------------------------------


def backtesting_trades(case: Case, symbol: int) -> pd.DataFrame | None:
    """Return backtesting.py's trades for one symbol with our cross-check rules, or None."""
    backtesting = peer("backtesting")
    if backtesting is None:
        return None
    entries, exits = case.entries[:, symbol], case.exits[:, symbol]

    class FromSignals(backtesting.Strategy):  # type: ignore[misc,name-defined]
        def init(self) -> None:
            pass

        def next(self) -> None:
            t = len(self.data) - 1
            if self.position and exits[t]:
                self.position.close()
            elif not self.position and entries[t]:
                # Our whole-share fixed-fraction size: floor(equity × fraction / close).
                self.buy(size=math.floor(self.equity * CROSS_FRACTION / self.data.Close[-1] + 1e-9))

    m = case.market
    fields = {"Open": m.open, "High": m.high, "Low": m.low, "Close": m.close, "Volume": m.volume}
    frame = pd.DataFrame({k: a[:, symbol] for k, a in fields.items()}, index=case.panel.index)
    run = backtesting.Backtest(frame, FromSignals, cash=INITIAL_CASH, finalize_trades=False)
    with contextlib.redirect_stderr(io.StringIO()):  # its progress bar
        return run.run()._trades  # type: ignore[no-any-return]


def cross_check(case: Case, symbol: int = 0) -> str:
    """Compare our closed trades on one symbol with backtesting.py's; describe the outcome."""
    theirs = backtesting_trades(case, symbol)
    if theirs is None:
        return "skipped: backtesting not installed"
    cut = slice(symbol, symbol + 1)
    params = engine_params(config(fraction=CROSS_FRACTION, max_positions=1, costs=False))
    signals = our_signals(case.entries[:, cut], case.exits[:, cut])
    trades = run_ours(columns(case.market, cut, fractional=False), signals, params).trades
    ours = trades[trades[:, TRADE["exit_reason"]] != int(ExitReason.OPEN)]
    names = ("entry_bar", "exit_bar", "entry_price", "exit_price", "qty")
    peers = ("EntryBar", "ExitBar", "EntryPrice", "ExitPrice", "Size")
    if len(ours) != len(theirs):
        return f"DIFFERENT: {len(ours)} trades here, {len(theirs)} in backtesting.py"
    for row in range(len(ours)):
        for name, other in zip(names, peers, strict=True):
            if ours[row, TRADE[name]] != float(theirs[other].iloc[row]):
                mine, peer_value = ours[row, TRADE[name]], theirs[other].iloc[row]
                return f"DIFFERENT at trade {row}: {name} {mine} here, {peer_value} there"
    return f"identical {len(ours)} trades (entry and exit bars, prices and sizes)"


# -- report -------------------------------------------------------------------------------


def machine_lines() -> list[str]:
    """Return the machine and library lines of the report."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    libraries = ("numpy", "numba", "pandas", "vectorbt", "backtrader", "backtesting")
    versions = ", ".join(f"{name} {version(name)}" for name in libraries)
    return [
        f"(f) machine: {cpu_model()}, {os.cpu_count()} cores ({usable} usable), "
        f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
        f"    libraries: {versions}",
    ]


def parse_args() -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--symbols", type=int, default=800)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    return parser.parse_args()


def report_ours(case: Case, repeat: int) -> tuple[float, float, float]:
    """Print (a); return our times with and without the position limit and output MiB."""
    cells = case.market.close.size
    limited, out = bench_ours(case, repeat, max_positions=MAX_POSITIONS)
    rate = cells / limited
    verdict = "pass" if rate >= TARGET_CELLS_PER_SECOND else "FAIL"
    print(
        f"(a) harvester kernel: {limited:.4f} s = {rate / 1e6:.1f} M cells/s "
        f"(target >= {TARGET_CELLS_PER_SECOND / 1e6:.0f}: {verdict}); {len(out.trades)} trades, "
        f"{(out.positions != 0).sum(axis=1).mean():.1f} positions open on average"
    )
    unlimited, free = bench_ours(case, repeat, max_positions=case.market.close.shape[1])
    print(
        f"    same with no position limit: {unlimited:.4f} s = {cells / unlimited / 1e6:.1f} M "
        f"cells/s; {len(free.trades)} trades"
    )
    return limited, unlimited, sum(a.nbytes for a in out) / 2**20


def main() -> None:
    """Run every part of the benchmark and print the report."""
    args = parse_args()
    print(f"harvester engine benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    for line in machine_lines():
        print(line)
    case = build_case(symbols=args.symbols, years=args.years, seed=args.seed)
    n_times, n_symbols = case.market.close.shape
    print(
        f"data: synthetic, {n_symbols} symbols × {n_times} bars = {n_times * n_symbols:,} "
        f"cells (seed {args.seed}); signals: {ENTRY_SHARE:.0%} entries and exits per cell"
    )
    limited, unlimited, output_mb = report_ours(case, args.repeat)
    peak = peak_rss_mb()
    vectorbt = bench_vectorbt(case, args.repeat)
    if vectorbt is None:
        print("(b) vectorbt: skipped: not installed")
    else:
        seconds, orders = vectorbt
        print(
            f"(b) vectorbt from_signals: {seconds:.4f} s ({orders} orders); harvester is "
            f"{seconds / limited:.1f}x faster ({seconds / unlimited:.1f}x without the limit)"
        )
    backtrader = bench_backtrader(case)
    if backtrader is None:
        print("(c) backtrader: skipped: not installed")
    else:
        theirs, ours = backtrader
        print(
            f"(c) backtrader, {PEER_SYMBOLS} symbols: {theirs:.2f} s; harvester on the same: "
            f"{ours:.4f} s, {theirs / ours:.0f}x faster"
        )
    print(f"(d) cross-check with backtesting.py on one symbol: {cross_check(case)}")
    verdict = "pass" if peak <= TARGET_PEAK_MIB else "FAIL"
    print(
        f"(e) peak resident memory after our runs: {peak:.0f} MiB, data included "
        f"(target <= {TARGET_PEAK_MIB:.0f} MiB: {verdict}; measured before the peers ran); "
        f"the kernel's output arrays: {output_mb:.0f} MiB"
    )


if __name__ == "__main__":
    main()
