"""``harvester analyze``: trade analytics by regime and exit type, and harvest advice.

See ``docs/analytics.md`` and :mod:`harvester.app.analyze`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from harvester.cli.defaults import DEFAULT_WINDOW
from harvester.cli.options import context_from
from harvester.cli.render import make_console
from harvester.core.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from harvester.analytics.recommendations import Recommendation
    from harvester.app.analyze import Analysis

__all__ = ["register"]

_COLUMNS = {
    "trades": "trades", "win_rate": "win rate", "expectancy": "expectancy",
    "profit_factor": "PF", "payoff_ratio": "payoff", "exit_efficiency": "exit eff",
    "adverse_recovery_rate": "recovery", "avg_hours": "hours", "time_efficiency": "P&L/h",
    "regime_stability": "stability",
}  # fmt: skip


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if math.isfinite(value) else ("-" if math.isnan(value) else "inf")
    return str(value)


def _metrics_table(title: str, frame: pd.DataFrame, keys: tuple[str, ...]) -> Table:
    table = Table(title=title)
    for key in keys:
        table.add_column(key.replace("_", " "), justify="left")
    for label in _COLUMNS.values():
        table.add_column(label, justify="right")
    for m in frame.to_dict("records"):
        table.add_row(*(str(m[k]) for k in keys), *(_cell(m[c]) for c in _COLUMNS))
    return table


def _advice_table(recs: list[Recommendation]) -> Table:
    table = Table(title=f"recommendations ({len(recs)}; advice only, no config is changed)")
    for name in ("symbol", "regime", "rule", "action", "confidence", "reason"):
        table.add_column(name, justify="right" if name == "confidence" else "left")
    for r in recs:
        confidence = f"{r.confidence:.2f} {r.confidence_level}"
        table.add_row(r.symbol, r.regime, r.rule_name, r.action.value, confidence, r.reason)
    return table


def _print(analysis: Analysis, window: int) -> None:
    console = make_console()
    if analysis.by_regime.empty:
        console.print(f"no closed trades in {analysis.source}")
        return
    console.print(_metrics_table(f"by regime, last {window} trades ({analysis.source})",
                                 analysis.by_regime, ("symbol", "regime")))  # fmt: skip
    console.print(_metrics_table("by exit type", analysis.by_exit,
                                 ("symbol", "regime", "exit_type")))  # fmt: skip
    if analysis.recommendations:
        console.print(_advice_table(analysis.recommendations))
    else:
        console.print("no recommendations: no trend or chop group has 10 trades yet")
    console.print(analysis.report["summary"])


def analyze_command(
    trades: Annotated[
        Path | None,
        typer.Option("--trades", help="A backtest trades.csv/.parquet or its output folder."),
    ] = None,
    from_journal: Annotated[
        bool, typer.Option("--journal", help="Analyse the journal (closed trades in the store).")
    ] = False,
    account: Annotated[str, typer.Option("--account", help="Journal account.")] = "paper",
    window: Annotated[
        int, typer.Option("--window", min=1, help="Analyse the last N trades.")
    ] = DEFAULT_WINDOW,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Trade analytics by symbol, regime and exit type, with harvest recommendations."""
    from harvester.app.analyze import analyze, journal_trades, read_trades

    if (trades is None) == (not from_journal):
        raise ConfigError("give exactly one of --trades FILE or --journal")
    if trades is not None:
        frame, source = read_trades(trades), str(trades)
    else:
        frame, source = journal_trades(context_from(), account=account)
    analysis = analyze(frame, window=window, source=source)
    if as_json:
        typer.echo(json.dumps(analysis.report, indent=2))
    else:
        _print(analysis, window)


def register(app: typer.Typer) -> None:
    """Add ``harvester analyze`` to the root app."""
    app.command("analyze")(analyze_command)
