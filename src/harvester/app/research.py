"""Research use cases: walk-forward (optionally with per-fold optimisation), the CI smoke
run, optimize, ab-test and bias-check; each writes its JSON, Markdown and HTML report.

Long runs take an ``on_progress(done, total)`` callback (the CLI's progress bar).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from harvester.app.context import AppContext
from harvester.app.data import load_data
from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError, DataError
from harvester.research.ab_test import (
    ABResult,
    ab_test,
    layer_config,
    toggle_config,
    write_ab_report,
)
from harvester.research.bias import BiasReport, bias_check, write_bias_report
from harvester.research.executors import Executor, open_executor
from harvester.research.folds import Fold, plan_folds
from harvester.research.objective import make_objective
from harvester.research.optimize import (
    OptimizeResult,
    SamplerName,
    TrialCallback,
    optimize,
)
from harvester.research.optimize_report import write_optimize_report
from harvester.research.per_fold import (
    PerFoldOptimizer,
    ProgressCallback,
    counting,
    per_fold_optimizer,
)
from harvester.research.report import (
    html_page,
    report_files,
    report_payload,
    to_html,
    to_markdown,
    write_report,
)
from harvester.research.spaces import SearchSpace, default_space, parse_space
from harvester.research.walk_forward import WalkForwardResult, walk_forward

__all__ = [
    "SMOKE_LIMIT_SECONDS",
    "ABTestJob",
    "BiasCheckJob",
    "OptimizeJob",
    "PerFoldSearch",
    "SmokeRun",
    "WalkForwardJob",
    "WalkForwardPlan",
    "ab_variants",
    "check_smoke",
    "default_out_dir",
    "default_study_storage",
    "plan_folds_for",
    "run_ab_test",
    "run_bias_check",
    "run_optimize",
    "run_smoke",
    "run_walk_forward",
    "study_target",
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
class PerFoldSearch:
    """Per-fold optimisation settings: ``trials`` inner trials per fold over ``params``
    (``--param`` texts; default the strategy's space), scored by ``objective``."""

    trials: int
    params: Sequence[str] = ()
    objective: str = "sharpe"
    sampler: SamplerName = "tpe"
    seed: int | None = 0


@dataclass(frozen=True, slots=True)
class WalkForwardJob:
    """A finished walk-forward, the data it ran on, the report files it wrote and, with
    per-fold optimisation, each fold's chosen parameters."""

    result: WalkForwardResult
    source: str
    written: list[Path]
    fold_params: list[dict[str, object]] = field(default_factory=list)


def default_out_dir(ctx: AppContext, name: str) -> Path:
    """A research run's default report folder: ``<home>/reports/<name>_<UTC time stamp>``."""
    return ctx.home.reports / f"{name}_{ctx.now():%Y%m%dT%H%M%SZ}"


def _space(strategy: str, params: Sequence[str]) -> SearchSpace:
    return parse_space(params) if params else default_space(strategy)


def _walk_forward(
    ctx: AppContext,
    spec: str,
    *,
    strategy: str,
    plan: WalkForwardPlan,
    search: PerFoldSearch | None = None,
    on_progress: ProgressCallback | None = None,
    executor: Executor | None = None,
) -> tuple[WalkForwardResult, str, PerFoldOptimizer | None]:
    loaded = load_data(ctx, spec)
    folds = plan_folds_for(loaded.panel.shape[0], plan)
    chooser = None
    if search is not None:
        chooser = per_fold_optimizer(
            strategy, space=_space(strategy, search.params),
            objective=make_objective(search.objective), n_trials=search.trials,
            purge=plan.purge, embargo=plan.embargo, sampler=search.sampler, seed=search.seed,
            executor=executor,
        )  # fmt: skip
    choose = counting(len(folds), on_progress or _ignore, *(() if chooser is None else (chooser,)))
    result = walk_forward(
        loaded.panel, strategy, ctx.config, folds, plan=plan.as_dict(), choose_config=choose,
        executor=executor,
    )  # fmt: skip
    if on_progress is not None:
        on_progress(len(folds), len(folds))
    return result, loaded.source, chooser


def _ignore(done: int, total: int) -> None:
    del done, total


def run_walk_forward(
    ctx: AppContext,
    spec: str,
    *,
    strategy: str,
    plan: WalkForwardPlan,
    out_dir: Path | None = None,
    search: PerFoldSearch | None = None,
    on_progress: ProgressCallback | None = None,
    executor: str = "serial",
    workers: int | None = None,
) -> WalkForwardJob:
    """Walk ``strategy`` forward over the data ``spec`` and write the JSON/MD/HTML report;
    with ``search``, every fold's parameters are optimised on its training bars first.
    ``executor`` (``--executor`` spec) runs the folds' simulations and inner trials."""
    with open_executor(executor, workers=workers) as runner:
        result, source, chooser = _walk_forward(
            ctx, spec, strategy=strategy, plan=plan, search=search, on_progress=on_progress,
            executor=runner,
        )  # fmt: skip
    chosen: list[dict[str, object]] = [] if chooser is None else chooser.fold_params()
    written = write_report(
        result, out_dir or default_out_dir(ctx, "walk_forward"), extra={"data": source},
        fold_params=chosen,
    )  # fmt: skip
    return WalkForwardJob(result, source, written, chosen)


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
    title = f"Smoke run: {verdict} in {run.wall_seconds:.1f} s (limit {SMOKE_LIMIT_SECONDS:.0f} s)"
    lines = [f"# {title}"] + [f"- {failure}" for failure in run.failures]
    markdown = "\n\n".join(["\n".join(lines), to_markdown(walk) if walk else ""]).rstrip() + "\n"

    def html_text() -> str:
        if run.result is None or walk is None:
            return html_page(title, notes=run.failures)
        return to_html(walk, run.result.equity, title=title, notes=run.failures)

    return report_files(out_dir, "smoke", payload, markdown, html_text)


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
        result, source, _ = _walk_forward(enforced, spec, strategy=strategy, plan=SMOKE_PLAN)
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
    written = _smoke_files(out_dir or default_out_dir(ctx, "smoke"), run, source=source)
    return SmokeRun(run.failures, run.wall_seconds, result, written)


# --- optimisation (``harvester optimize``) -------------------------------------------------


@dataclass(frozen=True, slots=True)
class OptimizeJob:
    """A finished optimisation, the data it ran on and the files it wrote."""

    result: OptimizeResult
    source: str
    written: list[Path]


def default_study_storage(ctx: AppContext) -> str:
    """The study database in the harvester home: ``sqlite:///<home>/studies.db``."""
    path = ctx.home.root / "studies.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def study_target(
    ctx: AppContext, storage: str | None, name: str | None, prefix: str
) -> tuple[str, str]:
    """A study's storage (default the home's ``studies.db``) and name (default
    ``<prefix>-<UTC time stamp>``)."""
    return storage or default_study_storage(ctx), name or f"{prefix}-{ctx.now():%Y%m%dT%H%M%SZ}"


def run_optimize(
    ctx: AppContext,
    spec: str,
    *,
    strategy: str,
    plan: WalkForwardPlan,
    objective: str = "sharpe",
    params: Sequence[str] = (),
    n_trials: int = 50,
    sampler: SamplerName = "tpe",
    seed: int | None = 0,
    storage: str | None = None,
    study_name: str | None = None,
    out_dir: Path | None = None,
    on_trial: TrialCallback | None = None,
    executor: str = "serial",
    workers: int | None = None,
) -> OptimizeJob:
    """Optimise ``strategy`` on the data ``spec``: every trial judged on the walk-forward's
    stitched out-of-sample result; the study lives in ``storage`` (default the home's
    ``studies.db``); the report files go to ``out_dir``. ``params`` are ``--param`` texts
    (default: the strategy's default space)."""
    space = _space(strategy, params)
    chosen = make_objective(objective)
    loaded = load_data(ctx, spec)
    folds = plan_folds_for(loaded.panel.shape[0], plan)
    url, name = study_target(ctx, storage, study_name, f"{strategy}-{chosen.name}")
    with open_executor(executor, workers=workers) as runner:
        result = optimize(
            loaded.panel, strategy, ctx.config, space=space, objective=chosen,
            n_trials=n_trials, folds=folds, sampler=sampler, seed=seed, storage=url,
            study_name=name, plan=plan.as_dict(), on_trial=on_trial, executor=runner,
        )  # fmt: skip
    written = write_optimize_report(
        result, out_dir or default_out_dir(ctx, "optimize"), extra={"data": loaded.source}
    )
    return OptimizeJob(result, loaded.source, written)


# --- ``harvester ab-test`` and ``harvester bias-check`` -------------------------------------


@dataclass(frozen=True, slots=True)
class ABTestJob:
    """A finished A/B test, its JSON document and the report files it wrote."""

    result: ABResult
    payload: dict[str, object]
    source: str
    written: list[Path]


def ab_variants(
    config: HarvesterConfig,
    *,
    a_file: Path | None = None,
    b_file: Path | None = None,
    toggle: str | None = None,
) -> tuple[HarvesterConfig, HarvesterConfig, dict[str, str]]:
    """Configs A and B: ``--a``/``--b`` files layered on ``config``, or B = A with the
    boolean ``toggle`` flipped; with their description for the report.
    """
    if toggle is not None:
        if a_file is not None or b_file is not None:
            raise ConfigError("use either --toggle KEY or --a FILE --b FILE, not both")
        a = config if a_file is None else layer_config(config, a_file)
        return a, toggle_config(a, toggle), {"a": "base config", "b": f"{toggle} flipped"}
    if a_file is None or b_file is None:
        raise ConfigError("ab-test needs --a FILE and --b FILE, or --toggle KEY")
    variants = {"a": str(a_file), "b": str(b_file)}
    return layer_config(config, a_file), layer_config(config, b_file), variants


def plan_folds_for(panel_bars: int, plan: WalkForwardPlan) -> tuple[Fold, ...]:
    """The folds of ``plan`` over ``panel_bars`` bars."""
    return plan_folds(
        panel_bars, train_len=plan.train_len, test_len=plan.test_len, stride=plan.stride,
        anchored=plan.anchored, purge=plan.purge, embargo=plan.embargo,
    )  # fmt: skip


def run_ab_test(
    ctx: AppContext,
    spec: str,
    *,
    strategy: str,
    plan: WalkForwardPlan,
    a_file: Path | None = None,
    b_file: Path | None = None,
    toggle: str | None = None,
    out_dir: Path | None = None,
    on_progress: ProgressCallback | None = None,
) -> ABTestJob:
    """A/B test two configs of ``strategy`` on ``spec``; write ab_test.json, .md and .html."""
    config_a, config_b, variants = ab_variants(
        ctx.config, a_file=a_file, b_file=b_file, toggle=toggle
    )
    loaded = load_data(ctx, spec)
    folds = plan_folds_for(loaded.panel.shape[0], plan)
    result = ab_test(
        loaded.panel, strategy, config_a, config_b, folds, plan=plan.as_dict(),
        on_progress=on_progress,
    )  # fmt: skip
    payload, written = write_ab_report(
        result,
        out_dir or default_out_dir(ctx, "ab_test"),
        extra={"data": loaded.source, **variants},
    )
    return ABTestJob(result, payload, loaded.source, written)


@dataclass(frozen=True, slots=True)
class BiasCheckJob:
    """A finished bias check, its JSON document and the report files it wrote."""

    report: BiasReport
    payload: dict[str, object]
    source: str
    written: list[Path]


def run_bias_check(
    ctx: AppContext,
    spec: str,
    *,
    strategy: str,
    plan: WalkForwardPlan,
    cuts: int = 3,
    study: Path | None = None,
    membership: Path | None = None,
    out_dir: Path | None = None,
    on_progress: ProgressCallback | None = None,
) -> BiasCheckJob:
    """Bias-check ``strategy`` on ``spec``; write bias_check.json, .md and .html.

    ``membership`` is a CSV of ``symbol, start_date, end_date`` intervals (end exclusive).
    """
    loaded = load_data(ctx, spec)
    folds = plan_folds_for(loaded.panel.shape[0], plan)
    intervals = None
    if membership is not None:
        if not membership.exists():
            raise ConfigError(f"--membership {membership}: no such file")
        intervals = pd.read_csv(membership, parse_dates=["start_date", "end_date"])
    report = bias_check(
        loaded.panel, strategy, ctx.config, cuts=cuts, folds=folds, study_dir=study,
        membership=intervals, on_progress=on_progress,
    )  # fmt: skip
    payload, written = write_bias_report(
        report, out_dir or default_out_dir(ctx, "bias_check"),
        extra={"data": loaded.source, "plan": plan.as_dict()},
    )  # fmt: skip
    return BiasCheckJob(report, payload, loaded.source, written)
