"""Rich tables for the CLI; plain formatting only, no logic."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

    from harvester.app.data import AuxSummary, SymbolSummary
    from harvester.data.loader import LoadedData
    from harvester.data.sanity import SanityReport

__all__ = [
    "DownloadProgress",
    "aux_table",
    "config_table",
    "findings_table",
    "make_console",
    "metrics_table",
    "print_data_overview",
    "symbols_table",
]


def make_console(*, stderr: bool = False) -> Console:
    """Return a console that keeps tables readable when output is piped (at least 120 wide)."""
    probe = Console(stderr=stderr)
    return Console(stderr=stderr, width=max(probe.width, 120) if not probe.is_terminal else None)


class DownloadProgress:
    """A progress bar that appears on the first download report and closes on exit."""

    def __init__(self, console: Console, *, label: str = "downloading") -> None:
        self._bar = Progress(
            TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, transient=True,
        )  # fmt: skip
        self._task: TaskID | None = None

    def __call__(self, done: int, total: int) -> None:
        if self._task is None:
            self._bar.start()
            self._task = self._bar.add_task("download", total=total)
        self._bar.update(self._task, completed=done)

    def __enter__(self) -> DownloadProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._bar.stop()


def _date(value: pd.Timestamp) -> str:
    import pandas as pd

    return "-" if pd.isna(value) else f"{value:%Y-%m-%d}"


def _pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{value * 100:+.1f}%"


def _num(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.2f}"


def _value(value: object) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def symbols_table(rows: Sequence[SymbolSummary], *, title: str) -> Table:
    """Per-symbol span and statistics."""
    table = Table(title=title)
    for name in ("symbol", "class", "sector", "first", "last", "bars", "missing"):
        table.add_column(name, justify="right" if name in ("bars", "missing") else "left")
    for name in ("last close", "total return", "ann. vol", "max drawdown"):
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(
            row.symbol, row.asset_class, row.sector or "-", _date(row.first), _date(row.last),
            str(row.bars), str(row.missing), _num(row.last_close), _pct(row.total_return),
            _pct(row.volatility).lstrip("+"), _pct(row.max_drawdown),
        )  # fmt: skip
    return table


def aux_table(rows: Sequence[AuxSummary]) -> Table:
    """Auxiliary series span and range."""
    table = Table(title="Auxiliary series")
    for name in ("series", "first", "last", "missing", "min", "max", "last value"):
        table.add_column(name, justify="left" if name in ("series", "first", "last") else "right")
    for row in rows:
        table.add_row(
            row.name, _date(row.first), _date(row.last), str(row.missing), _num(row.minimum),
            _num(row.maximum), _num(row.last_value),
        )  # fmt: skip
    return table


def findings_table(report: SanityReport, *, limit: int = 20) -> Table:
    """The first ``limit`` findings and the count per rule."""
    import pandas as pd

    counts = ", ".join(f"{rule}: {n}" for rule, n in sorted(report.counts_by_rule().items()))
    table = Table(title=f"Sanity findings ({counts or 'none'})")
    for name in ("severity", "symbol", "date", "rule", "value", "message"):
        table.add_column(name)
    for finding in report.findings[:limit]:
        table.add_row(
            finding.severity, finding.symbol, _date(pd.Timestamp(finding.date)), finding.rule,
            _value(finding.value), finding.message,
        )  # fmt: skip
    if len(report.findings) > limit:
        table.caption = f"{len(report.findings) - limit} more in the JSON report"
    return table


def print_data_overview(console: Console, loaded: LoadedData, *, findings_limit: int = 0) -> None:
    """Print the symbol table, the auxiliary series, the first findings and the summary."""
    from harvester.app.data import summarize_aux, summarize_symbols

    panel = loaded.panel
    sessions, symbols = panel.shape
    span = f", {panel.index[0]:%Y-%m-%d} to {panel.index[-1]:%Y-%m-%d}" if sessions else ""
    title = f"{loaded.source}: {symbols} symbols, {sessions} sessions{span}"
    console.print(symbols_table(summarize_symbols(panel), title=title))
    aux = summarize_aux(panel)
    if aux:
        console.print(aux_table(aux))
    if findings_limit and loaded.report.findings:
        console.print(findings_table(loaded.report, limit=findings_limit))
    console.print(loaded.report.summary_line())


_PERCENT_METRICS = frozenset(
    {"total_return", "cagr", "annual_volatility", "max_drawdown", "win_rate", "exposure",
     "best_period", "worst_period", "average_trade_return"}
)  # fmt: skip


def _metric_text(key: str, value: float) -> str:
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if key in _PERCENT_METRICS:
        return f"{value * 100:.2f}%"
    return f"{value:,.2f}" if abs(value) >= 1000 or key.endswith("equity") else f"{value:.4g}"


def metrics_table(metrics: Mapping[str, float], *, title: str) -> Table:
    """Backtest metrics, percentages where the metric is a fraction."""
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key, _metric_text(key, value))
    return table


COMPARED_METRICS = (
    "number_of_trades", "total_return", "cagr", "sharpe", "sortino", "max_drawdown",
    "win_rate", "profit_factor", "exposure",
)  # fmt: skip


def comparison_table(rows: Sequence[tuple[str, Mapping[str, float]]], *, title: str) -> Table:
    """One row per strategy, the headline metrics side by side."""
    table = Table(title=title)
    table.add_column("strategy")
    for key in COMPARED_METRICS:
        table.add_column(key.replace("_", " "), justify="right")
    for name, metrics in rows:
        cells = [_metric_text(key, metrics.get(key, math.nan)) for key in COMPARED_METRICS]
        table.add_row(name, *cells)
    return table


def config_table(values: Mapping[str, object], sources: Mapping[str, str] | None) -> Table:
    """Resolved config keys, values and (optionally) the layer each came from."""
    table = Table(title="Resolved configuration")
    table.add_column("key")
    table.add_column("value")
    if sources is not None:
        table.add_column("source")
    for key, value in values.items():
        cells = [key, str(value)]
        if sources is not None:
            cells.append(sources.get(key, "default"))
        table.add_row(*cells)
    return table
