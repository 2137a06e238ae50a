"""``harvester run``: the main job. Today: load the data, validate it, print a summary."""

from __future__ import annotations

import typer

from harvester.app.data import load_data, summarize_aux, summarize_symbols
from harvester.cli.options import (
    ConfigFileOption,
    DataOption,
    EndOption,
    ProfileOption,
    SetOption,
    StartOption,
    context_from,
)
from harvester.cli.render import (
    DownloadProgress,
    aux_table,
    findings_table,
    make_console,
    symbols_table,
)


def run_command(
    data: DataOption = "sample",
    start: StartOption = None,
    end: EndOption = None,
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
) -> None:
    """Load the data (the bundled real sample by default), validate it and summarise it."""
    ctx = context_from(
        config_file=config_file, profile=profile, assignments=assignments, start=start, end=end
    )
    console = make_console()
    with DownloadProgress(console) as progress:
        loaded = load_data(ctx, data, progress=progress)
    sessions, symbols = loaded.panel.shape
    first, last = loaded.panel.index[0], loaded.panel.index[-1]
    title = (
        f"{loaded.source}: {symbols} symbols, {sessions} sessions, "
        f"{first:%Y-%m-%d} to {last:%Y-%m-%d}"
    )
    console.print(symbols_table(summarize_symbols(loaded.panel), title=title))
    aux = summarize_aux(loaded.panel)
    if aux:
        console.print(aux_table(aux))
    if loaded.report.findings:
        console.print(findings_table(loaded.report, limit=10))
    console.print(loaded.report.summary_line())
    profile_name = ctx.config.profile or "defaults"
    console.print(f"config: {profile_name} (hash {ctx.config.content_hash()[:16]})")


def register(app: typer.Typer) -> None:
    """Add the main job to the root app."""
    app.command("run")(run_command)
