"""The Rally spec's named-config sweep: every variant walked forward on the same folds.

A sweep runs one walk-forward (:func:`~harvester.research.walk_forward.walk_forward`) per
:class:`Variant` — a set of dotted config values written into the base config with
:func:`~harvester.research.spaces.apply_params` — on the same panel and the same folds, and
ranks the variants by one out-of-sample metric (or the composite score; see
:mod:`harvester.research.objective`).

:func:`sweep_variants` builds the variants: one per Rally named config (``baseline``,
``conservative``, ``aggressive``, ``concentrated`` by default), crossed with an optional grid
of ``PATH=A,B,C`` / ``PATH=LOW:HIGH:STEP`` values (the ``--param`` syntax of
:mod:`harvester.research.spaces`; a range is expanded to its grid points). A variant's name
is its named config followed by its grid values: ``aggressive p_threshold=0.5``.

:func:`write_sweep_report` writes ``sweep.json`` (stable keys :data:`PAYLOAD_KEYS`:
``strategy``, ``metric{}``, ``plan{}``, ``data_fingerprint``, ``rows[]`` with ``variant``,
the table metrics, ``score``, ``values{}`` and ``folds``, ``best{}``, ``extra{}``),
``sweep.md``, ``sweep.html`` (a bar chart of the score per variant and every variant's
stitched out-of-sample equity on one chart, then the tables), ``sweep.csv`` (the comparison
table) and ``best_config.json`` (the best variant's keys, usable with ``--config``).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError
from harvester.data.panel import Panel
from harvester.research.folds import Fold
from harvester.research.objective import Objective
from harvester.research.report import (
    ReportTable,
    equity_figure,
    html_page,
    json_value,
    markdown_cell,
    markdown_table,
    png_figure,
    report_files,
    write_text,
)
from harvester.research.spaces import apply_params, overrides, parse_space
from harvester.research.walk_forward import WalkForwardResult, walk_forward
from harvester.strategies.rally import NAMED_CONFIGS, named_config

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "NAMED_CONFIG_KEY",
    "PAYLOAD_KEYS",
    "TABLE_METRICS",
    "SweepResult",
    "SweepRow",
    "Variant",
    "VariantCallback",
    "sweep",
    "sweep_html",
    "sweep_markdown",
    "sweep_payload",
    "sweep_variants",
    "write_sweep_report",
]

NAMED_CONFIG_KEY = "strategies.rally.named_config"

PAYLOAD_KEYS: tuple[str, ...] = (
    "strategy", "metric", "plan", "data_fingerprint", "rows", "best", "extra",
)  # fmt: skip
"""The top-level keys of ``sweep.json``, in order (stable)."""

TABLE_METRICS: tuple[str, ...] = (
    "number_of_trades", "win_rate", "sharpe", "total_return", "max_drawdown",
    "average_trade_return", "cagr",
)  # fmt: skip
"""The comparison table's metrics: trades, win rate, Sharpe, total return, max drawdown,
average return per trade (fractions) and CAGR, all of the stitched out-of-sample run."""


@dataclass(frozen=True, slots=True)
class Variant:
    """One configuration of a sweep: its name and the dotted config values it sets."""

    name: str
    values: Mapping[str, Any]


VariantCallback = Callable[[Variant, WalkForwardResult], None]
"""Called after each variant's walk-forward (e.g. to advance a progress bar)."""


@dataclass(frozen=True, slots=True)
class SweepRow:
    """One variant's walk-forward and its score under the sweep's metric."""

    variant: Variant
    result: WalkForwardResult
    score: float

    def row(self) -> dict[str, Any]:
        cells: dict[str, Any] = {"variant": self.variant.name}
        cells.update({k: self.result.metrics.get(k, math.nan) for k in TABLE_METRICS})
        cells["score"] = self.score
        return cells


@dataclass(frozen=True, slots=True)
class SweepResult:
    """Every variant's out-of-sample result on the same folds, and the best one."""

    strategy: str
    metric: Objective
    rows: tuple[SweepRow, ...]
    data_fingerprint: str
    plan: Mapping[str, object]

    @property
    def best(self) -> SweepRow | None:
        """The row with the best finite score (the first one on a tie)."""
        best: SweepRow | None = None
        for row in self.rows:
            if not math.isfinite(row.score):
                continue
            if best is None or self.metric.better(row.score, best.score):
                best = row
        return best

    def table(self) -> pd.DataFrame:
        """One row per variant, in run order: variant, the table metrics and score."""
        columns = ["variant", *TABLE_METRICS, "score"]
        return pd.DataFrame([r.row() for r in self.rows], columns=columns)


def _short(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def sweep_variants(
    names: Sequence[str] | None = None, grid: Sequence[str] = (), *, rally: bool = True
) -> tuple[Variant, ...]:
    """The variants of a sweep: each Rally named config in ``names`` (default all of
    them; none when ``rally`` is false) crossed with every combination of the ``grid``
    specs (``PATH=A,B,C`` or ``PATH=LOW:HIGH:STEP``).

    Raises
    ------
    ConfigError
        On an unknown named config or key, a bad grid spec, named configs for another
        strategy, or no variant at all.
    """
    if not rally and names:
        raise ConfigError("--named-config applies to the rally strategy only")
    space = parse_space(grid)
    in_grid = any(p.path == NAMED_CONFIG_KEY for p in space)
    if in_grid and names:
        raise ConfigError(f"give the named configs with --named-config or {NAMED_CONFIG_KEY}")
    if in_grid or not rally:
        chosen: tuple[str, ...] = ()
    else:
        chosen = tuple(NAMED_CONFIGS) if names is None else tuple(names)
    for name in chosen:
        named_config(name)
    axes = [[(p.path, v) for v in p.grid()] for p in space]
    named: list[tuple[tuple[str, Any], ...]] = [((NAMED_CONFIG_KEY, n),) for n in chosen] or [()]
    variants = []
    for base in named:
        for combo in itertools.product(*axes):
            values = dict((*base, *combo))
            label = [str(values[NAMED_CONFIG_KEY])] if NAMED_CONFIG_KEY in values else []
            label += [f"{_short(k)}={v}" for k, v in combo if k != NAMED_CONFIG_KEY]
            variants.append(Variant(" ".join(label) or "base", values))
    if not variants or variants == [Variant("base", {})]:
        raise ConfigError("sweep needs named configs or a --grid PATH=A,B,C to compare")
    return tuple(variants)


def sweep(
    panel: Panel,
    config: HarvesterConfig,
    folds: tuple[Fold, ...],
    *,
    variants: Sequence[Variant],
    metric: Objective,
    strategy: str = "rally",
    plan: Mapping[str, object] | None = None,
    on_variant: VariantCallback | None = None,
) -> SweepResult:
    """Walk ``strategy`` forward once per variant on the same ``panel`` and ``folds``.

    Every variant's config is built and validated before the first run, so a bad value
    fails at once.

    Raises
    ------
    ConfigError
        On an invalid variant (one line naming the key) or anything ``walk_forward``
        rejects.
    """
    configs = [(v, apply_params(config, v.values)) for v in variants]
    rows = []
    for variant, variant_config in configs:
        result = walk_forward(panel, strategy, variant_config, folds, plan=plan)
        rows.append(SweepRow(variant, result, float(metric(result.metrics))))
        if on_variant is not None:
            on_variant(variant, result)
    return SweepResult(
        strategy=strategy,
        metric=metric,
        rows=tuple(rows),
        data_fingerprint=panel.fingerprint(),
        plan=dict(plan or {}),
    )


def _document(value: Mapping[str, Any]) -> dict[str, Any]:
    safe: dict[str, Any] = json_value(value)
    return safe


def sweep_payload(result: SweepResult, *, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``sweep.json`` document (module docstring for its keys)."""
    best = result.best
    rows = [
        _document({**r.row(), "values": dict(r.variant.values), "folds": len(r.result.folds)})
        for r in result.rows
    ]
    best_doc = None
    if best is not None:
        best_doc = _document(
            {
                "variant": best.variant.name, "score": best.score,
                "overrides": overrides(best.variant.values), "metrics": dict(best.result.metrics),
            }
        )  # fmt: skip
    return {
        "strategy": result.strategy,
        "metric": result.metric.describe(),
        "plan": json_value(dict(result.plan)),
        "data_fingerprint": result.data_fingerprint,
        "rows": rows,
        "best": best_doc,
        "extra": json_value(dict(extra or {})),
    }


def _comparison_table(payload: Mapping[str, Any]) -> ReportTable:
    best = payload["best"]
    header = ["variant", *TABLE_METRICS, f"score ({payload['metric']['name']})"]
    rows = []
    for row in payload["rows"]:
        mark = " **(best)**" if best is not None and row["variant"] == best["variant"] else ""
        cells = [f"{row['variant']}{mark}", *(markdown_cell(row[k]) for k in TABLE_METRICS)]
        rows.append([*cells, markdown_cell(row["score"])])
    return ("Variants on the same folds (out of sample)", header, rows)


def _plan_note(payload: Mapping[str, Any]) -> str:
    return f"plan: {', '.join(f'{k} {v}' for k, v in payload['plan'].items()) or '-'}"


def sweep_markdown(payload: Mapping[str, Any]) -> str:
    """``sweep.md``: the comparison table, best first marked, and the winner."""
    metric = payload["metric"]
    best = payload["best"]
    _, header, rows = _comparison_table(payload)
    lines = [
        f"# Sweep of {payload['strategy']}: {len(payload['rows'])} variants on the same folds, "
        "out of sample",
        "",
        f"- {_plan_note(payload)}",
        f"- ranked by {metric['name']} ({metric['direction']})",
        "",
        markdown_table(header, rows),
        "",
    ]
    if best is None:
        lines.append("No variant has a finite score (no trades?).")
    else:
        lines.append(
            f"Best: **{best['variant']}** with {metric['name']} {markdown_cell(best['score'])}; "
            "its keys are in `best_config.json` (use with `--config`)."
        )
    return "\n".join(lines) + "\n"


def _score_figure(payload: Mapping[str, Any]) -> str:
    metric = payload["metric"]
    best = payload["best"]
    names = [row["variant"] for row in payload["rows"]]
    scores = [math.nan if row["score"] is None else row["score"] for row in payload["rows"]]
    colours = [
        "tab:green" if best is not None and name == best["variant"] else "tab:blue"
        for name in names
    ]

    def draw(axes: Axes) -> None:
        positions = list(range(len(names)))
        axes.barh(positions, scores, color=colours)
        axes.set_yticks(positions, names)
        for position, score in zip(positions, scores, strict=True):
            if math.isnan(score):
                axes.text(0.0, position, " no score (no trades?)", va="center")
        axes.invert_yaxis()
        axes.axvline(0.0, color="grey", linewidth=0.5)
        axes.set_xlabel(f"{metric['name']} ({metric['direction']})")

    title = f"{metric['name']} per variant, out of sample (green: best)"
    return png_figure(draw, title=title)


def sweep_html(payload: Mapping[str, Any], result: SweepResult) -> str:
    """``sweep.html``: the score of every variant as a bar chart, every variant's stitched
    out-of-sample equity on one chart, then the comparison table and the best variant's
    keys."""
    metric = payload["metric"]
    best = payload["best"]
    notes = [_plan_note(payload), f"ranked by {metric['name']} ({metric['direction']})"]
    curves = {row.variant.name: row.result.equity for row in result.rows}
    title = "Stitched out-of-sample equity of every variant"
    figures = [
        (f"{metric['name']} per variant", _score_figure(payload)),
        (title, equity_figure(curves, title=title)),
    ]
    tables = [_comparison_table(payload)]
    if best is not None:
        values = next(r["values"] for r in payload["rows"] if r["variant"] == best["variant"])
        keys = [[k, markdown_cell(v)] for k, v in values.items()]
        tables.append((f"Best variant: {best['variant']} (best_config.json)", ["key", "value"],
                       keys))  # fmt: skip
    heading = f"Sweep of {payload['strategy']}: {len(payload['rows'])} variants, out of sample"
    return html_page(heading, notes=notes, figures=figures, tables=tables)


def write_sweep_report(
    result: SweepResult, out_dir: Path, *, extra: Mapping[str, Any] | None = None
) -> list[Path]:
    """Write ``sweep.json``, ``sweep.md``, ``sweep.html``, ``sweep.csv`` and (when a variant
    scored, last) ``best_config.json`` to ``out_dir``; return their paths."""
    payload = sweep_payload(result, extra=extra)
    html_text = lambda: sweep_html(payload, result)  # noqa: E731
    written = report_files(out_dir, "sweep", payload, sweep_markdown(payload), html_text)
    written.append(write_text(out_dir / "sweep.csv", result.table().to_csv(index=False)))
    if payload["best"] is not None:
        document = json.dumps(payload["best"]["overrides"], indent=2) + "\n"
        written.append(write_text(out_dir / "best_config.json", document))
    return written
