"""``harvester explain``: how a strategy's signal for one symbol on one day came about."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from harvester.cli.options import (
    ConfigFileOption,
    DataOption,
    ProfileOption,
    SetOption,
    context_from,
)
from harvester.cli.render import make_console

if TYPE_CHECKING:
    from harvester.app.explain import Explanation


def _text(value: Any) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def _section(title: str, values: dict[str, Any]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("name")
    table.add_column("value", justify="right")
    for key, value in values.items():
        table.add_row(key, _text(value))
    return table


def explain_command(
    strategy: Annotated[str, typer.Option("--strategy", help="A registered strategy.")],
    symbol: Annotated[str, typer.Option("--symbol", help="The symbol to explain.")],
    date: Annotated[str, typer.Option("--date", help="The session (YYYY-MM-DD).")],
    data: DataOption = "sample",
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
) -> None:
    """Show the inputs, regime, signal, risk decision and resulting trade of one day."""
    from harvester.app.explain import explain_signal

    ctx = context_from(config_file=config_file, profile=profile, assignments=assignments)
    found: Explanation = explain_signal(
        ctx.for_strategy(strategy), data, strategy=strategy, symbol=symbol, date=date
    )
    console = make_console()
    console.print(
        f"{found.strategy} · {found.symbol} · {found.date:%Y-%m-%d} · close {found.close:.4f}"
        f" · rule regime {found.regime}"
    )
    console.print(_section("what the strategy saw and computed", found.details))
    console.print(_section("its signal at this close", found.signal))
    console.print(_section("risk rules", found.risk))
    if found.trade is None:
        console.print("no trade opened from this close")
    else:
        console.print(_section("the trade this close opened", found.trade))


def register(app: typer.Typer) -> None:
    """Add the explain command to the root app."""
    app.command("explain")(explain_command)
