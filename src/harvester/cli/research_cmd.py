"""``harvester walk-forward`` and ``harvester smoke``: parse, call app.research, print."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from harvester.app.context import AppContext, open_context
from harvester.app.research import WalkForwardPlan, run_smoke, run_walk_forward
from harvester.cli.options import ConfigFileOption, DataOption, ProfileOption, SetOption
from harvester.cli.render import make_console, metrics_table
from harvester.config.loader import ConfigRequest
from harvester.core.errors import HarvesterError
from harvester.research.report import report_payload
from harvester.research.walk_forward import WalkForwardResult
from harvester.strategies.registry import STRATEGIES

StrategyOption = Annotated[
    str,
    typer.Option("--strategy", help="A registered strategy: composer, consensus, panic, rally."),
]
OutOption = Annotated[Path | None, typer.Option("--out", help="Folder for the report files.")]


def _context(
    strategy: str, config_file: Path | None, profile: str | None, assignments: list[str] | None
) -> AppContext:
    request = ConfigRequest(
        base_file=config_file, profile=profile, assignments=tuple(assignments or ())
    )
    ctx = open_context(request, environ=os.environ, cwd=Path.cwd())
    return ctx.for_strategy(strategy) if strategy in STRATEGIES else ctx


def _fold_table(result: WalkForwardResult, *, title: str) -> Table:
    table = Table(title=title)
    columns = ("fold", "train", "test", "trades", "total return", "sharpe", "max drawdown")
    for name in columns:
        table.add_column(name, justify="left" if name in ("train", "test") else "right")
    for row in result.fold_table().to_dict("records"):
        table.add_row(
            str(row["fold"]),
            f"{row['train_start']:%Y-%m-%d} .. {row['train_end']:%Y-%m-%d}",
            f"{row['test_start']:%Y-%m-%d} .. {row['test_end']:%Y-%m-%d}",
            str(row["trades"]), _pct(float(row["total_return"])), _num(float(row["sharpe"])),
            _pct(float(row["max_drawdown"])),
        )  # fmt: skip
    return table


def _pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{value * 100:+.2f}%"


def _num(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}"


def walk_forward_command(
    strategy: StrategyOption = "composer",
    data: DataOption = "sample",
    train_len: Annotated[int, typer.Option("--train-len", help="Training bars per fold.")] = 504,
    test_len: Annotated[int, typer.Option("--test-len", help="Test bars per fold.")] = 126,
    stride: Annotated[
        int | None, typer.Option("--stride", help="Bars between test starts (default test-len).")
    ] = None,
    anchored: Annotated[
        bool, typer.Option("--anchored", help="Train from the first bar (default: rolling).")
    ] = False,
    purge: Annotated[
        int, typer.Option("--purge", help="Training bars dropped before each test window.")
    ] = 10,
    embargo: Annotated[
        int, typer.Option("--embargo", help="Bars after each test window kept out of training.")
    ] = 0,
    out: OutOption = None,
    output_format: Annotated[
        Literal["table", "json"], typer.Option("--format", help="table, or json to stdout.")
    ] = "table",
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
) -> None:
    """Walk a strategy forward: simulate each fold's test window, stitch the equity, report."""
    ctx = _context(strategy, config_file, profile, assignments)
    plan = WalkForwardPlan(train_len, test_len, stride, anchored, purge, embargo)
    console = make_console(stderr=output_format == "json")
    with console.status("walking forward ..."):
        job = run_walk_forward(ctx, data, strategy=strategy, plan=plan, out_dir=out)
    if output_format == "json":
        typer.echo(json.dumps(report_payload(job.result, extra={"data": job.source}), indent=2))
        return
    title = f"{strategy} on {job.source}: {len(job.result.folds)} folds (out of sample)"
    console.print(_fold_table(job.result, title=title))
    console.print(metrics_table(job.result.metrics, title="overall (stitched out-of-sample)"))
    console.print(f"report: {job.written[0].parent}")


def smoke_command(
    data: DataOption = "sample",
    strategy: StrategyOption = "composer",
    out: OutOption = None,
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
) -> None:
    """CI smoke run: a short walk-forward on the sample; fails on 0 folds, no trades, NaN/inf
    metrics, a data-sanity error (enforced) or a runtime over 60 s.
    """
    ctx = _context(strategy, config_file, profile, assignments)
    run = run_smoke(ctx, data, strategy=strategy, out_dir=out)
    for failure in run.failures:
        typer.echo(f"smoke: FAIL: {failure}", err=True)
    verdict = "passed" if run.passed else "FAILED"
    folds = 0 if run.result is None else len(run.result.folds)
    trades = 0 if run.result is None else int(run.result.metrics["number_of_trades"])
    typer.echo(
        f"smoke {verdict}: {folds} folds, {trades} trades, wall time {run.wall_seconds:.2f} s; "
        f"report: {run.written[0]}"
    )
    if not run.passed:
        count = len(run.failures)
        raise HarvesterError(f"smoke run failed {count} check{'' if count == 1 else 's'}")


def register(app: typer.Typer) -> None:
    """Add the research commands to the root app."""
    app.command("walk-forward")(walk_forward_command)
    app.command("smoke")(smoke_command)
