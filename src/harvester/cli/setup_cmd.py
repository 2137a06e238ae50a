"""``harvester setup``: write ``.env`` interactively (or from the environment with
``--non-interactive``), mode 600, git-ignored, never printing a secret.

See ``docs/setup.md`` and :mod:`harvester.app.setup_env`.
"""

from __future__ import annotations

import getpass
import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from harvester.core.errors import ConfigError
from harvester.core.logsetup import configure_logging
from harvester.core.paths import resolve_home

__all__ = ["register"]

log = logging.getLogger(__name__)


def _flags(values: list[str] | None) -> dict[str, str]:
    pairs = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigError("--value needs NAME=VALUE (the value is not shown)")
        pairs[name.strip()] = value.strip()
    return pairs


def setup(
    env_file: Annotated[Path, typer.Option("--env-file", help="The .env to write.")] = Path(".env"),
    gitignore: Annotated[
        Path, typer.Option("--gitignore", help="The .gitignore that must list .env.")
    ] = Path(".gitignore"),
    batch: Annotated[
        bool,
        typer.Option(
            "--non-interactive",
            help="Ask nothing: take the known variables from the environment and --value.",
        ),
    ] = False,
    value: Annotated[
        list[str] | None,
        typer.Option(
            "--value",
            help="NAME=VALUE with --non-interactive (prefer the environment "
            "for secrets: command lines are visible to other users).",
        ),
    ] = None,
) -> None:
    """Ask for Discord, Alpaca, Anthropic and data-provider credentials and write .env."""
    from harvester.app.setup_env import (
        Prompter,
        ensure_gitignored,
        mask,
        non_interactive,
        parse_env,
        run_setup,
        write_env,
    )

    configure_logging(log_dir=resolve_home(os.environ) / "logs", console=False)
    existing = parse_env(env_file.read_text(encoding="utf-8")) if env_file.is_file() else {}
    if batch:
        values = non_interactive(os.environ, _flags(value))
    else:
        io = Prompter(ask=input, ask_secret=getpass.getpass, say=typer.echo)
        values = run_setup(io, existing)
    write_env(env_file, values)
    log.info("setup wrote %s: %s", env_file, ", ".join(sorted(values)) or "nothing new")
    typer.echo(f"wrote {env_file} (mode 600) with {len(values)} value(s):")
    for name in sorted(values):
        typer.echo(f"  {name} = {mask(name, values[name])}")
    if ensure_gitignored(gitignore):
        typer.echo(f"added .env to {gitignore}")


def register(app: typer.Typer) -> None:
    """Add ``harvester setup`` to the root app."""
    app.command("setup")(setup)
