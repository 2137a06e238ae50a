"""One symbol of a universe run as a picklable task: simulate it alone and write its folder.

A universe run (:func:`harvester.app.portfolio.run_universe`) hands one :class:`SymbolTask`
per symbol to an executor; :func:`simulate_and_write` runs on a worker, writes the symbol's
``BacktestResult.write`` files (charts and HTML report are most of a run's time, so they are
drawn in parallel too) and returns the result for the caller to aggregate.

This module imports only the engine, the result and the trade regimes — not the strategy
registry (scikit-learn, SciPy) — so a freshly spawned worker that unpickles a task starts
quickly; matplotlib is imported by the first task that draws, once per worker, and only its
Agg canvas is used (no display, no ``pyplot``). The same task gives the same bytes on any
worker: nothing written depends on the process, the time or the machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from harvester.backtest.engine import run_backtest
from harvester.backtest.result import BacktestResult
from harvester.backtest.trade_regimes import with_regime_names
from harvester.config.models import HarvesterConfig
from harvester.data.panel import Panel
from harvester.strategies.signals import Signals

__all__ = ["SymbolTask", "simulate_and_write"]


@dataclass(frozen=True, slots=True)
class SymbolTask:
    """One symbol's slice of the panel, signals and regimes, and where to write it.

    ``folder`` should be absolute: the task may run in another process or machine (the
    workers of a remote Dask cluster must share the output filesystem). ``charts`` and
    ``report`` are handed to ``BacktestResult.write``.
    """

    panel: Panel
    signals: Signals
    config: HarvesterConfig
    regimes: pd.DataFrame
    folder: Path
    title: str
    charts: bool = True
    report: bool = True


def simulate_and_write(task: SymbolTask) -> BacktestResult:
    """Simulate ``task``'s symbol alone, write its folder, and return the result."""
    result = with_regime_names(
        run_backtest(task.panel, task.signals, task.config, regimes=task.regimes)
    )
    result.write(
        task.folder, title=task.title, close=task.panel.frame("close"), charts=task.charts,
        report=task.report,
    )  # fmt: skip
    return result
