"""The files an optimisation (:func:`~harvester.research.optimize.optimize`) writes.

:func:`write_optimize_report` writes, to one directory:

- ``best_config.json``: the best trial's searched keys only, nested, usable with ``--config``;
- ``trials.csv``: one row per trial (number, state, value, parameters, summary metrics, error);
- ``trial_returns.parquet``: the out-of-sample returns matrix (dates × completed trials);
- ``optimize.json``: :func:`optimize_payload`, stable keys;
- ``optimize.md``: :func:`optimize_markdown`, the study, best parameters and top-N table;
- ``optimize.html``: :func:`optimize_html`, the optimisation history (objective per trial
  and the running best, :func:`history_figure`), the best trial's out-of-sample equity and
  the top-N table.

Non-finite numbers are written as JSON ``null``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from harvester.core.paths import atomic_path
from harvester.research.optimize import SUMMARY_METRICS, OptimizeResult, TrialRecord
from harvester.research.report import (
    ReportTable,
    equity_figure,
    html_page,
    markdown_cell,
    markdown_table,
    png_figure,
    report_files,
    write_text,
)

__all__ = [
    "history_figure",
    "optimize_html",
    "optimize_markdown",
    "optimize_payload",
    "write_optimize_report",
]


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return _json_safe(value.item())
    return value


def _trial_json(t: TrialRecord) -> dict[str, Any]:
    return {
        "number": t.number,
        "state": t.state,
        "value": _json_safe(t.value),
        "params": {k: _json_safe(v) for k, v in t.params.items()},
        "metrics": {k: _json_safe(t.metrics.get(k)) for k in SUMMARY_METRICS},
        "error": t.error,
    }


def optimize_payload(
    result: OptimizeResult, *, extra: Mapping[str, Any] | None = None, top: int = 5
) -> dict[str, Any]:
    """The ``optimize.json`` document: stable keys ``strategy``, ``study``, ``storage``,
    ``sampler``, ``seed``, ``objective{}``, ``space[]``, ``plan{}``, ``data_fingerprint``,
    ``trials{total, complete, pruned, fail}``, ``best{}`` (number, value, params, overrides,
    metrics: every out-of-sample metric), ``top[]`` and ``extra{}``."""
    counts = {s: sum(t.state == s for t in result.trials) for s in ("complete", "pruned", "fail")}
    best = result.best
    best_doc = None
    if best is not None:
        best_doc = {
            "number": best.number, "value": _json_safe(best.value),
            "params": {k: _json_safe(v) for k, v in best.params.items()},
            "overrides": result.best_overrides(),
            "metrics": {k: _json_safe(v) for k, v in best.metrics.items()},
        }  # fmt: skip
    return {
        "strategy": result.strategy,
        "study": result.study_name,
        "storage": result.storage,
        "sampler": result.sampler,
        "seed": result.seed,
        "objective": result.objective.describe(),
        "space": [p.describe() for p in result.space],
        "plan": {k: _json_safe(v) for k, v in result.plan.items()},
        "data_fingerprint": result.data_fingerprint,
        "trials": {"total": len(result.trials), **counts},
        "best": best_doc,
        "top": [_trial_json(t) for t in result.top(top)],
        "extra": dict(extra or {}),
    }


def optimize_markdown(payload: Mapping[str, Any]) -> str:
    """``optimize.md``: the study, the best parameters and metrics, the top-N table."""
    objective = payload["objective"]
    lines = [
        f"# Optimisation of {payload['strategy']}: {objective['name']} "
        f"({objective['direction']}), out of sample",
        "",
        f"- study `{payload['study']}` on `{payload['storage']}`, sampler {payload['sampler']} "
        f"(seed {payload['seed']})",
        f"- trials: {payload['trials']['total']} ({payload['trials']['complete']} complete, "
        f"{payload['trials']['pruned']} pruned, {payload['trials']['fail']} failed)",
        f"- space: {'; '.join(f'`{s}`' for s in payload['space'])}",
        "",
    ]
    best = payload["best"]
    if best is None:
        return "\n".join([*lines, "No trial completed.", ""])
    lines += [f"## Best trial: #{best['number']}, value {markdown_cell(best['value'])}", ""]
    lines += ["| parameter | value |", "| --- | --- |"]
    lines += [f"| {k} | {markdown_cell(v)} |" for k, v in best["params"].items()]
    lines += ["", "| out-of-sample metric | value |", "| --- | --- |"]
    lines += [f"| {k} | {markdown_cell(v)} |" for k, v in best["metrics"].items()]
    name, header, rows = _top_table(payload)
    lines += ["", f"## {name}", "", markdown_table(header, rows)]
    return "\n".join(lines) + "\n"


def history_figure(result: OptimizeResult) -> str:
    done = [t for t in result.completed if t.value is not None]
    numbers = [t.number for t in done]
    values = [float(t.value or 0.0) for t in done]
    running: list[float] = []
    for value in values:
        better = not running or result.objective.better(value, running[-1])
        running.append(value if better else running[-1])

    def draw(axes: Any) -> None:
        axes.scatter(numbers, values, s=10, alpha=0.6, label="trial")
        axes.step(numbers, running, where="post", color="black", label="running best")
        axes.set_xlabel("trial")
        axes.set_ylabel(result.objective.name)
        axes.legend()

    return png_figure(draw, title=f"Optimisation history ({result.objective.name}, out of sample)")


def _best_equity(result: OptimizeResult) -> pd.Series | None:
    best = result.best
    column = None if best is None else str(best.number)
    if column is None or column not in result.trial_returns.columns:
        return None
    returns = result.trial_returns[column].fillna(0.0)
    equity: pd.Series = (1.0 + returns).cumprod()
    return equity


def _top_table(payload: Mapping[str, Any]) -> ReportTable:
    params = [s.partition("=")[0] for s in payload["space"]]
    header = ["trial", "value", *params, *SUMMARY_METRICS]
    rows = [
        [str(t["number"]), markdown_cell(t["value"]),
         *(markdown_cell(t["params"].get(p)) for p in params),
         *(markdown_cell(t["metrics"].get(k)) for k in SUMMARY_METRICS)]
        for t in payload["top"]
    ]  # fmt: skip
    return ("Top trials", header, rows)


def optimize_html(payload: Mapping[str, Any], result: OptimizeResult) -> str:
    """``optimize.html``: the history plot, the best trial's out-of-sample equity (growth
    of 1), its parameters and metrics, and the top-N table."""
    objective = payload["objective"]
    trials = payload["trials"]
    notes = [
        f"study {payload['study']} on {payload['storage']}, sampler {payload['sampler']} "
        f"(seed {payload['seed']})",
        f"trials: {trials['total']} ({trials['complete']} complete, {trials['pruned']} pruned, "
        f"{trials['fail']} failed)",
    ]
    figures = [("Optimisation history", history_figure(result))] if result.completed else []
    equity = _best_equity(result)
    tables: list[ReportTable] = []
    best = payload["best"]
    if equity is not None and best is not None:
        title = f"Out-of-sample equity of the best trial (#{best['number']}, growth of 1)"
        figures.append((title, equity_figure({"best trial": equity}, title=title)))
    if best is not None:
        tables.append(("Best trial parameters", ["parameter", "value"],
                       [[k, markdown_cell(v)] for k, v in best["params"].items()]))  # fmt: skip
        tables.append(("Best trial out-of-sample metrics", ["metric", "value"],
                       [[k, markdown_cell(v)] for k, v in best["metrics"].items()]))  # fmt: skip
    tables.append(_top_table(payload))
    title = f"Optimisation of {payload['strategy']}: {objective['name']} ({objective['direction']})"
    return html_page(title, notes=notes, figures=figures, tables=tables)


def write_optimize_report(
    result: OptimizeResult, out_dir: Path, *, extra: Mapping[str, Any] | None = None
) -> list[Path]:
    """Write the six optimisation files to ``out_dir`` (module docstring); return them."""
    payload = optimize_payload(result, extra=extra)
    written = [
        write_text(
            out_dir / "best_config.json", json.dumps(result.best_overrides(), indent=2) + "\n"
        ),
        write_text(out_dir / "trials.csv", result.trials_table().to_csv(index=False)),
    ]
    target = out_dir / "trial_returns.parquet"
    with atomic_path(target) as tmp:
        result.trial_returns.to_parquet(tmp)
    written.append(target)
    html_text = lambda: optimize_html(payload, result)  # noqa: E731
    return written + report_files(
        out_dir, "optimize", payload, optimize_markdown(payload), html_text
    )
