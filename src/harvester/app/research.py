"""Research use cases: a walk-forward run with its report, and the CI smoke run."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from harvester.app.context import AppContext
from harvester.app.data import load_data
from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError, DataError
from harvester.research.folds import plan_folds
from harvester.research.report import report_payload, to_markdown, write_report, write_text
from harvester.research.walk_forward import WalkForwardResult, walk_forward

__all__ = [
    "SMOKE_LIMIT_SECONDS",
    "SmokeRun",
    "WalkForwardJob",
    "WalkForwardPlan",
    "check_smoke",
    "run_smoke",
    "run_walk_forward",
]

SMOKE_LIMIT_SECONDS = 60.0
"""The smoke run fails when it takes longer than this (Composer spec)."""


@dataclass(frozen=True, slots=True)
class WalkForwardPlan:
    """The fold settings of a walk-forward, in bars (Composer's ``--train-len`` & co.)."""

    train_len: int = 504
    test_len: int = 126
    stride: int | None = None
    anchored: bool = False
    purge: int = 10
    embargo: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "train_len": self.train_len, "test_len": self.test_len,
            "stride": self.test_len if self.stride is None else self.stride,
            "anchored": self.anchored, "purge": self.purge, "embargo": self.embargo,
        }  # fmt: skip


SMOKE_PLAN = WalkForwardPlan(train_len=252, test_len=126, purge=10)
"""A short walk-forward: seven folds on the bundled sample."""


@dataclass(frozen=True, slots=True)
class WalkForwardJob:
    """A finished walk-forward, the data it ran on and the report files it wrote."""

    result: WalkForwardResult
    source: str
    written: list[Path]


def _default_out(ctx: AppContext, name: str) -> Path:
    return ctx.home.reports / f"{name}_{ctx.now():%Y%m%dT%H%M%SZ}"


def _walk_forward(
    ctx: AppContext, spec: str, *, strategy: str, plan: WalkForwardPlan
) -> tuple[WalkForwardResult, str]:
    loaded = load_data(ctx, spec)
    folds = plan_folds(
        loaded.panel.shape[0], train_len=plan.train_len, test_len=plan.test_len,
        stride=plan.stride, anchored=plan.anchored, purge=plan.purge, embargo=plan.embargo,
    )  # fmt: skip
    result = walk_forward(loaded.panel, strategy, ctx.config, folds, plan=plan.as_dict())
    return result, loaded.source


def run_walk_forward(
    ctx: AppContext,
    spec: str,
    *,
    strategy: str,
    plan: WalkForwardPlan,
    out_dir: Path | None = None,
) -> WalkForwardJob:
    """Walk ``strategy`` forward over the data ``spec`` and write the JSON/MD/HTML report."""
    result, source = _walk_forward(ctx, spec, strategy=strategy, plan=plan)
    written = write_report(
        result, out_dir or _default_out(ctx, "walk_forward"), extra={"data": source}
    )
    return WalkForwardJob(result, source, written)


def check_smoke(
    result: WalkForwardResult, *, wall_seconds: float, limit_seconds: float = SMOKE_LIMIT_SECONDS
) -> list[str]:
    """Every reason the smoke run fails, one line each (empty when it passes)."""
    failures = []
    if not result.folds:
        failures.append("0 folds: the walk-forward produced no fold")
    trades = int(result.metrics.get("number_of_trades", 0.0) or 0)
    if trades == 0:
        failures.append("no trades: the strategy closed no trade in any fold")
    bad = _non_finite(result)
    if bad:
        failures.append(f"NaN/inf metrics: {', '.join(bad)}")
    if wall_seconds > limit_seconds:
        failures.append(f"runtime {wall_seconds:.1f} s is over the {limit_seconds:.0f} s limit")
    return failures


_CHECKED_METRICS = ("total_return", "cagr", "sharpe", "max_drawdown", "annual_volatility")


def _non_finite(result: WalkForwardResult) -> list[str]:
    """Core metrics (overall and per fold) that are NaN or infinite."""
    bad = [f"overall {k}" for k in _CHECKED_METRICS if not math.isfinite(result.metrics[k])]
    for fold in result.folds:
        for key in ("total_return", "max_drawdown"):
            if not math.isfinite(fold.metrics[key]):
                bad.append(f"fold {fold.fold.index} {key}")
    return bad


@dataclass(frozen=True, slots=True)
class SmokeRun:
    """The smoke run's verdict: its failures (none = passed), wall time and files."""

    failures: list[str]
    wall_seconds: float
    result: WalkForwardResult | None = None
    written: list[Path] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def _enforced(config: HarvesterConfig) -> HarvesterConfig:
    sanity = config.data.sanity.model_copy(update={"mode": "enforce"})
    data = config.data.model_copy(update={"sanity": sanity})
    return config.model_copy(update={"data": data})


def _smoke_files(out_dir: Path, run: SmokeRun, *, source: str) -> list[Path]:
    walk = None if run.result is None else report_payload(run.result, extra={"data": source})
    payload = {
        "passed": run.passed, "failures": run.failures,
        "wall_seconds": round(run.wall_seconds, 3), "limit_seconds": SMOKE_LIMIT_SECONDS,
        "data": source, "walk_forward": walk,
    }  # fmt: skip
    verdict = "PASSED" if run.passed else "FAILED"
    lines = [
        f"# Smoke run: {verdict} in {run.wall_seconds:.1f} s (limit {SMOKE_LIMIT_SECONDS:.0f} s)"
    ]
    lines += [f"- {failure}" for failure in run.failures]
    markdown = "\n\n".join(["\n".join(lines), to_markdown(walk) if walk else ""]).rstrip() + "\n"
    return [
        write_text(out_dir / "smoke.json", json.dumps(payload, indent=2) + "\n"),
        write_text(out_dir / "smoke.md", markdown),
    ]


def run_smoke(
    ctx: AppContext,
    spec: str = "sample",
    *,
    strategy: str = "composer",
    out_dir: Path | None = None,
    timer: Callable[[], float] = time.perf_counter,
) -> SmokeRun:
    """A short walk-forward of ``strategy`` on ``spec`` with data sanity enforced; the run
    fails on 0 folds, no trades, NaN/inf metrics, a sanity error or over 60 s.
    """
    started = timer()
    enforced = replace(ctx, resolved=replace(ctx.resolved, config=_enforced(ctx.config)))
    result: WalkForwardResult | None = None
    try:
        result, source = _walk_forward(enforced, spec, strategy=strategy, plan=SMOKE_PLAN)
    except DataError as e:
        failures, source = [f"data sanity (enforce): {e}"], spec
    except ConfigError as e:
        if "0 folds" not in str(e):
            raise
        failures, source = [str(e)], spec
    wall = timer() - started
    if result is not None:
        failures = check_smoke(result, wall_seconds=wall)
    run = SmokeRun(failures, wall, result)
    written = _smoke_files(out_dir or _default_out(ctx, "smoke"), run, source=source)
    return SmokeRun(run.failures, run.wall_seconds, result, written)
