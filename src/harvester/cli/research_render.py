"""Rendering for the research commands: the progress bar every long run shows on stderr,
and the rich tables of walk-forward, optimize and ab-test."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from harvester.cli.render import make_console

if TYPE_CHECKING:
    from harvester.app.research import OptimizeJob
    from harvester.research.optimize import TrialRecord
    from harvester.research.walk_forward import WalkForwardResult

__all__ = [
    "ProgressUpdate",
    "ab_table",
    "best_params_table",
    "cell",
    "fold_params_table",
    "fold_table",
    "progress_bar",
    "top_table",
    "trial_progress",
]

ProgressUpdate = Callable[..., None]
"""``update(done, total=None, note="")``: move the bar to ``done`` of ``total``."""


@contextmanager
def progress_bar(label: str, total: int | None) -> Iterator[ProgressUpdate]:
    """A rich progress bar on stderr (so ``--format json`` stdout stays clean); yields
    ``update(done, total=None, note="")``."""
    with Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"), console=make_console(stderr=True),
    ) as progress:  # fmt: skip
        task = progress.add_task(label, total=total, note="")

        def update(done: int, total: int | None = None, note: str = "") -> None:
            progress.update(task, completed=done, total=total, note=note)

        yield update


def trial_progress(update: ProgressUpdate, objective: str) -> Callable[[TrialRecord], None]:
    """An ``on_trial`` callback moving ``update``'s bar one trial on, noting the best value."""
    from harvester.research.objective import MINIMIZED

    values: list[float] = []
    finished = [0]
    pick = min if objective in MINIMIZED else max

    def advance(record: TrialRecord) -> None:
        finished[0] += 1
        if record.value is not None:
            values.append(record.value)
        update(finished[0], note=f"best {pick(values):.4g}" if values else "")

    return advance


def _pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{value * 100:+.2f}%"


def fold_table(result: WalkForwardResult, *, title: str) -> Table:
    """The walk-forward's fold table."""
    table = Table(title=title)
    columns = ("fold", "train", "test", "trades", "total return", "sharpe", "max drawdown")
    for name in columns:
        table.add_column(name, justify="left" if name in ("train", "test") else "right")
    for row in result.fold_table().to_dict("records"):
        sharpe = float(row["sharpe"])
        table.add_row(
            str(row["fold"]),
            f"{row['train_start']:%Y-%m-%d} .. {row['train_end']:%Y-%m-%d}",
            f"{row['test_start']:%Y-%m-%d} .. {row['test_end']:%Y-%m-%d}",
            str(row["trades"]), _pct(float(row["total_return"])),
            "-" if math.isnan(sharpe) else f"{sharpe:.2f}", _pct(float(row["max_drawdown"])),
        )  # fmt: skip
    return table


def fold_params_table(fold_params: Sequence[Mapping[str, object]]) -> Table:
    """Each fold's parameters chosen on its training bars (per-fold optimisation)."""

    names = list(dict.fromkeys(k for params in fold_params for k in params))
    table = Table(title="per-fold parameters (chosen on each fold's training bars)")
    table.add_column("fold", justify="right")
    for name in names:
        table.add_column(name.rsplit(".", 1)[-1], justify="right")
    for index, params in enumerate(fold_params):
        table.add_row(str(index), *(cell(params.get(n)) for n in names))
    return table


def top_table(job: OptimizeJob, *, n: int = 5) -> Table:
    """The ``n`` best trials of an optimisation."""

    result = job.result
    table = Table(title=f"top {n} trials ({result.objective.name}, out of sample)")
    params = [p.path for p in result.space]
    shown = ("sharpe", "cagr", "max_drawdown", "number_of_trades")
    for name in ("trial", "value", *(p.rsplit(".", 1)[-1] for p in params), *shown):
        table.add_column(name, justify="right")
    for t in result.top(n):
        cells = [str(t.number), cell(t.value)]
        cells += [cell(t.params.get(p)) for p in params]
        cells += [cell(t.metrics.get(k)) for k in shown]
        table.add_row(*cells)
    return table


def best_params_table(job: OptimizeJob) -> Table:
    """The best trial's parameters."""

    best = job.result.best
    assert best is not None
    table = Table(title=f"best trial #{best.number}: {job.result.objective.name} {best.value:.4g}")
    table.add_column("parameter")
    table.add_column("value", justify="right")
    for key, value in best.params.items():
        table.add_row(key, cell(value))
    return table


def ab_table(payload: Mapping[str, object], keys: Sequence[str], *, title: str) -> Table:
    """Each side's metrics and B − A."""

    metrics = payload["metrics"]
    assert isinstance(metrics, dict)
    table = Table(title=title)
    for name in ("metric", "A", "B", "B - A"):
        table.add_column(name, justify="left" if name == "metric" else "right")
    for key in keys:
        if key in metrics["a"]:
            cells = (metrics["a"][key], metrics["b"][key], metrics["difference"].get(key))
            table.add_row(key, *(cell(c) for c in cells))
    return table


def cell(value: object) -> str:
    """One table cell, as the research report writes it (imported on first use: pandas)."""
    from harvester.research.report import markdown_cell

    return markdown_cell(value)
