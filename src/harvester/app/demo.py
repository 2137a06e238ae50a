"""The main job's demo: every strategy family backtested on the same data, side by side."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from harvester.app.backtest import backtest_strategy
from harvester.app.context import AppContext
from harvester.data.loader import LoadedData
from harvester.strategies.registry import STRATEGIES

__all__ = ["DemoRow", "run_demo"]


@dataclass(frozen=True, slots=True)
class DemoRow:
    """One strategy's backtest in the comparison."""

    strategy: str
    metrics: Mapping[str, float]
    report: Path


def run_demo(
    ctx: AppContext,
    loaded: LoadedData,
    *,
    out_dir: Path | None = None,
    on_start: Callable[[str], None] | None = None,
) -> list[DemoRow]:
    """Backtest every registered strategy (each with its own shipped defaults) on ``loaded``
    and write each one's files and HTML report under ``out_dir/<strategy>``.
    """
    root = out_dir or ctx.home.reports / f"demo_{ctx.now():%Y%m%dT%H%M%SZ}"
    rows = []
    for name in STRATEGIES:
        if on_start is not None:
            on_start(name)
        config = ctx.for_strategy(name).config
        result = backtest_strategy(loaded.panel, name, config)
        written = result.write(
            root / name, title=f"{name} on {loaded.source}", close=loaded.panel.frame("close")
        )
        report = next(path for path in written if path.suffix == ".html")
        rows.append(DemoRow(name, result.metrics, report))
    return rows
