"""``harvester run``: the main job. Today: load the data, validate it, print a summary."""

from __future__ import annotations

import typer

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
from harvester.cli.render import (
    make_console,
    print_data_overview,
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
    print_data_overview(console, load_with_progress(ctx, data, console), findings_limit=10)
    profile_name = ctx.config.profile or "defaults"
    console.print(f"config: {profile_name} (hash {ctx.config.content_hash()[:16]})")


def register(app: typer.Typer) -> None:
    """Add the main job to the root app."""
    app.command("run")(run_command)
