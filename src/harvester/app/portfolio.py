"""Universe runs (``backtest --run-all``) and Rally's calibration check (``--validate``).

A universe run backtests every symbol of the data ALONE, each with its own slice of the
initial capital (``initial_capital / n_symbols``), and aggregates a portfolio by summing the
per-symbol equity curves (cash, gross and all). The strategy's signals are generated once on
the whole panel — features such as breadth need the universe — and each symbol's columns of
those signals are then simulated on that symbol's slice of the panel. The per-symbol
simulations are independent tasks run by an :class:`~harvester.research.executors.Executor`
(inline by default; local processes or Dask give identical results). Each task also writes
its symbol's folder — the charts and HTML report are most of a run's time, so they run in
parallel too — and hands back the :class:`BacktestResult` the portfolio is summed from; the
portfolio files are written by the caller. Tasks get absolute folders: the workers of a
remote Dask cluster must share the output filesystem.

Files written under ``out_dir``:

- ``<SYMBOL>/``: that symbol's full backtest (the files ``BacktestResult.write`` writes;
  without its PNG charts when ``charts`` is false, without ``report.html`` when ``report`` is);
- ``symbols.csv``: one row per symbol (:data:`SYMBOL_COLUMNS`), best total return first;
- ``portfolio_equity.csv``: ``date, equity, cash, gross, exposure`` of the summed portfolio;
- ``portfolio_metrics.json``: the portfolio's metrics (all symbols' closed trades pooled);
- ``equity.png`` / ``drawdown.png``: the portfolio's curve.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harvester.analytics.metrics import compute_metrics, infer_periods_per_year, trade_stats
from harvester.app.backtest import trade_regimes
from harvester.app.context import AppContext
from harvester.app.data import load_data
from harvester.backtest.plots import write_plots
from harvester.backtest.result import BacktestResult
from harvester.backtest.symbol_task import SymbolTask, simulate_and_write
from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError, DataError
from harvester.core.paths import atomic_path
from harvester.data.panel import Panel
from harvester.data.providers.fetch import Progress
from harvester.research.executors import Executor, SerialExecutor
from harvester.strategies._rally_model import write_fold_report
from harvester.strategies.rally import HAND_D_DN, HAND_R_UP, fit_walk_forward, validate_calibration
from harvester.strategies.registry import STRATEGIES
from harvester.strategies.signals import Signals

__all__ = [
    "SYMBOL_COLUMNS",
    "RallyValidation",
    "SymbolRun",
    "UniverseRun",
    "run_universe",
    "validate_rally",
]

SYMBOL_COLUMNS: tuple[str, ...] = (
    "symbol", "trades", "total_return", "sharpe", "max_drawdown", "win_rate", "final_equity",
)  # fmt: skip
"""The columns of ``symbols.csv`` (and of :attr:`UniverseRun.symbols`)."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True, slots=True)
class SymbolRun:
    """One symbol's standalone backtest and the folder it was written to."""

    symbol: str
    result: BacktestResult
    out_dir: Path


@dataclass(frozen=True, slots=True)
class UniverseRun:
    """Every symbol's standalone run and the portfolio of their summed equity."""

    strategy: str
    source: str
    runs: tuple[SymbolRun, ...]
    symbols: pd.DataFrame
    equity: pd.DataFrame
    metrics: Mapping[str, float]
    out_dir: Path
    written: list[Path]


def _default_out(ctx: AppContext, prefix: str) -> Path:
    return ctx.home.reports / f"{prefix}_{ctx.now():%Y%m%dT%H%M%SZ}"


def _folder(symbol: str) -> str:
    return _UNSAFE.sub("_", symbol)


def _symbol_tasks(
    panel: Panel,
    signals: Signals,
    config: HarvesterConfig,
    regimes: pd.DataFrame,
    *,
    root: Path,
    strategy: str,
    source: str,
    charts: bool,
    report: bool,
) -> list[SymbolTask]:
    tasks = []
    for j, symbol in enumerate(panel.symbols):
        task = SymbolTask(
            panel=panel.select([symbol]),
            signals=signals.cut(columns=slice(j, j + 1)),
            config=config,
            regimes=regimes[[symbol]],
            folder=(root / _folder(symbol)).absolute(),
            title=f"{strategy} on {symbol} ({source})",
            charts=charts,
            report=report,
        )
        tasks.append(task)
    return tasks


def _symbol_row(symbol: str, result: BacktestResult) -> dict[str, Any]:
    metrics = result.metrics
    return {
        "symbol": symbol,
        "trades": int(metrics.get("number_of_trades", 0)),
        "total_return": float(metrics.get("total_return", math.nan)),
        "sharpe": float(metrics.get("sharpe", math.nan)),
        "max_drawdown": float(metrics.get("max_drawdown", math.nan)),
        "win_rate": float(metrics.get("win_rate", math.nan)),
        "final_equity": float(result.equity["equity"].iloc[-1]),
    }


def _portfolio_equity(runs: tuple[SymbolRun, ...]) -> pd.DataFrame:
    total = sum(
        (run.result.equity[["equity", "cash", "gross"]] for run in runs),
        start=pd.DataFrame(
            0.0, index=runs[0].result.equity.index, columns=["equity", "cash", "gross"]
        ),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        total["exposure"] = total["gross"] / total["equity"]
    return total.rename_axis("date")


def _portfolio_metrics(runs: tuple[SymbolRun, ...], equity: pd.DataFrame) -> dict[str, float]:
    trades = pd.concat([run.result.trades for run in runs], ignore_index=True)
    closed = trades[trades["exit_reason"] != "open"]
    return compute_metrics(
        equity["equity"],
        trades=trade_stats(closed["pnl"].to_numpy(), closed["return"].to_numpy()),
        periods_per_year=infer_periods_per_year(equity.index),
        exposure=equity["exposure"],
    )


def _clean(value: Any) -> Any:
    """``value`` with NaN and infinities as ``None`` (JSON has no such numbers)."""
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


def _write_json(path: Path, payload: Mapping[str, Any]) -> Path:
    text = json.dumps(_clean(payload), indent=2, sort_keys=True)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    return path


def _write_csv(path: Path, frame: pd.DataFrame, *, index: bool) -> Path:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=index)
    return path


def run_universe(
    ctx: AppContext,
    spec: str,
    *,
    strategy: str,
    out_dir: Path | None = None,
    progress: Progress | None = None,
    download_progress: Progress | None = None,
    executor: Executor | None = None,
    charts: bool = True,
    report: bool = True,
) -> UniverseRun:
    """Backtest every symbol of ``spec`` alone under registered ``strategy``; sum a portfolio.

    ``executor`` runs the per-symbol simulations and writes their folders (default: inline);
    ``progress`` is called with (symbols done, symbols) as they finish; ``download_progress``
    is handed to the data loader. ``charts=False`` skips every PNG file (the symbols' and the
    portfolio's), ``report=False`` the symbols' ``report.html``; the other files and the
    results do not change.
    """
    if strategy not in STRATEGIES:
        raise ConfigError(
            f"--run-all needs a registered strategy; got {strategy!r}, "
            f"available: {', '.join(STRATEGIES)}"
        )
    loaded = load_data(ctx, spec, progress=download_progress)
    panel = loaded.panel
    symbols = panel.symbols
    if not symbols:
        raise DataError(f"{loaded.source}: the data holds no symbols to backtest")
    definition = STRATEGIES[strategy]
    config = definition.configure(ctx.config)
    # Signals once on the whole panel: cross-sectional features need every symbol.
    signals = definition.generate(panel, config).signals
    regimes = trade_regimes(panel, config.regimes)
    alone = config.model_copy(update={"initial_capital": config.initial_capital / len(symbols)})
    root = out_dir or _default_out(ctx, f"run_all_{strategy}")
    tasks = _symbol_tasks(
        panel, signals, alone, regimes, root=root, strategy=strategy, source=loaded.source,
        charts=charts, report=report,
    )  # fmt: skip
    results = (executor or SerialExecutor()).map(simulate_and_write, tasks, progress=progress)
    done = tuple(
        SymbolRun(symbol, result, root / _folder(symbol))
        for symbol, result in zip(symbols, results, strict=True)
    )
    table = pd.DataFrame([_symbol_row(r.symbol, r.result) for r in done], columns=SYMBOL_COLUMNS)
    table = table.sort_values(
        ["total_return", "symbol"], ascending=[False, True], kind="stable", na_position="last"
    ).reset_index(drop=True)
    equity = _portfolio_equity(done)
    metrics = _portfolio_metrics(done, equity)
    written = [
        _write_csv(root / "symbols.csv", table, index=False),
        _write_csv(root / "portfolio_equity.csv", equity, index=True),
        _write_json(root / "portfolio_metrics.json", metrics),
    ]
    if charts:
        written += write_plots(root, equity=equity, trades=pd.DataFrame(), max_symbols=0)
    return UniverseRun(strategy, loaded.source, done, table, equity, metrics, root, written)


@dataclass(frozen=True, slots=True)
class RallyValidation:
    """Auto-calibrated vs hand-set Rally thresholds, per fold, and the files written.

    ``report_thresholds`` says which thresholds the written fold report was fitted with:
    the configured ones, as the strategy would trade them.
    """

    source: str
    comparison: Mapping[str, Mapping[str, object]]
    hand_r_up: float
    hand_d_dn: float
    report_thresholds: str
    out_dir: Path
    written: list[Path]


def validate_rally(
    ctx: AppContext,
    spec: str,
    *,
    out_dir: Path | None = None,
    progress: Progress | None = None,
) -> RallyValidation:
    """Run Rally's ``validate_calibration`` on ``spec`` and write the per-fold report.

    Writes ``validation.json`` (the comparison) and, for the configured thresholds, the
    fold report: ``folds.csv``, ``folds.json`` and ``reliability_fold<k>.csv``.
    """
    loaded = load_data(ctx, spec, progress=progress)
    config = ctx.config
    comparison = validate_calibration(loaded.panel, config)
    params = config.strategies.rally
    fit = fit_walk_forward(loaded.panel, config)
    root = out_dir or _default_out(ctx, "rally_validate")
    root.mkdir(parents=True, exist_ok=True)
    written = [
        _write_json(root / "validation.json", comparison),
        *write_fold_report(fit.report, root),
    ]
    return RallyValidation(
        source=loaded.source,
        comparison=comparison,
        hand_r_up=params.r_up or HAND_R_UP,
        hand_d_dn=params.d_dn or HAND_D_DN,
        report_thresholds=(
            "auto-calibrated"
            if params.r_up is None or params.d_dn is None
            else f"configured r_up={params.r_up:g}, d_dn={params.d_dn:g}"
        ),
        out_dir=root,
        written=written,
    )
