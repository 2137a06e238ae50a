"""``harvester backtest``: run a strategy through the engine and write its results.

``harvester backtest-universe`` backtests every symbol alone and sums a portfolio (what
``backtest --run-all`` does), with the symbols run in parallel by an executor
(``--executor``, see :mod:`harvester.research.executors`) under a progress bar.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from harvester.cli.options import (
    ConfigFileOption,
    DataOption,
    EndOption,
    ExecutorOption,
    ProfileOption,
    SetOption,
    StartOption,
    WorkersOption,
)
from harvester.cli.render import DownloadProgress, make_console, metrics_table
from harvester.config.loader import ConfigRequest
from harvester.core.errors import ConfigError

if TYPE_CHECKING:
    from harvester.app.context import AppContext
    from harvester.app.portfolio import RallyValidation, UniverseRun

NamedConfigOption = Annotated[
    str | None,
    typer.Option("--named-config", help="Rally named config: baseline, conservative, ..."),
]
FillOption = Annotated[
    Literal["next_open", "close"] | None, typer.Option("--fill", help="Fill convention.")
]
CommissionOption = Annotated[float | None, typer.Option("--commission-bps")]
SlippageOption = Annotated[float | None, typer.Option("--slippage-bps")]
FractionOption = Annotated[
    float | None, typer.Option("--fraction", help="Fraction of equity per position.")
]
MaxPositionsOption = Annotated[int | None, typer.Option("--max-positions")]
CapitalOption = Annotated[float | None, typer.Option("--initial-capital")]
OutOption = Annotated[Path | None, typer.Option("--out", help="Folder for the result files.")]
ChartsOption = Annotated[
    bool,
    typer.Option(
        "--charts/--no-charts",
        help="Write the PNG charts (~40% of a universe run's time; --no-charts to skip).",
    ),
]
ReportOption = Annotated[
    bool,
    typer.Option(
        "--report/--no-report",
        help="Write report.html (in a universe run one per symbol, ~55% of its time).",
    ),
]


def _context(
    strategy: str,
    flags: Mapping[str, object],
    start: str | None,
    end: str | None,
    config_file: Path | None,
    profile: str | None,
    assignments: list[str] | None,
) -> AppContext:
    from harvester.app.context import open_context
    from harvester.strategies.registry import STRATEGIES

    request = ConfigRequest(
        base_file=config_file, profile=profile, assignments=tuple(assignments or ()),
        flags=dict(flags),
    )  # fmt: skip
    ctx = open_context(request, environ=os.environ, cwd=Path.cwd())
    if strategy in STRATEGIES:
        ctx = ctx.for_strategy(strategy)
    return ctx.with_data_range(start, end)


def _flags(
    fill: str | None,
    commission_bps: float | None,
    slippage_bps: float | None,
    fraction: float | None,
    max_positions: int | None,
    initial_capital: float | None,
    named_config: str | None,
) -> dict[str, object]:
    return {
        "execution.fill": fill,
        "execution.commission_bps": commission_bps,
        "execution.slippage_bps": slippage_bps,
        "risk_management.base_position_fraction": fraction,
        "risk_management.max_open_positions": max_positions,
        "initial_capital": initial_capital,
        "strategies.rally.named_config": named_config,
    }


def backtest_command(
    data: DataOption = "sample",
    strategy: Annotated[
        str,
        typer.Option(
            "--strategy", help="panic, composer, rally, consensus, or signals (a signal file)."
        ),
    ] = "signals",
    named_config: NamedConfigOption = None,
    signals: Annotated[
        Path | None, typer.Option("--signals", help="CSV/Parquet with date,symbol,signal.")
    ] = None,
    fill: FillOption = None,
    commission_bps: CommissionOption = None,
    slippage_bps: SlippageOption = None,
    fraction: FractionOption = None,
    max_positions: MaxPositionsOption = None,
    initial_capital: CapitalOption = None,
    start: StartOption = None,
    end: EndOption = None,
    out: OutOption = None,
    run_all: Annotated[
        bool,
        typer.Option(
            "--run-all",
            help="Backtest every symbol alone (initial capital split evenly) and sum a portfolio.",
        ),
    ] = False,
    validate: Annotated[
        bool,
        typer.Option(
            "--validate",
            help="Rally only: compare auto-calibrated with hand-set r_up/d_dn per fold.",
        ),
    ] = False,
    charts: ChartsOption = True,
    report: ReportOption = True,
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
) -> None:
    """Backtest a strategy; print its metrics and write trades, equity, metrics and a report."""
    from harvester.app.backtest import run_backtest_job

    flags = _flags(
        fill, commission_bps, slippage_bps, fraction, max_positions, initial_capital, named_config
    )
    ctx = _context(strategy, flags, start, end, config_file, profile, assignments)
    console = make_console()
    if run_all and validate:
        raise ConfigError("--run-all and --validate are separate runs; pass one of them")
    if validate:
        _validate(ctx, data, strategy=strategy, out=out, console=console)
        return
    if run_all:
        _run_all(
            ctx, data, strategy=strategy, out=out, console=console, charts=charts, report=report
        )
        return
    with DownloadProgress(console) as progress, console.status("backtesting ..."):
        job = run_backtest_job(
            ctx, data, strategy=strategy, signals_path=signals, out_dir=out, progress=progress,
            charts=charts, report=report,
        )  # fmt: skip
    console.print(metrics_table(job.result.metrics, title=f"{strategy} on {job.source}"))
    for name, count in job.result.warnings.items():
        if count:
            console.print(f"warning: {name}: {count}")
    console.print(f"results: {job.written[0].parent}")


def backtest_universe_command(
    data: DataOption = "sample",
    strategy: Annotated[
        str, typer.Option("--strategy", help="panic, composer, rally or consensus.")
    ] = "panic",
    named_config: NamedConfigOption = None,
    fill: FillOption = None,
    commission_bps: CommissionOption = None,
    slippage_bps: SlippageOption = None,
    fraction: FractionOption = None,
    max_positions: MaxPositionsOption = None,
    initial_capital: CapitalOption = None,
    start: StartOption = None,
    end: EndOption = None,
    out: OutOption = None,
    executor: ExecutorOption = "local",
    workers: WorkersOption = None,
    charts: ChartsOption = True,
    report: ReportOption = True,
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
) -> None:
    """Backtest every symbol alone (initial capital split evenly) in parallel and sum a
    portfolio. Writes <SYMBOL>/ folders, symbols.csv, portfolio_equity.csv and
    portfolio_metrics.json; results do not depend on --executor. Charts and reports are
    most of the time: --no-charts --no-report for speed.
    """
    flags = _flags(
        fill, commission_bps, slippage_bps, fraction, max_positions, initial_capital, named_config
    )
    ctx = _context(strategy, flags, start, end, config_file, profile, assignments)
    _run_all(
        ctx, data, strategy=strategy, out=out, console=make_console(), executor=executor,
        workers=workers, charts=charts, report=report,
    )  # fmt: skip


def _run_all(
    ctx: AppContext,
    data: str,
    *,
    strategy: str,
    out: Path | None,
    console: Console,
    executor: str = "serial",
    workers: int | None = None,
    charts: bool = True,
    report: bool = True,
) -> None:
    from harvester.app.portfolio import run_universe
    from harvester.research.executors import open_executor

    with open_executor(executor, workers=workers) as runner:
        label = f"backtesting symbols on {runner.name}"
        with (
            DownloadProgress(console) as download,
            DownloadProgress(console, label=label) as progress,
        ):
            run = run_universe(
                ctx, data, strategy=strategy, out_dir=out, progress=progress,
                download_progress=download, executor=runner, charts=charts, report=report,
            )  # fmt: skip
    console.print(_symbols_table(run))
    title = f"{strategy} portfolio of {len(run.runs)} symbols on {run.source}"
    console.print(metrics_table(run.metrics, title=title))
    console.print(f"results: {run.out_dir}")


def _percent(value: float) -> str:
    return "-" if math.isnan(value) else f"{value * 100:+.2f}%"


def _number(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}"


def _symbols_table(run: UniverseRun) -> Table:
    table = Table(title=f"{run.strategy}: each symbol alone, best total return first")
    for name in ("symbol", "trades", "total return", "sharpe", "max drawdown", "win rate"):
        table.add_column(name, justify="left" if name == "symbol" else "right")
    for row in run.symbols.to_dict("records"):
        table.add_row(
            str(row["symbol"]), str(row["trades"]), _percent(float(row["total_return"])),
            _number(float(row["sharpe"])), _percent(float(row["max_drawdown"])),
            _percent(float(row["win_rate"])),
        )  # fmt: skip
    return table


def _validate(
    ctx: AppContext, data: str, *, strategy: str, out: Path | None, console: Console
) -> None:
    from harvester.app.portfolio import validate_rally

    if strategy != "rally":
        raise ConfigError(
            f"--validate checks Rally's calibration; use --strategy rally, not {strategy!r}"
        )
    with DownloadProgress(console) as download, console.status("fitting Rally twice ..."):
        check = validate_rally(ctx, data, out_dir=out, progress=download)
    console.print(_validation_table(check))
    console.print(f"fold report ({check.report_thresholds} thresholds): {check.out_dir}")


def _floats(value: object) -> list[float]:
    assert isinstance(value, Sequence)
    return [float(v) for v in value]


def _cell(values: Mapping[str, object], key: str, fold: int, spec: str) -> str:
    import pandas as pd

    series = _floats(values[key])
    if fold >= len(series) or pd.isna(series[fold]):
        return "-"
    return format(series[fold], spec)


def _validation_table(check: RallyValidation) -> Table:
    title = (
        f"Rally on {check.source}: auto-calibrated vs hand-set "
        f"(r_up={check.hand_r_up:g}, d_dn={check.hand_d_dn:g}) thresholds"
    )
    table = Table(title=title)
    table.add_column("fold", justify="right")
    table.add_column("thresholds")
    for name in ("r_up", "d_dn", "train label rate", "test label rate", "Brier"):
        table.add_column(name, justify="right")
    folds = len(_floats(check.comparison["auto"]["brier"]))
    for fold in range(folds):
        for name in ("auto", "hand"):
            values = check.comparison[name]
            table.add_row(
                str(fold) if name == "auto" else "", name,
                _cell(values, "r_up", fold, ".2f"), _cell(values, "d_dn", fold, ".2f"),
                _cell(values, "train_label_rate", fold, ".1%"),
                _cell(values, "test_label_rate", fold, ".1%"),
                _cell(values, "brier", fold, ".4f"),
            )  # fmt: skip
    for name in ("auto", "hand"):
        briers = [b for b in _floats(check.comparison[name]["brier"]) if not math.isnan(b)]
        mean = f"{sum(briers) / len(briers):.4f}" if briers else "-"
        table.add_row("mean", name, "", "", "", "", mean)
    return table


def register(app: typer.Typer) -> None:
    """Add the backtest and backtest-universe commands to the root app."""
    app.command("backtest")(backtest_command)
    app.command("backtest-universe")(backtest_universe_command)
