"""``harvester backtest``: run a strategy through the engine and write its results."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import typer

from harvester.app.backtest import run_backtest_job
from harvester.app.context import open_context
from harvester.cli.options import (
    ConfigFileOption,
    DataOption,
    EndOption,
    ProfileOption,
    SetOption,
    StartOption,
)
from harvester.cli.render import DownloadProgress, make_console, metrics_table
from harvester.config.loader import ConfigRequest
from harvester.strategies.registry import STRATEGIES


def backtest_command(
    data: DataOption = "sample",
    strategy: Annotated[
        str,
        typer.Option(
            "--strategy", help="panic, composer, rally, consensus, or signals (a signal file)."
        ),
    ] = "signals",
    named_config: Annotated[
        str | None,
        typer.Option("--named-config", help="Rally named config: baseline, conservative, ..."),
    ] = None,
    signals: Annotated[
        Path | None, typer.Option("--signals", help="CSV/Parquet with date,symbol,signal.")
    ] = None,
    fill: Annotated[
        Literal["next_open", "close"] | None, typer.Option("--fill", help="Fill convention.")
    ] = None,
    commission_bps: Annotated[float | None, typer.Option("--commission-bps")] = None,
    slippage_bps: Annotated[float | None, typer.Option("--slippage-bps")] = None,
    fraction: Annotated[
        float | None, typer.Option("--fraction", help="Fraction of equity per position.")
    ] = None,
    max_positions: Annotated[int | None, typer.Option("--max-positions")] = None,
    initial_capital: Annotated[float | None, typer.Option("--initial-capital")] = None,
    start: StartOption = None,
    end: EndOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the result files.")] = None,
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
) -> None:
    """Backtest a strategy; print its metrics and write trades, equity, metrics and a report."""
    flags = {
        "execution.fill": fill,
        "execution.commission_bps": commission_bps,
        "execution.slippage_bps": slippage_bps,
        "risk_management.base_position_fraction": fraction,
        "risk_management.max_open_positions": max_positions,
        "initial_capital": initial_capital,
        "strategies.rally.named_config": named_config,
    }
    request = ConfigRequest(
        base_file=config_file, profile=profile, assignments=tuple(assignments or ()), flags=flags
    )
    ctx = open_context(request, environ=os.environ, cwd=Path.cwd())
    if strategy in STRATEGIES:
        ctx = ctx.for_strategy(strategy)
    ctx = ctx.with_data_range(start, end)
    console = make_console()
    with DownloadProgress(console) as progress, console.status("backtesting ..."):
        job = run_backtest_job(
            ctx, data, strategy=strategy, signals_path=signals, out_dir=out, progress=progress
        )
    console.print(metrics_table(job.result.metrics, title=f"{strategy} on {job.source}"))
    for name, count in job.result.warnings.items():
        if count:
            console.print(f"warning: {name}: {count}")
    console.print(f"results: {job.written[0].parent}")


def register(app: typer.Typer) -> None:
    """Add the backtest command to the root app."""
    app.command("backtest")(backtest_command)
