"""Research reports: JSON for tools, Markdown and HTML for people; every file atomic.

Every research command (walk-forward, smoke, optimize, ab-test, bias-check) writes
``<stem>.json``, ``<stem>.md`` and ``<stem>.html`` with :func:`report_files`. The HTML of
every one is rendered by :func:`html_page` (title, notes, figures, tables) with its plots
drawn by :func:`png_figure` (matplotlib, Agg backend, imported only when an HTML is
written) and embedded as base64 PNGs, so each HTML file is self-contained.

``write_report(result, out_dir)`` writes the walk-forward's files:

- ``walk_forward.json``: stable keys ``strategy``, ``config_hash``, ``data_fingerprint``,
  ``plan{}``, ``folds[]`` (one object per fold: the fold-table columns, dates as
  ``YYYY-MM-DD``, and ``params{}``, the parameters chosen on the fold's training bars by
  per-fold optimisation, empty without it), ``overall{}`` (the metrics of the stitched
  equity) and ``extra{}``; NaN and infinite values are ``null``;
- ``walk_forward.md``: the plan, the fold table, the per-fold parameters (when optimised)
  and the overall metrics as Markdown tables;
- ``walk_forward.html``: the same tables and the stitched equity plot.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from harvester.core.paths import atomic_path
from harvester.research.walk_forward import FOLD_TABLE_COLUMNS, WalkForwardResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "Figure",
    "ReportTable",
    "equity_figure",
    "html_page",
    "json_value",
    "markdown_cell",
    "markdown_table",
    "png_figure",
    "report_files",
    "report_payload",
    "to_html",
    "to_markdown",
    "write_report",
    "write_text",
]

ReportTable = tuple[str, Sequence[str], Sequence[Sequence[str]]]
"""A report table: its name, its header and its rows of formatted cells."""
Figure = tuple[str, str]
"""A report figure: its caption and the base64 PNG (see :func:`png_figure`)."""

_PERCENT_KEYS = frozenset(
    {"total_return", "cagr", "max_drawdown", "annual_volatility", "win_rate", "exposure",
     "average_trade_return", "best_period", "worst_period"}
)  # fmt: skip


def json_value(value: Any) -> Any:
    """``value`` made JSON-safe for every research report: dates as YYYY-MM-DD, numpy scalars
    as Python ones, NaN and inf as ``None``, mappings and sequences converted inside.
    """
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def markdown_cell(value: Any) -> str:
    """One table cell: ``-`` for a missing or NaN value, 4 significant digits for a float."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def report_payload(
    result: WalkForwardResult,
    *,
    extra: Mapping[str, Any] | None = None,
    fold_params: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The JSON document of ``result`` (see the module docstring for its keys);
    ``fold_params[i]`` are fold ``i``'s chosen parameters (per-fold optimisation)."""
    rows = result.fold_table().to_dict("records")
    chosen = list(fold_params or ())
    folds = [
        {**{k: json_value(v) for k, v in row.items()},
         "params": json_value(dict(chosen[i])) if i < len(chosen) else {}}
        for i, row in enumerate(rows)
    ]  # fmt: skip
    return {
        "strategy": result.strategy,
        "config_hash": result.config_hash,
        "data_fingerprint": result.data_fingerprint,
        "plan": {k: json_value(v) for k, v in result.plan.items()},
        "folds": folds,
        "overall": {k: json_value(v) for k, v in result.metrics.items()},
        "extra": {k: json_value(v) for k, v in (extra or {}).items()},
    }


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value * 100:+.2f}%" if key in _PERCENT_KEYS else f"{value:.4g}"
    return str(value)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table of formatted cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _params_table(folds: Sequence[Mapping[str, Any]]) -> ReportTable | None:
    names = list(dict.fromkeys(k for fold in folds for k in fold.get("params", {})))
    if not names:
        return None
    rows = [[str(f["fold"]), *(_cell(n, f["params"].get(n)) for n in names)] for f in folds]
    return ("Per-fold parameters (chosen on each fold's training bars)", ["fold", *names], rows)


def _tables(payload: Mapping[str, Any]) -> list[ReportTable]:
    folds = [[_cell(c, fold[c]) for c in FOLD_TABLE_COLUMNS] for fold in payload["folds"]]
    overall = [[k, _cell(k, v)] for k, v in payload["overall"].items()]
    plan = [[k, _cell(k, v)] for k, v in payload["plan"].items()]
    tables: list[ReportTable] = [
        ("Plan (bars)", ["setting", "value"], plan),
        ("Folds (out of sample)", list(FOLD_TABLE_COLUMNS), folds),
    ]
    chosen = _params_table(payload["folds"])
    if chosen is not None:
        tables.append(chosen)
    tables.append(("Overall (stitched out-of-sample equity)", ["metric", "value"], overall))
    if payload["extra"]:
        extra = [[k, _cell(k, v)] for k, v in payload["extra"].items()]
        tables.append(("Run", ["item", "value"], extra))
    return tables


def _title(payload: Mapping[str, Any]) -> str:
    return f"Walk-forward: {payload['strategy']}"


def to_markdown(payload: Mapping[str, Any]) -> str:
    """The Markdown report of a :func:`report_payload` document."""
    parts = [
        f"# {_title(payload)}",
        f"config hash `{payload['config_hash'][:16]}`, data `{payload['data_fingerprint'][:16]}`",
    ]
    for name, header, rows in _tables(payload):
        parts += [f"## {name}", markdown_table(header, rows)]
    return "\n\n".join(parts) + "\n"


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def png_figure(draw: Callable[[Axes], None], *, title: str) -> str:
    """Draw one figure with matplotlib's Agg backend; return it as a base64 PNG.

    ``draw(axes)`` plots on the figure's single axes; ``title`` is set afterwards.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 3.5))
    try:
        draw(axes)
        axes.set_title(title)
        axes.grid(alpha=0.3)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    finally:
        plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def html_page(
    title: str,
    *,
    notes: Sequence[str] = (),
    tables: Sequence[ReportTable] = (),
    figures: Sequence[Figure] = (),
) -> str:
    """The one HTML renderer of every research report: a self-contained page with the
    title, the ``notes`` (a bullet list), each figure (``(caption, base64 PNG)``, embedded)
    under an ``<h2>`` of its caption, then each table under an ``<h2>`` of its name.
    """
    parts = [f"<h1>{html.escape(title)}</h1>"]
    if notes:
        parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    for caption, image in figures:
        parts.append(
            f"<h2>{html.escape(caption)}</h2>"
            f"<img alt='{html.escape(caption)}' src='data:image/png;base64,{image}'>"
        )
    parts += [f"<h2>{html.escape(name)}</h2>{_html_table(h, rows)}" for name, h, rows in tables]
    style = (
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title><style>{style}</style></head><body>{''.join(parts)}</body></html>\n"
    )


def equity_figure(
    curves: Mapping[str, pd.Series], *, title: str, marks: Sequence[pd.Timestamp] = ()
) -> str:
    """A base64 PNG of one or more equity curves (a legend when there are several), with
    grey vertical lines at ``marks`` (e.g. fold starts)."""

    def draw(axes: Axes) -> None:
        for name, curve in curves.items():
            axes.plot(curve.index, curve.to_numpy(), linewidth=1.0, label=name)
        for mark in marks:
            axes.axvline(mark, color="grey", linewidth=0.5)  # type: ignore[arg-type]
        if len(curves) > 1:
            axes.legend()

    return png_figure(draw, title=title)


def to_html(
    payload: Mapping[str, Any],
    equity: pd.Series,
    *,
    title: str | None = None,
    notes: Sequence[str] = (),
) -> str:
    """The self-contained HTML report: tables and the stitched equity as an embedded PNG
    (``title`` and ``notes`` replace the walk-forward title and add a bullet list)."""
    marks = [pd.Timestamp(fold["test_start"]) for fold in payload["folds"][1:]]
    image = equity_figure(
        {"equity": equity},
        title="Stitched out-of-sample equity (grey lines: fold starts)",
        marks=marks,
    )
    return html_page(
        title or _title(payload), notes=notes, tables=_tables(payload),
        figures=[("Stitched out-of-sample equity", image)],
    )  # fmt: skip


def report_files(
    out_dir: Path,
    stem: str,
    payload: Mapping[str, Any],
    markdown: str,
    html_text: Callable[[], str] | None,
) -> list[Path]:
    """Write ``<stem>.json`` (``payload``), ``<stem>.md`` and, when ``html_text`` is given,
    ``<stem>.html`` (its result) into ``out_dir``, each atomically; return their paths."""
    written = [
        write_text(out_dir / f"{stem}.json", json.dumps(payload, indent=2) + "\n"),
        write_text(out_dir / f"{stem}.md", markdown),
    ]
    if html_text is not None:
        written.append(write_text(out_dir / f"{stem}.html", html_text()))
    return written


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (write a temporary file, then rename)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_report(
    result: WalkForwardResult,
    out_dir: Path,
    *,
    stem: str = "walk_forward",
    extra: Mapping[str, Any] | None = None,
    html_report: bool = True,
    fold_params: Sequence[Mapping[str, Any]] | None = None,
) -> list[Path]:
    """Write ``<stem>.json``, ``<stem>.md`` and (unless ``html_report`` is false)
    ``<stem>.html`` into ``out_dir``; return their paths.
    """
    payload = report_payload(result, extra=extra, fold_params=fold_params)
    return report_files(
        out_dir, stem, payload, to_markdown(payload),
        (lambda: to_html(payload, result.equity)) if html_report else None,
    )  # fmt: skip
