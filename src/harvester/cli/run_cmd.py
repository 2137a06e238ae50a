"""``harvester run``: the main job. Load the data, validate and summarise it, then backtest
every strategy family on it and compare them.

``harvester run scan|retrain|auto|health|live`` are the orchestrator's workflows
(:mod:`harvester.cli.orchestrate_cmd`); ``run`` is a command group that runs the main job
when no workflow is named, so ``harvester run [--data ...] [--summary-only]`` is unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harvester.cli import orchestrate_cmd
from harvester.cli.options import (
    ConfigFileOption,
    DataOption,
    EndOption,
    ProfileOption,
    SetOption,
    StartOption,
    context_from,
    load_with_progress,
)
from harvester.cli.render import comparison_table, make_console, print_data_overview


def run_command(
    typer_ctx: typer.Context,
    data: DataOption = "sample",
    start: StartOption = None,
    end: EndOption = None,
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for each strategy's results.")
    ] = None,
    summary_only: Annotated[
        bool, typer.Option("--summary-only", help="Only load, validate and summarise the data.")
    ] = False,
) -> None:
    """Summarise the data (the bundled real sample by default), then backtest every strategy
    on it (each with its shipped defaults) and print a comparison; reports under --out.
    Workflows: harvester run scan|retrain|auto|health|live (see docs/orchestrator.md).
    """
    if typer_ctx.invoked_subcommand is not None:
        return
    from harvester.app.demo import run_demo  # only the main job needs the backtester

    ctx = context_from(
        config_file=config_file, profile=profile, assignments=assignments, start=start, end=end
    )
    console = make_console()
    loaded = load_with_progress(ctx, data, console)
    print_data_overview(console, loaded, findings_limit=10)
    profile_name = ctx.config.profile or "defaults"
    console.print(f"config: {profile_name} (hash {ctx.config.content_hash()[:16]})")
    if summary_only:
        return
    with console.status("backtesting ...") as status:
        rows = run_demo(ctx, loaded, out_dir=out, on_start=lambda n: status.update(f"{n} ..."))
    if not rows:
        return
    title = f"every strategy on {loaded.source} (each with its shipped defaults)"
    console.print(comparison_table([(row.strategy, row.metrics) for row in rows], title=title))
    console.print(f"reports: {rows[0].report.parent.parent}/<strategy>/report.html")


def register(app: typer.Typer) -> None:
    """Add the main job and the orchestrator's workflows to the root app."""
    group = typer.Typer(invoke_without_command=True, no_args_is_help=False)
    group.callback()(run_command)
    orchestrate_cmd.register(group)
    app.add_typer(group, name="run")
