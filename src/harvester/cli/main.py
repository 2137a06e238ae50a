"""The ``harvester`` command: the one place where errors become messages and exit codes."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from typing import Annotated

import click
import typer

from harvester import __version__
from harvester.cli import (
    analyze_cmd,
    backtest_cmd,
    bot_cmd,
    broker_cmd,
    config_cmd,
    consume_cmd,
    dashboard_cmd,
    data_cmd,
    db_cmd,
    explain_cmd,
    features_cmd,
    journal_cmd,
    learn_cmd,
    research_cmd,
    run_cmd,
    scan_cmd,
    screen_cmd,
    serve_cmd,
    setup_cmd,
    status_cmd,
    strategies_cmd,
    train_cmd,
)
from harvester.core.errors import HarvesterError

__all__ = ["app", "main", "run"]

app = typer.Typer(
    name="harvester",
    help="One package and CLI for systematic traders. Start with: harvester run",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(config_cmd.app, name="config")
app.add_typer(data_cmd.app, name="data")
app.add_typer(db_cmd.app, name="db")
app.add_typer(broker_cmd.app, name="broker")
run_cmd.register(app)
backtest_cmd.register(app)
features_cmd.register(app)
strategies_cmd.register(app)
explain_cmd.register(app)
research_cmd.register(app)
train_cmd.register(app)
scan_cmd.register(app)
screen_cmd.register(app)
journal_cmd.register(app)
status_cmd.register(app)
consume_cmd.register(app)
learn_cmd.register(app)
dashboard_cmd.register(app)
setup_cmd.register(app)
analyze_cmd.register(app)
serve_cmd.register(app)
bot_cmd.register(app)


@app.callback()
def root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback of an error.")
    ] = False,
) -> None:
    """Market data, signals, regimes, models, backtests, research, scanning and trading."""


@app.command("version")
def version() -> None:
    """Print the installed version."""
    typer.echo(f"harvester {__version__}")


def _report(error: HarvesterError, *, debug: bool) -> int:
    if debug:
        traceback.print_exception(error, file=sys.stderr)
    message = " ".join(str(error).split("\n"))
    print(f"error: {message}", file=sys.stderr)
    return error.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code instead of exiting."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        app(args=args, prog_name="harvester", standalone_mode=False)
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.exceptions.Abort:
        print("aborted", file=sys.stderr)
        return 130
    except HarvesterError as e:
        return _report(e, debug=debug)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
