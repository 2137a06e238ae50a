"""``harvester journal`` and ``harvester positions``: the store's trades, positions and daily
equity snapshots as tables, with ``--csv FILE`` export.

See ``docs/daily-operations.md`` (Journal and positions) and :mod:`harvester.app.journal`.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from harvester.cli.options import context_from
from harvester.cli.render import make_console

if TYPE_CHECKING:
    import pandas as pd

    from harvester.app.journal import View

__all__ = ["register"]

AccountOption = Annotated[str, typer.Option("--account", help="Account (paper by default).")]
CsvOption = Annotated[Path | None, typer.Option("--csv", help="Also write the rows to this CSV.")]
_SIDES = {1: "long", -1: "short"}
_PERCENT = {"trade_return", "exposure", "drawdown"}
_HEADERS = {
    "exit_date": "exit", "entry_date": "entry", "entry_price": "entry px",
    "exit_price": "exit px", "trade_return": "return", "exit_reason": "reason",
    "bars_held": "bars", "avg_price": "avg px", "opened_at": "opened", "updated_at": "updated",
    "unrealised_pnl": "unrealised", "day_pnl": "day P&L", "n_signals": "signals",
    "n_positions": "positions",
}  # fmt: skip


def _cell(column: str, value: Any) -> str:
    import pandas as pd

    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if column == "side":
        return _SIDES.get(int(value), str(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date | pd.Timestamp):
        return value.isoformat()[:10]
    if column in _PERCENT:
        return f"{float(value) * 100:+.2f}%" if column == "trade_return" else f"{value:.2%}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _table(title: str, frame: pd.DataFrame) -> Table:
    table = Table(title=title)
    for column in frame.columns:
        left = column in {"symbol", "strategy", "exit_reason", "side"}
        table.add_column(
            _HEADERS.get(str(column), str(column)), justify="left" if left else "right"
        )
    for record in frame.to_dict("records"):
        table.add_row(*(_cell(str(c), v) for c, v in record.items()))
    return table


def _show(view: View, title: str, *, nothing: str, csv: Path | None) -> None:
    from harvester.app.journal import write_csv

    console = make_console()
    if view.database_missing:
        console.print(
            f"no database at {view.database} yet; run: harvester scan (or harvester db upgrade)"
        )
    elif view.rows.empty:
        console.print(f"{nothing} for account {view.account!r} in {view.database} yet")
    else:
        console.print(_table(f"{title} ({view.account}, {len(view.rows)} row(s))", view.rows))
    if csv is not None:
        write_csv(view.rows, csv)
        console.print(f"wrote {len(view.rows)} row(s) to {csv}")


def journal(
    account: AccountOption = "paper",
    strategy: Annotated[
        str | None, typer.Option("--strategy", help="Only this strategy's trades.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Exit (or snapshot) date on or after.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the most recent N rows.")
    ] = None,
    equity: Annotated[
        bool, typer.Option("--equity", help="Show the daily equity snapshots instead.")
    ] = False,
    csv: CsvOption = None,
) -> None:
    """Show the closed trades (or with --equity the daily equity snapshots) of an account."""
    from harvester.app.journal import equity_view, journal_view

    ctx = context_from()
    if equity:
        view = equity_view(ctx, account=account, since=since, limit=limit)
        _show(view, "equity snapshots", nothing="no equity snapshot", csv=csv)
    else:
        view = journal_view(ctx, account=account, strategy=strategy, since=since, limit=limit)
        _show(view, "journal", nothing="no closed trade", csv=csv)


def positions(account: AccountOption = "paper", csv: CsvOption = None) -> None:
    """Show the open positions of an account."""
    from harvester.app.journal import positions_view

    view = positions_view(context_from(), account=account)
    _show(view, "open positions", nothing="no open position", csv=csv)


def register(app: typer.Typer) -> None:
    """Add ``harvester journal`` and ``harvester positions`` to the root app."""
    app.command("journal")(journal)
    app.command("positions")(positions)
