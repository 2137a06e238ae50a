"""``harvester walk-forward`` and ``harvester smoke``: parse, call app.research, print."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from harvester.app.context import AppContext, open_context
from harvester.app.research import (
    OptimizeJob,
    WalkForwardPlan,
    run_ab_test,
    run_bias_check,
    run_optimize,
    run_smoke,
    run_walk_forward,
)
from harvester.cli.options import ConfigFileOption, DataOption, ProfileOption, SetOption
from harvester.cli.render import make_console, metrics_table
from harvester.config.loader import ConfigRequest
from harvester.core.errors import HarvesterError
from harvester.research.ab_test import SUMMARY_KEYS as AB_SUMMARY_KEYS
from harvester.research.objective import MINIMIZED
from harvester.research.optimize import SamplerName, TrialRecord, optimize_payload
from harvester.research.report import report_payload
from harvester.research.walk_forward import WalkForwardResult
from harvester.strategies.registry import STRATEGIES

StrategyOption = Annotated[
    str,
    typer.Option("--strategy", help="A registered strategy: composer, consensus, panic, rally."),
]
OutOption = Annotated[Path | None, typer.Option("--out", help="Folder for the report files.")]


# Options shared by walk-forward, optimize, ab-test and bias-check.
FormatOption = Annotated[
    Literal["table", "json"], typer.Option("--format", help="table, or json to stdout.")
]
TrainLenOption = Annotated[int, typer.Option("--train-len", help="Training bars per fold.")]
TestLenOption = Annotated[int, typer.Option("--test-len", help="Test bars per fold.")]
StrideOption = Annotated[
    int | None, typer.Option("--stride", help="Bars between test starts (default test-len).")
]
AnchoredOption = Annotated[
    bool, typer.Option("--anchored", help="Train from the first bar (default: rolling).")
]
PurgeOption = Annotated[
    int, typer.Option("--purge", help="Training bars dropped before each test window.")
]
EmbargoOption = Annotated[
    int, typer.Option("--embargo", help="Bars after each test window kept out of training.")
]


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
    train_len: TrainLenOption = 504,
    test_len: TestLenOption = 126,
    stride: StrideOption = None,
    anchored: AnchoredOption = False,
    purge: PurgeOption = 10,
    embargo: EmbargoOption = 0,
    out: OutOption = None,
    output_format: FormatOption = "table",
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
    app.command("optimize")(optimize_command)
    app.command("ab-test")(ab_test_command)
    app.command("bias-check")(bias_check_command)


# --- ``harvester optimize`` ----------------------------------------------------------------


def _trial_cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _top_table(job: OptimizeJob, *, n: int = 5) -> Table:
    result = job.result
    table = Table(title=f"top {n} trials ({result.objective.name}, out of sample)")
    params = [p.path for p in result.space]
    shown = ("sharpe", "cagr", "max_drawdown", "number_of_trades")
    for name in ("trial", "value", *(p.rsplit(".", 1)[-1] for p in params), *shown):
        table.add_column(name, justify="right")
    for t in result.top(n):
        cells = [str(t.number), _trial_cell(t.value)]
        cells += [_trial_cell(t.params.get(p)) for p in params]
        cells += [_trial_cell(t.metrics.get(k)) for k in shown]
        table.add_row(*cells)
    return table


def _best_params_table(job: OptimizeJob) -> Table:
    best = job.result.best
    assert best is not None
    table = Table(title=f"best trial #{best.number}: {job.result.objective.name} {best.value:.4g}")
    table.add_column("parameter")
    table.add_column("value", justify="right")
    for key, value in best.params.items():
        table.add_row(key, _trial_cell(value))
    return table


def optimize_command(
    strategy: StrategyOption = "composer",
    data: DataOption = "sample",
    trials: Annotated[int, typer.Option("--trials", help="Trials to run.")] = 50,
    sampler: Annotated[
        SamplerName, typer.Option("--sampler", help="tpe (default), grid or random.")
    ] = "tpe",
    objective: Annotated[
        str,
        typer.Option(
            "--objective", help="A metric (sharpe, cagr, calmar, ...) or composite (Composer)."
        ),
    ] = "sharpe",
    params: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            help="A searched key: PATH=LOW:HIGH[:log|:STEP] or PATH=A,B,C "
            "(default: the strategy's space).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Sampler seed.")] = 0,
    train_len: TrainLenOption = 504,
    test_len: TestLenOption = 126,
    stride: StrideOption = None,
    anchored: AnchoredOption = False,
    purge: PurgeOption = 10,
    embargo: EmbargoOption = 0,
    storage: Annotated[
        str | None,
        typer.Option(
            "--storage",
            help="Study storage URL (default sqlite:///<home>/studies.db); "
            "postgresql://... shares a study across machines.",
        ),
    ] = None,
    study: Annotated[
        str | None, typer.Option("--study", help="Study name to create or resume.")
    ] = None,
    out: OutOption = None,
    output_format: FormatOption = "table",
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
) -> None:
    """Tune a strategy with Optuna; every trial is judged on the walk-forward's stitched
    out-of-sample result. Writes best_config.json (use it with --config), trials.csv,
    trial_returns.parquet, optimize.json and optimize.md.
    """
    ctx = _context(strategy, config_file, profile, assignments)
    plan = WalkForwardPlan(train_len, test_len, stride, anchored, purge, embargo)
    console = make_console(stderr=output_format == "json")
    with Progress(
        TextColumn("optimising {task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn("{task.fields[best]}"), console=console,
    ) as progress:  # fmt: skip
        task = progress.add_task(strategy, total=trials, best="")
        best: list[float] = []

        def advance(record: TrialRecord) -> None:
            if record.value is not None:
                best.append(record.value)
            pick = min if objective in MINIMIZED else max
            shown = f"best {pick(best):.4g}" if best else ""
            progress.update(task, advance=1, best=shown)

        job = run_optimize(
            ctx, data, strategy=strategy, plan=plan, objective=objective,
            params=tuple(params or ()), n_trials=trials, sampler=sampler, seed=seed,
            storage=storage, study_name=study, out_dir=out, on_trial=advance,
        )  # fmt: skip
    if output_format == "json":
        typer.echo(json.dumps(optimize_payload(job.result, extra={"data": job.source}), indent=2))
        return
    result = job.result
    done = len(result.completed)
    console.print(
        f"{strategy} on {job.source}: study {result.study_name!r} ({result.storage}), "
        f"{len(result.trials)} trials, {done} complete"
    )
    if result.best is None:
        raise HarvesterError("no trial completed; see trials.csv for each trial's error")
    console.print(_best_params_table(job))
    console.print(metrics_table(_finite(result.best.metrics), title="best trial, out of sample"))
    console.print(_top_table(job))
    console.print(
        f"best config: {job.written[0]} (use with --config); report: {job.written[0].parent}"
    )


def _finite(metrics: Mapping[str, float | None]) -> dict[str, float]:
    return {k: math.nan if v is None else float(v) for k, v in metrics.items()}


# --- ``harvester ab-test`` and ``harvester bias-check`` -------------------------------------


def _ab_table(payload: dict[str, object], *, title: str) -> Table:
    metrics = payload["metrics"]
    assert isinstance(metrics, dict)
    table = Table(title=title)
    for name in ("metric", "A", "B", "B - A"):
        table.add_column(name, justify="left" if name == "metric" else "right")
    for key in AB_SUMMARY_KEYS:
        if key in metrics["a"]:
            cells = (metrics["a"][key], metrics["b"][key], metrics["difference"].get(key))
            table.add_row(key, *(_ab_cell(c) for c in cells))
    return table


def ab_test_command(
    strategy: StrategyOption = "composer",
    data: DataOption = "sample",
    a_file: Annotated[
        Path | None, typer.Option("--a", help="Config JSON of variant A (on the base config).")
    ] = None,
    b_file: Annotated[
        Path | None, typer.Option("--b", help="Config JSON of variant B (on the base config).")
    ] = None,
    toggle: Annotated[
        str | None, typer.Option("--toggle", help="B = A with this boolean flipped.")
    ] = None,
    train_len: TrainLenOption = 252,
    test_len: TestLenOption = 126,
    stride: StrideOption = None,
    anchored: AnchoredOption = False,
    purge: PurgeOption = 10,
    embargo: EmbargoOption = 0,
    out: OutOption = None,
    output_format: FormatOption = "table",
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
) -> None:
    """A/B test two configs of a strategy on identical data and folds (paired statistics)."""
    ctx = _context(strategy, config_file, profile, assignments)
    plan = WalkForwardPlan(train_len, test_len, stride, anchored, purge, embargo)
    console = make_console(stderr=output_format == "json")
    with console.status("running A and B ..."):
        job = run_ab_test(
            ctx, data, strategy=strategy, plan=plan, a_file=a_file, b_file=b_file,
            toggle=toggle, out_dir=out,
        )  # fmt: skip
    if output_format == "json":
        typer.echo(json.dumps(job.payload, indent=2))
        return
    result = job.result
    title = f"{strategy} on {job.source}: A vs B over {len(result.a.folds)} folds"
    console.print(_ab_table(job.payload, title=title))
    low, high = result.bootstrap.ci
    console.print(
        f"Sharpe(B) - Sharpe(A) = {_ab_cell(result.sharpe_difference)} "
        f"(95% paired bootstrap CI {_ab_cell(low)} .. {_ab_cell(high)}), "
        f"JKM p = {_ab_cell(result.test.p_value)}; "
        f"B beats A in {_ab_cell(result.folds_b_better)} of folds; conviction/outcome "
        f"correlation A {_ab_cell(result.conviction['a'])}, "
        f"B {_ab_cell(result.conviction['b'])}"
    )
    console.print(f"verdict: {result.verdict}")
    console.print(f"report: {job.written[0].parent}")


def bias_check_command(
    strategy: StrategyOption = "composer",
    data: DataOption = "sample",
    cuts: Annotated[int, typer.Option("--cuts", help="Look-ahead cut dates.", min=1)] = 3,
    study: Annotated[
        Path | None,
        typer.Option("--study", help="Optimisation study folder (trial_returns.parquet)."),
    ] = None,
    membership: Annotated[
        Path | None,
        typer.Option(
            "--membership", help="CSV of symbol,start_date,end_date for a point-in-time run."
        ),
    ] = None,
    train_len: TrainLenOption = 252,
    test_len: TestLenOption = 126,
    stride: StrideOption = None,
    anchored: AnchoredOption = False,
    purge: PurgeOption = 10,
    embargo: EmbargoOption = 0,
    out: OutOption = None,
    output_format: FormatOption = "table",
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
) -> None:
    """Check a strategy for look-ahead, survivorship, overfitting and data snooping; exit 1
    on any failing finding.
    """
    ctx = _context(strategy, config_file, profile, assignments)
    plan = WalkForwardPlan(train_len, test_len, stride, anchored, purge, embargo)
    console = make_console(stderr=output_format == "json")
    with console.status("checking for bias ..."):
        job = run_bias_check(
            ctx, data, strategy=strategy, plan=plan, cuts=cuts, study=study,
            membership=membership, out_dir=out,
        )  # fmt: skip
    if output_format == "json":
        typer.echo(json.dumps(job.payload, indent=2))
    else:
        table = Table(title=f"bias check of {strategy} on {job.source}")
        for name in ("check", "severity", "finding"):
            table.add_column(name)
        for f in job.report.findings:
            table.add_row(f.check, f.severity, f.message)
        console.print(table)
        console.print(f"report: {job.written[0].parent}")
    if job.report.failed:
        count = sum(1 for f in job.report.findings if f.severity == "fail")
        raise HarvesterError(f"bias check failed: {count} failing finding(s)")


def _ab_cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.4g}"
    return str(value)
