"""``harvester scan``: the daily step for one session with the paper broker, and its report.

Prints market breadth, new signals, the watchlist of near misses, the full ranking and (with
``--positions``) the open positions; ``--format json`` prints the same as one JSON object.
See ``docs/daily-operations.md``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from harvester.cli.options import DataOption, ProfileOption, SetOption, context_from
from harvester.cli.render import make_console

if TYPE_CHECKING:
    import pandas as pd

    from harvester.app.scan import ScanReport

__all__ = ["register", "report_json"]

NamedOption = Annotated[
    str | None,
    typer.Option("--config", help="Named config (Rally's table): baseline, conservative, ..."),
]
BaseFileOption = Annotated[
    Path | None, typer.Option("--config-file", help="Base JSON config file.")
]


def _value(value: Any) -> Any:
    import pandas as pd

    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, date | pd.Timestamp):
        return value.isoformat()
    return value


def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    if frame is None:
        return None
    return [{str(k): _value(v) for k, v in row.items()} for row in frame.to_dict("records")]


def report_json(report: ScanReport) -> dict[str, Any]:
    """The report as plain JSON-ready data."""
    return {
        "as_of": report.as_of.isoformat(),
        "strategy": report.strategy,
        "source": report.source,
        "live_start": report.live_start.isoformat(),
        "breadth": {k: _value(v) for k, v in asdict(report.breadth).items()},
        "signals": _records(report.signals),
        "watchlist": _records(report.watchlist),
        "ranking": _records(report.ranking),
        "positions": _records(report.positions),
        "skipped": [{"symbol": s, "reason": r} for s, r in report.skipped],
        "stale": [{"symbol": s, "note": n} for s, n in report.stale],
        "orders": report.orders,
        "rejected": [{"client_order_id": c, "reason": r} for c, r in report.rejected],
    }


def _table(title: str, frame: pd.DataFrame, *, limit: int | None = None) -> Table:
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column), justify="left" if column == "symbol" else "right")
    shown = frame if limit is None else frame.head(limit)
    for row in shown.itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    return table


def _cell(value: Any) -> str:
    value = _value(value)
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}"
    return str(value)


def _print(console: Console, report: ScanReport) -> None:
    b = report.breadth
    console.print(
        f"[bold]scan {report.strategy}[/] on {report.source}, session {report.as_of} "
        f"(simulated since {report.live_start}); {report.orders} paper order(s) booked"
    )
    vix = f"; VIX {b.vix:.2f} ({b.vix_regime})" if b.vix is not None else ""
    crosses = ", ".join(b.golden_crosses) or "none"
    console.print(
        f"breadth: {b.above_50:.1f}% above 50-day SMA, {b.above_200:.1f}% above 200-day SMA "
        f"of {b.symbols} symbols; golden crosses: {crosses}{vix}"
    )
    for title, frame in (("new signals", report.signals), ("watchlist", report.watchlist)):
        console.print(_table(title, frame) if len(frame) else f"{title}: none")
    console.print(_table("ranking", report.ranking[["rank", "symbol", "score", "direction",
                                                    "close", "held"]]))  # fmt: skip
    if report.positions is not None:
        console.print(_table("open positions", report.positions))
    for symbol, reason in report.skipped:
        console.print(f"skipped {symbol}: {reason}")
    for symbol, note in report.stale:
        console.print(f"stale {symbol}: {note}")
    for cid, reason in report.rejected:
        console.print(f"rejected {cid}: {reason}")


def scan(
    data: DataOption = "sample",
    strategy: Annotated[str, typer.Option("--strategy", help="Registered strategy.")] = "composer",
    named: NamedOption = None,
    tickers: Annotated[str | None, typer.Option("--tickers", help="Only these: A,B,C.")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Session to scan (default: the data's last).")
    ] = None,
    positions: Annotated[bool, typer.Option("--positions", help="Show open positions.")] = False,
    live_start: Annotated[
        str | None,
        typer.Option("--live-start", help="First simulated session (default: 252 before)."),
    ] = None,
    output: Annotated[
        Literal["table", "json"], typer.Option("--format", help="table or json.")
    ] = "table",
    models: Annotated[
        Path | None,
        typer.Option("--models", help="Trained models (default <home>/models/rally)."),
    ] = None,
    config_file: BaseFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
) -> None:
    """Run the daily step for one session with the paper broker and print the scan."""
    from harvester.app.scan import run_scan
    from harvester.strategies.registry import STRATEGIES

    ctx = context_from(config_file=config_file, profile=profile, assignments=assignments)
    if strategy in STRATEGIES:
        ctx = ctx.for_strategy(strategy)
    wanted = tuple(t.strip().upper() for t in (tickers or "").split(",") if t.strip())
    report = run_scan(
        ctx, data, strategy=strategy, tickers=wanted, as_of=as_of, live_start=live_start,
        named=named, with_positions=positions, models=models,
    )  # fmt: skip
    if output == "json":
        typer.echo(json.dumps(report_json(report), indent=2))
    else:
        _print(make_console(), report)


def register(app: typer.Typer) -> None:
    """Add ``harvester scan`` to the root app."""
    app.command("scan")(scan)
