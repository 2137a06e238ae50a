"""``harvester learn``: attribution rules from the experience buffer, and their review.

``learn attribute`` ranks the entry context and proposes filter rules (``--write-proposed``
saves them for review), ``learn rules`` lists proposed and active rules, ``learn activate
RULE_ID`` makes a proposed rule block buys. See ``docs/learning.md``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from harvester.cli.render import make_console

if TYPE_CHECKING:
    from harvester.live.learning.attribution import Rule

__all__ = ["app", "register"]

app = typer.Typer(help="The learning loop: attribution rules from the experience buffer.")


def _rules_table(title: str, rules: Sequence[Rule]) -> Table:
    table = Table(title=title)
    for name in ("id", "setup", "condition", "success", "trades", "importance"):
        table.add_column(name, justify="left" if name in {"id", "setup", "condition"} else "right")
    for r in rules:
        table.add_row(
            r.id, r.setup, f"{r.feature} {r.operator} {r.threshold:.4g}",
            f"{r.success_rate:.1%}", str(r.trades), f"{r.importance:.3f}",
        )  # fmt: skip
    return table


@app.command("attribute")
def attribute_cmd(
    buffer: Annotated[
        Path | None, typer.Option("--buffer", help="Experience buffer (default: in the home).")
    ] = None,
    min_trades: Annotated[
        int, typer.Option("--min-trades", min=1, help="Fewest trades under a condition.")
    ] = 20,
    rolling_days: Annotated[
        float | None,
        typer.Option("--rolling-days", min=0, help="Only trades of the last D days."),
    ] = None,
    write_proposed: Annotated[
        bool, typer.Option("--write-proposed", help="Save the rules to rules_proposed.json.")
    ] = False,
) -> None:
    """Rank the entry context by random-forest importance and propose filter rules."""
    from harvester.app.learn import attribute

    result = attribute(
        os.environ, now=datetime.now(UTC), buffer=buffer, min_trades=min_trades,
        rolling_days=rolling_days, write_proposed=write_proposed,
    )  # fmt: skip
    console = make_console()
    console.print(f"{result.trades} paired trade(s) from {result.buffer}")
    if not result.importance.empty:
        table = Table(title="feature importance")
        table.add_column("feature")
        table.add_column("importance", justify="right")
        for feature, value in result.importance.items():
            table.add_row(str(feature), f"{value:.3f}")
        console.print(table)
    if result.rules:
        console.print(_rules_table(f"proposed rules ({len(result.rules)})", result.rules))
    else:
        console.print("no rule proposed: no setup succeeds < 40% under a tested condition")
    if result.written is not None:
        console.print(f"wrote {len(result.rules)} rule(s) to {result.written}")
        console.print("review, then: harvester learn activate RULE_ID")


@app.command("rules")
def rules_cmd() -> None:
    """List the proposed and the active rules."""
    from harvester.app.learn import rule_lists

    proposed, active = rule_lists(os.environ)
    console = make_console()
    console.print(_rules_table(f"proposed rules ({len(proposed)})", proposed))
    console.print(_rules_table(f"active rules ({len(active)}; these block buys)", active))


@app.command("activate")
def activate_cmd(rule_id: Annotated[str, typer.Argument(help="A proposed rule's id.")]) -> None:
    """Move a proposed rule into the active rules, which block buys."""
    from harvester.app.learn import activate

    rule = activate(os.environ, rule_id)
    make_console().print(f"activated {rule.id}: {rule.describe()}")


def register(root: typer.Typer) -> None:
    """Add ``harvester learn`` to the root app."""
    root.add_typer(app, name="learn")
