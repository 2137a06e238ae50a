"""The research commands (walk-forward, smoke, optimize, ab-test, bias-check): parse, call
app.research under a progress bar on stderr, print (tables, or ``--format json``)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.table import Table

from harvester.cli.defaults import SamplerName
from harvester.cli.options import (
    ConfigFileOption,
    DataOption,
    ExecutorOption,
    ProfileOption,
    SetOption,
    WorkersOption,
)
from harvester.cli.render import make_console, metrics_table
from harvester.cli.research_render import (
    ab_table,
    best_params_table,
    cell,
    fold_params_table,
    fold_table,
    progress_bar,
    top_table,
    trial_progress,
)
from harvester.config.loader import ConfigRequest
from harvester.core.errors import HarvesterError

if TYPE_CHECKING:
    from harvester.app.context import AppContext

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
ObjectiveOption = Annotated[
    str,
    typer.Option(
        "--objective", help="A metric (sharpe, cagr, calmar, ...) or composite (Composer)."
    ),
]
ParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        help="A searched key: PATH=LOW:HIGH[:log|:STEP] or PATH=A,B,C "
        "(default: the strategy's space).",
    ),
]
SamplerOption = Annotated[
    SamplerName, typer.Option("--sampler", help="tpe (default), grid or random.")
]
SeedOption = Annotated[int, typer.Option("--seed", help="Sampler seed.")]


def _context(
    strategy: str, config_file: Path | None, profile: str | None, assignments: list[str] | None
) -> AppContext:
    from harvester.app.context import open_context
    from harvester.strategies.registry import STRATEGIES

    request = ConfigRequest(
        base_file=config_file, profile=profile, assignments=tuple(assignments or ())
    )
    ctx = open_context(request, environ=os.environ, cwd=Path.cwd())
    return ctx.for_strategy(strategy) if strategy in STRATEGIES else ctx


def walk_forward_command(
    strategy: StrategyOption = "composer",
    data: DataOption = "sample",
    train_len: TrainLenOption = 504,
    test_len: TestLenOption = 126,
    stride: StrideOption = None,
    anchored: AnchoredOption = False,
    purge: PurgeOption = 10,
    embargo: EmbargoOption = 0,
    optimize_trials: Annotated[
        int,
        typer.Option(
            "--optimize-trials",
            help="Optimise each fold's parameters on its training bars with this many "
            "Optuna trials (0: no per-fold optimisation).",
            min=0,
        ),
    ] = 0,
    params: ParamOption = None,
    objective: ObjectiveOption = "sharpe",
    sampler: SamplerOption = "tpe",
    seed: SeedOption = 0,
    out: OutOption = None,
    output_format: FormatOption = "table",
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
    executor: ExecutorOption = "serial",
    workers: WorkersOption = None,
) -> None:
    """Walk a strategy forward: simulate each fold's test window, stitch the equity, report;
    with --optimize-trials, each fold's parameters are first tuned on its training bars."""
    from harvester.app.research import PerFoldSearch, WalkForwardPlan, run_walk_forward
    from harvester.research.report import report_payload

    ctx = _context(strategy, config_file, profile, assignments)
    plan = WalkForwardPlan(train_len, test_len, stride, anchored, purge, embargo)
    search = None
    if optimize_trials > 0:
        search = PerFoldSearch(optimize_trials, tuple(params or ()), objective, sampler, seed)
    with progress_bar("walking forward (folds)", None) as update:
        job = run_walk_forward(
            ctx, data, strategy=strategy, plan=plan, out_dir=out, search=search,
            on_progress=lambda done, total: update(done, total), executor=executor,
            workers=workers,
        )  # fmt: skip
    if output_format == "json":
        payload = report_payload(
            job.result, extra={"data": job.source}, fold_params=job.fold_params
        )
        typer.echo(json.dumps(payload, indent=2))
        return
    console = make_console()
    title = f"{strategy} on {job.source}: {len(job.result.folds)} folds (out of sample)"
    console.print(fold_table(job.result, title=title))
    if job.fold_params:
        console.print(fold_params_table(job.fold_params))
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
    from harvester.app.research import run_smoke

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


def optimize_command(
    strategy: StrategyOption = "composer",
    data: DataOption = "sample",
    trials: Annotated[int, typer.Option("--trials", help="Trials to run.")] = 50,
    sampler: SamplerOption = "tpe",
    objective: ObjectiveOption = "sharpe",
    params: ParamOption = None,
    seed: SeedOption = 0,
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
    executor: ExecutorOption = "serial",
    workers: WorkersOption = None,
) -> None:
    """Tune a strategy with Optuna; every trial is judged on the walk-forward's stitched
    out-of-sample result. Writes best_config.json (use it with --config), trials.csv,
    trial_returns.parquet, optimize.json, optimize.md and optimize.html.
    """
    from harvester.app.research import WalkForwardPlan, run_optimize
    from harvester.research.optimize_report import optimize_payload

    ctx = _context(strategy, config_file, profile, assignments)
    plan = WalkForwardPlan(train_len, test_len, stride, anchored, purge, embargo)
    with progress_bar(f"optimising {strategy}", trials) as update:
        job = run_optimize(
            ctx, data, strategy=strategy, plan=plan, objective=objective,
            params=tuple(params or ()), n_trials=trials, sampler=sampler, seed=seed,
            storage=storage, study_name=study, out_dir=out,
            on_trial=trial_progress(update, objective), executor=executor, workers=workers,
        )  # fmt: skip
    if output_format == "json":
        typer.echo(json.dumps(optimize_payload(job.result, extra={"data": job.source}), indent=2))
        return
    result = job.result
    done = len(result.completed)
    console = make_console()
    console.print(
        f"{strategy} on {job.source}: study {result.study_name!r} ({result.storage}), "
        f"{len(result.trials)} trials, {done} complete"
    )
    if result.best is None:
        raise HarvesterError("no trial completed; see trials.csv for each trial's error")
    console.print(best_params_table(job))
    console.print(metrics_table(_finite(result.best.metrics), title="best trial, out of sample"))
    console.print(top_table(job))
    console.print(
        f"best config: {job.written[0]} (use with --config); report: {job.written[0].parent}"
    )


def _finite(metrics: Mapping[str, float | None]) -> dict[str, float]:
    return {k: math.nan if v is None else float(v) for k, v in metrics.items()}


# --- ``harvester ab-test`` and ``harvester bias-check`` -------------------------------------


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
    from harvester.app.research import WalkForwardPlan, run_ab_test
    from harvester.research.ab_test import SUMMARY_KEYS as AB_SUMMARY_KEYS

    ctx = _context(strategy, config_file, profile, assignments)
    plan = WalkForwardPlan(train_len, test_len, stride, anchored, purge, embargo)
    with progress_bar("running A and B (folds)", None) as update:
        job = run_ab_test(
            ctx, data, strategy=strategy, plan=plan, a_file=a_file, b_file=b_file,
            toggle=toggle, out_dir=out, on_progress=lambda done, total: update(done, total),
        )  # fmt: skip
    if output_format == "json":
        typer.echo(json.dumps(job.payload, indent=2))
        return
    result = job.result
    title = f"{strategy} on {job.source}: A vs B over {len(result.a.folds)} folds"
    console = make_console()
    console.print(ab_table(job.payload, AB_SUMMARY_KEYS, title=title))
    low, high = result.bootstrap.ci
    console.print(
        f"Sharpe(B) - Sharpe(A) = {cell(result.sharpe_difference)} "
        f"(95% paired bootstrap CI {cell(low)} .. {cell(high)}), "
        f"JKM p = {cell(result.test.p_value)}; "
        f"B beats A in {cell(result.folds_b_better)} of folds; conviction/outcome "
        f"correlation A {cell(result.conviction['a'])}, "
        f"B {cell(result.conviction['b'])}"
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
    from harvester.app.research import WalkForwardPlan, run_bias_check

    ctx = _context(strategy, config_file, profile, assignments)
    plan = WalkForwardPlan(train_len, test_len, stride, anchored, purge, embargo)
    with progress_bar("checking for bias (runs)", None) as update:
        job = run_bias_check(
            ctx, data, strategy=strategy, plan=plan, cuts=cuts, study=study,
            membership=membership, out_dir=out,
            on_progress=lambda done, total: update(done, total),
        )  # fmt: skip
    if output_format == "json":
        typer.echo(json.dumps(job.payload, indent=2))
    else:
        console = make_console()
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
