"""Walk-forward reports: JSON for tools, Markdown and HTML for people; every file atomic.

``write_report(result, out_dir)`` writes

- ``walk_forward.json``: stable keys ``strategy``, ``config_hash``, ``data_fingerprint``,
  ``plan{}``, ``folds[]`` (one object per fold, the fold-table columns, dates as
  ``YYYY-MM-DD``), ``overall{}`` (the metrics of the stitched equity) and ``extra{}``;
  NaN and infinite values are ``null``;
- ``walk_forward.md``: the plan, the fold table and the overall metrics as Markdown tables;
- ``walk_forward.html``: the same tables and the stitched equity plot as an embedded PNG.

matplotlib (Agg backend) is imported only when the HTML is written.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from harvester.core.paths import atomic_path
from harvester.research.walk_forward import FOLD_TABLE_COLUMNS, WalkForwardResult

__all__ = ["report_payload", "to_markdown", "write_report", "write_text"]

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
    """One Markdown table cell: ``-`` for a missing value, 4 significant digits for a float."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def report_payload(
    result: WalkForwardResult, *, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON document of ``result`` (see the module docstring for its keys)."""
    folds = [
        {k: json_value(v) for k, v in row.items()} for row in result.fold_table().to_dict("records")
    ]
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


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _tables(payload: Mapping[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    folds = [[_cell(c, fold[c]) for c in FOLD_TABLE_COLUMNS] for fold in payload["folds"]]
    overall = [[k, _cell(k, v)] for k, v in payload["overall"].items()]
    plan = [[k, _cell(k, v)] for k, v in payload["plan"].items()]
    tables = [
        ("Plan (bars)", ["setting", "value"], plan),
        ("Folds (out of sample)", list(FOLD_TABLE_COLUMNS), folds),
        ("Overall (stitched out-of-sample equity)", ["metric", "value"], overall),
    ]
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
        parts += [f"## {name}", _md_table(header, rows)]
    return "\n\n".join(parts) + "\n"


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _equity_png(equity: pd.Series, folds: Sequence[Mapping[str, Any]]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 3.5))
    try:
        axes.plot(equity.index, equity.to_numpy(), linewidth=1.0)
        for fold in folds[1:]:
            start = pd.Timestamp(fold["test_start"])
            axes.axvline(start, color="grey", linewidth=0.5)  # type: ignore[arg-type]
        axes.set_title("Stitched out-of-sample equity (grey lines: fold starts)")
        axes.grid(alpha=0.3)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    finally:
        plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def to_html(payload: Mapping[str, Any], equity: pd.Series) -> str:
    """The self-contained HTML report: tables and the stitched equity as an embedded PNG."""
    image = _equity_png(equity, payload["folds"])
    sections = "".join(
        f"<h2>{html.escape(name)}</h2>{_html_table(header, rows)}"
        for name, header, rows in _tables(payload)
    )
    style = (
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(_title(payload))}"
        f"</title><style>{style}</style></head><body><h1>{html.escape(_title(payload))}</h1>"
        f"<img alt='stitched equity' src='data:image/png;base64,{image}'>{sections}</body></html>\n"
    )


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
) -> list[Path]:
    """Write ``<stem>.json``, ``<stem>.md`` and (unless ``html_report`` is false)
    ``<stem>.html`` into ``out_dir``; return their paths.
    """
    payload = report_payload(result, extra=extra)
    written = [
        write_text(out_dir / f"{stem}.json", json.dumps(payload, indent=2) + "\n"),
        write_text(out_dir / f"{stem}.md", to_markdown(payload)),
    ]
    if html_report:
        written.append(write_text(out_dir / f"{stem}.html", to_html(payload, result.equity)))
    return written
