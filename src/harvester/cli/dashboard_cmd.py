"""``harvester dashboard``: portfolio, open positions, recent trades and equity history.

``--live`` redraws every ``--every`` seconds (rich.live) until Ctrl-C. See ``docs/dashboard.md``
and :mod:`harvester.app.dashboard`.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.columns import Columns
from rich.console import Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from harvester.cli.options import context_from
from harvester.cli.render import make_console

if TYPE_CHECKING:
    from harvester.app.dashboard import Dashboard, Summary

__all__ = ["register", "render_dashboard"]

_SIDES = {1: "long", -1: "short"}


def _money(value: float | None, *, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:+,.2f}" if signed else f"{value:,.2f}"


def _pct(value: float | None, *, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value * 100:+.2f}%" if signed else f"{value * 100:.2f}%"


def _tone(value: float | None) -> str:
    return "green" if value is not None and value > 0 else "red" if value else ""


def _portfolio(summary: Summary, positions: int) -> Panel:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows: list[tuple[str, str, str]] = [
        ("as of", str(summary.as_of or "-"), ""),
        ("equity", _money(summary.equity), ""),
        ("cash", _money(summary.cash), ""),
        ("exposure", _pct(summary.exposure), ""),
        ("unrealised P&L", _money(summary.unrealised_pnl, signed=True),
         _tone(summary.unrealised_pnl)),
        ("day P&L", f"{_money(summary.day_pnl, signed=True)} "
         f"({_pct(summary.day_return, signed=True)})", _tone(summary.day_pnl)),
        ("drawdown", f"{_pct(summary.drawdown)} (max {_pct(summary.max_drawdown)})", ""),
        ("open positions", str(positions), ""),
        ("realised P&L", _money(summary.realised_pnl, signed=True), _tone(summary.realised_pnl)),
        ("closed trades", f"{summary.trades} (win rate {_pct(summary.win_rate)})", ""),
    ]  # fmt: skip
    for label, value, style in rows:
        table.add_row(label, Text(value, style=style))
    return Panel(table, title="portfolio", expand=False)


def _equity(view: Dashboard) -> Panel:
    from harvester.app.dashboard import sparkline

    frame = view.equity
    if frame.empty:
        return Panel("no equity snapshot yet", title="equity", expand=False)
    values = [float(v) for v in frame["equity"]]
    body = Group(
        Text(sparkline(values), style="cyan"),
        Text(f"{frame['date'].iloc[0]} → {frame['date'].iloc[-1]}, {len(values)} snapshot(s)"),
        Text(f"low {_money(min(values))}  high {_money(max(values))}  "
             f"change {_pct(values[-1] / values[0] - 1.0, signed=True)}"),
    )  # fmt: skip
    return Panel(body, title=f"equity (last {len(values)})", expand=False)


def _cell(value: Any, *, money: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if hasattr(value, "strftime"):
        return str(value.strftime("%Y-%m-%d"))
    return _money(float(value)) if money else str(value)


def _positions(view: Dashboard) -> RenderableType:
    if view.positions.empty:
        return Text("no open position")
    table = Table(title=f"open positions ({len(view.positions)})")
    for name in ("symbol", "side", "qty", "avg px", "cost", "stop", "target", "opened"):
        table.add_column(name, justify="left" if name in {"symbol", "side"} else "right")
    for p in view.positions.to_dict("records"):
        table.add_row(
            str(p["symbol"]), _SIDES.get(int(p["side"]), str(p["side"])), f"{p['qty']:g}",
            _money(p["avg_price"]), _money(p["qty"] * p["avg_price"]),
            _cell(p["stop"], money=True), _cell(p["target"], money=True), _cell(p["opened_at"]),
        )  # fmt: skip
    return table


def _trades(view: Dashboard) -> RenderableType:
    if view.trades.empty:
        return Text("no closed trade")
    table = Table(title=f"recent trades (last {len(view.trades)})")
    for name in ("exit", "symbol", "side", "qty", "entry px", "exit px", "P&L", "return",
                 "reason", "bars"):  # fmt: skip
        table.add_column(name, justify="left" if name in {"symbol", "side", "reason"} else "right")
    for t in view.trades.to_dict("records"):
        table.add_row(
            _cell(t["exit_date"]), str(t["symbol"]), _SIDES.get(int(t["side"]), str(t["side"])),
            f"{t['qty']:g}", _money(t["entry_price"]), _money(t["exit_price"]),
            Text(_money(t["pnl"], signed=True), style=_tone(t["pnl"])),
            _pct(t["trade_return"], signed=True), str(t["exit_reason"]), str(t["bars_held"]),
        )  # fmt: skip
    return table


def render_dashboard(view: Dashboard) -> RenderableType:
    """The whole dashboard as one rich renderable (printable, or drawn by rich.live)."""
    title = Text(f"harvester · account {view.account} · {view.database}", style="bold")
    if view.database_missing:
        hint = "no database yet; run: harvester scan (or harvester db upgrade)"
        return Group(title, Text(hint))
    top = Columns([_portfolio(view.summary, len(view.positions)), _equity(view)])
    return Group(title, top, _positions(view), _trades(view))


def dashboard(
    account: Annotated[
        str, typer.Option("--account", help="Account (paper by default).")
    ] = "paper",
    live: Annotated[bool, typer.Option("--live", help="Redraw until Ctrl-C.")] = False,
    journal: Annotated[
        int, typer.Option("--journal", min=1, help="Show the last N closed trades.")
    ] = 10,
    equity: Annotated[
        int, typer.Option("--equity", min=1, help="Equity history over the last N snapshots.")
    ] = 30,
    every: Annotated[
        float, typer.Option("--every", min=0.5, help="Seconds between redraws with --live.")
    ] = 5.0,
) -> None:
    """Show the portfolio, open positions, recent trades and equity history."""
    from harvester.app.dashboard import load_dashboard

    ctx = context_from()
    console = make_console()

    def view() -> RenderableType:
        return render_dashboard(
            load_dashboard(ctx, account=account, journal=journal, equity_days=equity)
        )

    if not live:
        console.print(view())
        return
    try:
        with Live(view(), console=console, refresh_per_second=4, screen=False) as screen:
            while True:
                time.sleep(every)
                screen.update(view())
    except KeyboardInterrupt:
        console.print("stopped")


def register(app: typer.Typer) -> None:
    """Add ``harvester dashboard`` to the root app."""
    app.command("dashboard")(dashboard)
