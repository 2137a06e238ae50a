"""``harvester strategies list``: the registered strategies and their parameters."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from harvester.cli.options import ConfigFileOption, ProfileOption, SetOption, context_from
from harvester.cli.render import make_console

strategies_app = typer.Typer(help="The built-in strategies.", no_args_is_help=True)


@strategies_app.command("list")
def list_command(
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
) -> None:
    """Show every strategy with its parameters (defaults, or as the config sets them)."""
    from harvester.app.strategies import strategy_rows

    ctx = context_from(config_file=config_file, profile=profile, assignments=assignments)
    table = Table(title="strategies (parameters under strategies.<name> in the config)")
    for column in ("strategy", "what it does", "parameters", "features"):
        table.add_column(column, overflow="fold")
    for row in strategy_rows(ctx.config):
        parameters = "\n".join(f"{k}={json.dumps(v)}" for k, v in row.parameters.items())
        table.add_row(row.name, row.summary, parameters, ", ".join(row.features))
    make_console().print(table)


def register(app: typer.Typer) -> None:
    """Add the strategies command group to the root app."""
    app.add_typer(strategies_app, name="strategies")
