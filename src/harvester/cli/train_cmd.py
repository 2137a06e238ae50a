"""``harvester train-composer`` and ``harvester sweep``: parse, call app.training, print."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from harvester.cli.options import (
    ConfigFileOption,
    DataOption,
    ProfileOption,
    SetOption,
    context_from,
)
from harvester.cli.render import make_console
from harvester.cli.research_cmd import (
    AnchoredOption,
    EmbargoOption,
    FormatOption,
    ObjectiveOption,
    OutOption,
    PurgeOption,
    SamplerOption,
    SeedOption,
    StrideOption,
    TestLenOption,
    TrainLenOption,
)
from harvester.cli.research_render import ProgressUpdate, cell, progress_bar, trial_progress
from harvester.core.errors import HarvesterError
from harvester.domain.asset_class import AssetClass

if TYPE_CHECKING:
    from harvester.app.training import SweepJob, TrainComposerJob
    from harvester.research.optimize import TrialRecord
    from harvester.research.sweep import Variant
    from harvester.research.walk_forward import WalkForwardResult

__all__ = ["register", "sweep_command", "train_composer_command"]

TrialsOption = Annotated[int, typer.Option("--trials", help="Trials per asset class.", min=1)]


def _classes_table(job: TrainComposerJob) -> Table:
    table = Table(title=f"Composer Level-2 weights per asset class ({job.training.objective.name})")
    shown = ("sharpe", "cagr", "max_drawdown", "win_rate", "number_of_trades")
    for name in ("class", "symbols", "trials", "best", "value", *shown, "config"):
        table.add_column(name, justify="left" if name in ("class", "config") else "right")
    for trained in job.training.classes:
        best = trained.result.best
        metrics: Mapping[str, float | None] = {} if best is None else best.metrics
        table.add_row(
            trained.asset_class, str(len(trained.symbols)), str(len(trained.result.trials)),
            "-" if best is None else f"#{best.number}", cell(None if best is None else best.value),
            *(cell(metrics.get(k)) for k in shown),
            "-" if best is None else trained.config_file,
        )  # fmt: skip
    return table


def _per_class(
    update: ProgressUpdate, objective: str, trials: int
) -> Callable[[AssetClass, TrialRecord], None]:
    """An ``on_trial`` callback: the bar restarts for each asset class's study and notes the
    class and its best value so far."""
    bars: dict[AssetClass, Callable[[TrialRecord], None]] = {}

    def advance(asset_class: AssetClass, record: TrialRecord) -> None:
        if asset_class not in bars:

            def shown(done: int, total: int | None = None, note: str = "") -> None:
                del total
                update(done, trials, f"{asset_class} {note}")

            bars[asset_class] = trial_progress(shown, objective)
        bars[asset_class](record)

    return advance


def train_composer_command(
    data: DataOption = "sample",
    trials: TrialsOption = 50,
    objective: ObjectiveOption = "composite",
    asset_classes: Annotated[
        list[str] | None,
        typer.Option(
            "--asset-class", help="Train only this class (crypto, etf, equity); repeatable."
        ),
    ] = None,
    sampler: SamplerOption = "tpe",
    seed: SeedOption = 0,
    train_len: TrainLenOption = 504,
    test_len: TestLenOption = 126,
    stride: StrideOption = None,
    anchored: AnchoredOption = False,
    purge: PurgeOption = 10,
    embargo: EmbargoOption = 0,
    storage: Annotated[
        str | None,
        typer.Option("--storage", help="Study storage URL (default sqlite:///<home>/studies.db)."),
    ] = None,
    study: Annotated[
        str | None,
        typer.Option("--study", help="Study name prefix; each class's study is PREFIX-CLASS."),
    ] = None,
    out: OutOption = None,
    output_format: FormatOption = "table",
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
) -> None:
    """Tune Composer's regime weights and temperature per asset class (Level 2), every trial
    judged out of sample by walk-forward on that class's symbols. Writes composer_<class>.json
    (use with --config for that class), composer_weights.json, train_composer.md and
    train_composer.html.
    """
    from harvester.app.research import WalkForwardPlan
    from harvester.app.training import run_train_composer
    from harvester.research.composer_training import training_payload

    ctx = context_from(
        config_file=config_file, profile=profile, assignments=assignments
    ).for_strategy("composer")
    plan = WalkForwardPlan(train_len, test_len, stride, anchored, purge, embargo)
    with progress_bar("training composer", trials) as update:
        job = run_train_composer(
            ctx, data, plan=plan, objective=objective, n_trials=trials,
            classes=asset_classes or None,
            sampler=sampler, seed=seed, storage=storage, study_prefix=study, out_dir=out,
            on_trial=_per_class(update, objective, trials),
        )  # fmt: skip
    if output_format == "json":
        payload = training_payload(job.training, extra={"data": job.source})
        typer.echo(json.dumps(payload, indent=2))
        return
    console = make_console()
    console.print(_classes_table(job))
    skipped = ", ".join(job.training.skipped)
    if skipped:
        console.print(f"not trained (no symbols or not asked for): {skipped}")
    if all(c.result.best is None for c in job.training.classes):
        raise HarvesterError("no trial completed; see trials_<class>.csv for each error")
    console.print(
        f"per-class configs: composer_<class>.json (use with --config); "
        f"report: {job.written[0].parent}"
    )


def _sweep_table(job: SweepJob) -> Table:
    from harvester.research.sweep import TABLE_METRICS

    result = job.result
    table = Table(
        title=f"{result.strategy} sweep on {job.source}: {len(result.rows)} variants, "
        f"{len(result.rows[0].result.folds)} folds (out of sample)"
    )
    headers = ("variant", "trades", "win rate", "sharpe", "total return", "max drawdown",
               "avg return/trade", "cagr", f"score ({result.metric.name})")  # fmt: skip
    for name in headers:
        table.add_column(name, justify="left" if name == "variant" else "right")
    best = result.best
    percent = {"win_rate", "total_return", "max_drawdown", "average_trade_return", "cagr"}
    for row in result.rows:
        metrics = row.result.metrics
        cells = []
        for key in TABLE_METRICS:
            value = float(metrics.get(key, math.nan))
            if key == "number_of_trades":
                cells.append("-" if math.isnan(value) else str(int(value)))
            elif key in percent:
                cells.append("-" if math.isnan(value) else f"{value * 100:+.2f}%")
            else:
                cells.append(cell(value))
        name = row.variant.name + (" *" if best is not None and row is best else "")
        table.add_row(name, *cells, cell(row.score))
    return table


def sweep_command(
    data: DataOption = "sample",
    strategy: Annotated[
        str, typer.Option("--strategy", help="The strategy swept (default rally).")
    ] = "rally",
    named_configs: Annotated[
        list[str] | None,
        typer.Option(
            "--named-config",
            help="A Rally named config to include (repeatable; default all: baseline, "
            "conservative, aggressive, concentrated).",
        ),
    ] = None,
    grid: Annotated[
        list[str] | None,
        typer.Option(
            "--grid",
            help="Also cross with these values: PATH=A,B,C or PATH=LOW:HIGH:STEP (repeatable).",
        ),
    ] = None,
    metric: Annotated[
        str,
        typer.Option("--metric", help="Rank by this metric (sharpe, cagr, ...) or composite."),
    ] = "sharpe",
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
    """Walk Rally forward once per named config (and --grid combination) on the same data
    and folds; compare trades, win rate, Sharpe, return, drawdown and return per trade.
    Writes sweep.json, sweep.md, sweep.html, sweep.csv and best_config.json.
    """
    from harvester.app.research import WalkForwardPlan
    from harvester.app.training import run_sweep
    from harvester.research.sweep import sweep_payload, sweep_variants
    from harvester.strategies.registry import STRATEGIES

    ctx = context_from(config_file=config_file, profile=profile, assignments=assignments)
    if strategy in STRATEGIES:
        ctx = ctx.for_strategy(strategy)
    plan = WalkForwardPlan(train_len, test_len, stride, anchored, purge, embargo)
    names = None if named_configs is None else tuple(named_configs)
    count = len(sweep_variants(names, tuple(grid or ()), rally=strategy == "rally"))
    with progress_bar(f"sweeping {strategy}", count) as update:
        done = [0]

        def advance(variant: Variant, result: WalkForwardResult) -> None:
            done[0] += 1
            trades = result.metrics.get("number_of_trades", math.nan)
            update(done[0], note=f"{variant.name}: {cell(trades)} trades")

        job = run_sweep(
            ctx, data, plan=plan, strategy=strategy, names=names, grid=tuple(grid or ()),
            metric=metric, out_dir=out, on_variant=advance,
        )  # fmt: skip
    if output_format == "json":
        typer.echo(json.dumps(sweep_payload(job.result, extra={"data": job.source}), indent=2))
        return
    console = make_console()
    console.print(_sweep_table(job))
    best = job.result.best
    if best is None:
        console.print("no variant has a finite score (no trades?)")
    else:
        console.print(
            f"best by {job.result.metric.name}: {best.variant.name} ({cell(best.score)}); "
            f"best config: {job.written[-1]} (use with --config)"
        )
    console.print(f"report: {job.written[0].parent}")


def register(app: typer.Typer) -> None:
    """Add ``train-composer`` and ``sweep`` to the root app."""
    app.command("train-composer")(train_composer_command)
    app.command("sweep")(sweep_command)
