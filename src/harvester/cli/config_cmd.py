"""``harvester config``: show the resolved config, validate a file, create a profile."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from harvester.cli.options import (
    AssetOption,
    ConfigFileOption,
    JsonOption,
    ProfileOption,
    SetOption,
    context_from,
)
from harvester.cli.render import config_table, make_console
from harvester.config.layers import flatten
from harvester.config.profiles import create_profile, validate_config_file

app = typer.Typer(help="Show, validate and extend the layered configuration.", no_args_is_help=True)


@app.command("show")
def show(
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    asset: AssetOption = None,
    assignments: SetOption = None,
    sources: Annotated[
        bool, typer.Option("--sources", help="Show where each value came from.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Print the configuration resolved from every layer; secrets show only set / not set."""
    ctx = context_from(
        config_file=config_file, profile=profile, asset=asset, assignments=assignments
    )
    values = ctx.config.model_dump(mode="json")
    console = make_console()
    if as_json:
        payload = {
            "config": values,
            "config_hash": ctx.config.content_hash(),
            "secrets": ctx.secrets.status(),
            "home": str(ctx.home.root),
        }
        if sources:
            payload["sources"] = dict(ctx.resolved.sources)
        typer.echo(json.dumps(payload, indent=2))
        return
    console.print(config_table(dict(flatten(values)), ctx.resolved.sources if sources else None))
    console.print(f"home: {ctx.home.root}    config hash: {ctx.config.content_hash()[:16]}")
    for name, status in ctx.secrets.status().items():
        console.print(f"secret {name}: {status}")


@app.command("validate")
def validate(
    path: Annotated[Path, typer.Argument(help="JSON config file to check.")],
) -> None:
    """Check one JSON config file: unknown keys and wrong types fail with the key named."""
    config = validate_config_file(path)
    typer.echo(f"{path}: valid (config hash {config.content_hash()[:16]})")


@app.command("create-profile")
def create_profile_command(
    name: Annotated[str, typer.Argument(help="Name of the new profile.")],
    assignments: SetOption = None,
    based_on: Annotated[
        str | None, typer.Option("--from", help="Start from this profile's values.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing profile.")] = False,
) -> None:
    """Save a custom risk profile that --profile NAME then uses."""
    ctx = context_from()
    path = create_profile(
        name, assignments or [], home=ctx.home, based_on=based_on, overwrite=force
    )
    typer.echo(f"profile {name!r} written to {path}; use it with --profile {name}")
