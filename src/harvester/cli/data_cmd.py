"""``harvester data``: describe, check and list market data and universes."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from harvester.cli.options import (
    ConfigFileOption,
    DataOption,
    EndOption,
    JsonOption,
    ProfileOption,
    SetOption,
    StartOption,
    context_from,
    load_with_progress,
)
from harvester.cli.render import (
    findings_table,
    make_console,
    print_data_overview,
)
from harvester.config.models import SanityMode

app = typer.Typer(help="Load, describe and check market data.", no_args_is_help=True)


@app.command("info")
def info(
    data: DataOption = "sample",
    start: StartOption = None,
    end: EndOption = None,
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the symbols, date range, rows and missing values of a data source."""
    from harvester.app.data import summarize_aux, summarize_symbols

    ctx = context_from(
        config_file=config_file, profile=profile, assignments=assignments, start=start, end=end
    )
    console = make_console()
    loaded = load_with_progress(ctx, data, console)
    if as_json:
        rows, aux = summarize_symbols(loaded.panel), summarize_aux(loaded.panel)
        payload = {"symbols": [asdict(r) for r in rows], "aux": [asdict(a) for a in aux]}
        typer.echo(json.dumps(payload, indent=2, default=str))
        return
    print_data_overview(console, loaded)


@app.command("check")
def check(
    data: DataOption = "sample",
    mode: Annotated[
        SanityMode, typer.Option("--mode", help="warn: report only; enforce: fail on errors.")
    ] = "warn",
    report: Annotated[
        Path | None, typer.Option("--report", help="Where to write the JSON report.")
    ] = None,
    config_file: ConfigFileOption = None,
    assignments: SetOption = None,
) -> None:
    """Run the data-sanity rules and write a JSON report with every finding."""
    from harvester.app.data import check_data

    ctx = context_from(config_file=config_file, assignments=assignments)
    outcome = check_data(ctx, data, mode=mode, report_path=report)
    console = make_console()
    if outcome.report.findings:
        console.print(findings_table(outcome.report))
    console.print(outcome.report.summary_line())
    console.print(f"report: {outcome.report_path}")


@app.command("universe")
def universe(
    name: Annotated[
        str | None, typer.Argument(help="sp500, nasdaq100, sample or file:PATH.txt")
    ] = None,
) -> None:
    """List the bundled universes, or the members of one."""
    from harvester.data.universes import list_universes, load_universe

    if name is None:
        for known in list_universes():
            typer.echo(known)
        return
    members = load_universe(name)
    for symbol in members.symbols:
        sector = members.sectors.get(symbol, "")
        typer.echo(f"{symbol}\t{sector}" if sector else symbol)
