"""The backtest use case: load data, build signals, simulate, write the result files."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from harvester.app.context import AppContext
from harvester.app.data import load_data
from harvester.backtest.engine import run_backtest
from harvester.backtest.result import BacktestResult
from harvester.backtest.trade_regimes import trade_regimes, with_regime_names
from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError
from harvester.data.panel import Panel
from harvester.data.providers.fetch import Progress
from harvester.strategies.registry import STRATEGIES
from harvester.strategies.signal_file import read_signal_file

__all__ = [
    "SIGNAL_FILE",
    "BacktestJob",
    "backtest_strategy",
    "run_backtest_job",
    "strategy_names",
    "trade_regimes",
    "with_regime_names",
]

SIGNAL_FILE = "signals"
"""The pseudo-strategy that trades a signal file (``--signals FILE``)."""


def strategy_names() -> tuple[str, ...]:
    """Every name ``--strategy`` accepts."""
    return (SIGNAL_FILE, *STRATEGIES)


@dataclass(frozen=True, slots=True)
class BacktestJob:
    """A finished backtest and the files it wrote."""

    result: BacktestResult
    source: str
    written: list[Path]


def _default_out(ctx: AppContext) -> Path:
    return ctx.home.reports / f"backtest_{ctx.now():%Y%m%dT%H%M%SZ}"


def run_backtest_job(
    ctx: AppContext,
    spec: str,
    *,
    strategy: str,
    signals_path: Path | None,
    out_dir: Path | None = None,
    progress: Progress | None = None,
    charts: bool = True,
    report: bool = True,
) -> BacktestJob:
    """Run ``strategy`` on the data ``spec`` and write trades, equity, metrics and (unless
    switched off) the charts and the HTML report."""
    if strategy not in strategy_names():
        raise ConfigError(
            f"unknown strategy {strategy!r}; available: {', '.join(strategy_names())}"
        )
    if strategy == SIGNAL_FILE and signals_path is None:
        raise ConfigError("the signals strategy needs --signals FILE (columns date,symbol,signal)")
    loaded = load_data(ctx, spec, progress=progress)
    if strategy == SIGNAL_FILE:
        assert signals_path is not None
        result = _signal_file_backtest(loaded.panel, signals_path, ctx)
    else:
        result = backtest_strategy(loaded.panel, strategy, ctx.config)
    written = result.write(
        out_dir or _default_out(ctx),
        title=f"{strategy} on {loaded.source}",
        close=loaded.panel.frame("close"),
        charts=charts,
        report=report,
    )
    return BacktestJob(result, loaded.source, written)


def backtest_strategy(panel: Panel, name: str, config: HarvesterConfig) -> BacktestResult:
    """Generate registered strategy ``name``'s signals on ``panel`` and simulate them (under
    the engine settings the strategy prescribes on top of ``config``).
    """
    strategy = STRATEGIES[name]
    config = strategy.configure(config)
    output = strategy.generate(panel, config)
    regimes = trade_regimes(panel, config.regimes)
    return with_regime_names(run_backtest(panel, output.signals, config, regimes=regimes))


def _signal_file_backtest(panel: Panel, path: Path, ctx: AppContext) -> BacktestResult:
    aligned = read_signal_file(path, panel)
    regimes = trade_regimes(panel, ctx.config.regimes)
    result = with_regime_names(run_backtest(panel, aligned.signals, ctx.config, regimes=regimes))
    skipped = {f"signals_{reason}": n for reason, n in aligned.skipped.items()}
    return replace(result, warnings={**result.warnings, **skipped})
