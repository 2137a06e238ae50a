"""The backtest use case: load data, build signals, simulate, write the result files."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from harvester.app.context import AppContext
from harvester.app.data import load_data
from harvester.backtest.engine import run_backtest
from harvester.backtest.result import BacktestResult
from harvester.core.errors import ConfigError
from harvester.data.providers.fetch import Progress
from harvester.strategies.signal_file import read_signal_file

__all__ = ["BacktestJob", "run_backtest_job"]

STRATEGIES = ("signals",)


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
) -> BacktestJob:
    """Run ``strategy`` on the data ``spec`` and write trades, equity, metrics and report."""
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown strategy {strategy!r}; available: {', '.join(STRATEGIES)}")
    if signals_path is None:
        raise ConfigError("the signals strategy needs --signals FILE (columns date,symbol,signal)")
    loaded = load_data(ctx, spec, progress=progress)
    aligned = read_signal_file(signals_path, loaded.panel)
    result = run_backtest(loaded.panel, aligned.signals, ctx.config)
    skipped = {f"signals_{reason}": n for reason, n in aligned.skipped.items()}
    result = replace(result, warnings={**result.warnings, **skipped})
    written = result.write(out_dir or _default_out(ctx), title=f"signals on {loaded.source}")
    return BacktestJob(result, loaded.source, written)
