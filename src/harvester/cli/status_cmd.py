"""``harvester status``: system health, portfolio, risk, tradable universe and macro G-Score.

See ``docs/daily-operations.md`` (Status) and :mod:`harvester.app.status`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console

from harvester.cli.options import (
    ConfigFileOption,
    DataOption,
    ProfileOption,
    SetOption,
    context_from,
)
from harvester.cli.render import make_console

if TYPE_CHECKING:
    from harvester.app.status import StatusReport

__all__ = ["register", "status_json"]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def status_json(report: StatusReport) -> dict[str, Any]:
    """The report as plain JSON-ready data."""
    content = _plain(asdict(report))
    content["risk"]["kill_switch"] = report.risk.kill_switch
    return dict(content)


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _pct(value: float | None, *, sign: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value * 100:+.2f}%" if sign else f"{value * 100:.2f}%"


def _when(value: datetime | None) -> str:
    return "never" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _print_health(console: Console, report: StatusReport) -> None:
    h = report.health
    states = {
        "ok": f"revision {h.revision} (up to date)",
        "behind": f"revision {h.revision or 'none'}, behind head {h.head}; "
        "run: harvester db upgrade",
        "missing": "no database yet; run: harvester scan (or harvester db upgrade)",
        "unreachable": f"unreachable: {h.note}",
    }
    console.print("[bold]system health[/]")
    console.print(f"  database: {h.database}: {states[h.database_state]}")
    c = h.cache
    if c.symbols:
        console.print(
            f"  data cache: {c.symbols} symbol(s), newest fetch {_when(c.newest)}, oldest "
            f"{_when(c.oldest)}; {c.stale} older than {c.ttl_hours:g} h"
        )
    else:
        console.print("  data cache: empty")
    scan = _when(h.last_scan) + (f" ({h.last_scan_status})" if h.last_scan_status else "")
    console.print(f"  last scan: {scan}")


def _print_portfolio(console: Console, report: StatusReport) -> None:
    p, r = report.portfolio, report.risk
    console.print(f"[bold]portfolio[/] ({report.account})")
    if p.as_of is None:
        console.print("  no equity snapshot yet")
    else:
        console.print(
            f"  {p.as_of}: equity {_money(p.equity)}, cash {_money(p.cash)}, exposure "
            f"{_pct(p.exposure)}, unrealised P&L {_money(p.unrealised_pnl)}, day P&L "
            f"{_money(p.day_pnl)}"
        )
    console.print(f"  open positions: {p.open_positions}")
    console.print("[bold]risk[/]")
    console.print(
        f"  drawdown {_pct(r.drawdown)} (worst {_pct(r.max_drawdown)}; limit "
        f"{_pct(r.drawdown_limit)}: {'TRIPPED' if r.drawdown_tripped else 'ok'}); "
        f"day change {_pct(None if r.daily_loss is None else -r.daily_loss, sign=True)} "
        f"(daily-loss limit {_pct(r.daily_loss_limit)}: "
        f"{'TRIPPED' if r.daily_loss_tripped else 'ok'})"
    )
    console.print(f"  kill-switch: {'TRIPPED' if r.kill_switch else 'not tripped'}")


def _print_market(console: Console, report: StatusReport) -> None:
    t, m = report.tradable, report.macro
    console.print(f"[bold]tradable universe[/] (CRI {t.window} >= {t.threshold:g}) on {t.as_of}")
    if t.note:
        console.print(f"  {t.note}")
    else:
        names = ", ".join(f"{s} {t.cri[s]:.2f}" for s in t.symbols) or "none"
        console.print(f"  {len(t.symbols)} of {len(t.cri)}: {names}")
    console.print(f"[bold]macro G-Score[/] on {m.as_of}")
    if m.g_score is None:
        console.print(f"  unknown: {m.note}")
    else:
        console.print(
            f"  {m.g_score:.0f} / 3: {m.meaning} (VIX {m.vix:.2f}, benchmark 7-session "
            f"{_pct(m.benchmark_return, sign=True)}, oil 7-session {_pct(m.oil_return, sign=True)})"
        )


def status(
    account: Annotated[
        str, typer.Option("--account", help="Account (paper by default).")
    ] = "paper",
    data: DataOption = "sample",
    output: Annotated[
        Literal["table", "json"], typer.Option("--format", help="table or json.")
    ] = "table",
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
) -> None:
    """Show system health, portfolio, risk, the tradable universe and the macro G-Score."""
    from harvester.app.status import run_status

    ctx = context_from(config_file=config_file, profile=profile, assignments=assignments)
    report = run_status(ctx, account=account, data=data)
    if output == "json":
        typer.echo(json.dumps(status_json(report), indent=2))
        return
    console = make_console()
    console.print(f"[bold]harvester status[/] (market data: {report.source})")
    _print_health(console, report)
    _print_portfolio(console, report)
    _print_market(console, report)


def register(app: typer.Typer) -> None:
    """Add ``harvester status`` to the root app."""
    app.command("status")(status)
