"""``harvester screen``: the daily opportunity pool, written to the active-symbols file.

See ``docs/daily-operations.md`` (Screener) and :mod:`harvester.app.screen`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from harvester.cli.defaults import DEFAULT_CHUNK, DEFAULT_DELAY
from harvester.cli.options import ConfigFileOption, ProfileOption, SetOption, context_from
from harvester.cli.render import make_console

if TYPE_CHECKING:
    from harvester.app.screen import ScreenReport

__all__ = ["register"]

_REASONS = {"zscore": "|z| > {z:g}", "volume_spike": "volume > {v:g}x avg"}


def _reasons(report: ScreenReport, reasons: Any) -> str:
    c = report.criteria
    return ", ".join(_REASONS[r].format(z=c.z, v=c.volume_spike) for r in reasons)


def _print(console: Console, report: ScreenReport) -> None:
    c = report.criteria
    console.print(
        f"[bold]screen[/] {report.universe} on {report.source}: {report.screened} symbol(s) "
        f"screened, {report.active} active (|z| > {c.z:g} or volume > {c.volume_spike:g}x "
        f"its {c.period}-day average)"
    )
    if report.ranked.empty:
        console.print("no active symbol today")
    else:
        table = Table(title=f"top {len(report.ranked)} by activity score")
        for name in ("rank", "symbol", "date", "close", "z-score", "volume ratio", "score",
                     "why"):  # fmt: skip
            table.add_column(name, justify="left" if name in {"symbol", "why"} else "right")
        for r in report.ranked.itertuples(index=False):
            table.add_row(
                str(r.rank), str(r.symbol), str(r.date), f"{r.close:,.2f}", f"{r.zscore:+.2f}",
                f"{r.volume_ratio:.2f}", f"{r.score:.2f}", _reasons(report, r.reasons),
            )  # fmt: skip
        console.print(table)
    for symbol, reason in report.skipped:
        console.print(f"skipped {symbol}: {reason}")
    console.print(f"wrote {len(report.ranked)} active symbol(s) to {report.out}")


def screen(
    universe: Annotated[
        str | None,
        typer.Option(
            "--universe",
            help="sp500, nasdaq100, sample, alpaca_equity or @FILE (default: all of --data).",
        ),
    ] = None,
    data: Annotated[
        str,
        typer.Option(
            "--data",
            help="sample, a file or folder (no fetching), or a provider: yfinance, alpaca, "
            "alphavantage, online (fetches the universe in chunks, cache first).",
        ),
    ] = "sample",
    top: Annotated[int, typer.Option("--top", min=1, help="Active symbols to keep.")] = 20,
    z: Annotated[float, typer.Option("--z", help="Flag |z-score of the close| above.")] = 2.0,
    volume_spike: Annotated[
        float, typer.Option("--volume-spike", help="Flag volume above this × 20-day average.")
    ] = 2.0,
    chunk: Annotated[
        int, typer.Option("--chunk", min=1, help="Symbols fetched per chunk.")
    ] = DEFAULT_CHUNK,
    delay: Annotated[
        float, typer.Option("--delay", min=0.0, help="Seconds between chunks.")
    ] = DEFAULT_DELAY,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Active-symbols file (default <home>/active_symbols.json)."),
    ] = None,
    output: Annotated[
        Literal["table", "json"], typer.Option("--format", help="table or json.")
    ] = "table",
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
) -> None:
    """Screen a universe for unusual moves or volume and write the top active symbols."""
    from harvester.app.screen import run_screen
    from harvester.live.screener import ScreenCriteria

    ctx = context_from(config_file=config_file, profile=profile, assignments=assignments)
    report = run_screen(
        ctx, universe=universe, data=data, top=top,
        criteria=ScreenCriteria(z=z, volume_spike=volume_spike), chunk=chunk, delay=delay,
        out=out,
    )  # fmt: skip
    if output == "json":
        content = dict(report.content, out=str(report.out), source=report.source,
                       skipped=[{"symbol": s, "reason": r} for s, r in report.skipped])  # fmt: skip
        typer.echo(json.dumps(content, indent=2))
    else:
        _print(make_console(), report)


def register(app: typer.Typer) -> None:
    """Add ``harvester screen`` to the root app."""
    app.command("screen")(screen)
