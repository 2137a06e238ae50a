"""Training use cases: Composer's Level-2 weights per asset class, and the Rally sweep.

Both load the data once, plan the folds with the same :class:`WalkForwardPlan` as
``walk-forward`` and ``optimize``, and write their report files to ``out_dir`` (default a
time-stamped folder under the home's reports).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harvester.app.context import AppContext
from harvester.app.data import load_data
from harvester.app.research import WalkForwardPlan, default_study_storage
from harvester.research.composer_training import (
    ClassTrialCallback,
    ComposerTraining,
    train_composer,
    write_training_report,
)
from harvester.research.folds import Fold, plan_folds
from harvester.research.objective import make_objective
from harvester.research.optimize import SamplerName
from harvester.research.sweep import (
    SweepResult,
    VariantCallback,
    sweep,
    sweep_variants,
    write_sweep_report,
)

__all__ = [
    "SweepJob",
    "TrainComposerJob",
    "run_sweep",
    "run_train_composer",
]


def _default_out(ctx: AppContext, name: str) -> Path:
    return ctx.home.reports / f"{name}_{ctx.now():%Y%m%dT%H%M%SZ}"


def _folds(bars: int, plan: WalkForwardPlan) -> tuple[Fold, ...]:
    return plan_folds(
        bars, train_len=plan.train_len, test_len=plan.test_len, stride=plan.stride,
        anchored=plan.anchored, purge=plan.purge, embargo=plan.embargo,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class TrainComposerJob:
    """A finished Level-2 training, the data it ran on and the files it wrote."""

    training: ComposerTraining
    source: str
    written: list[Path]


def run_train_composer(
    ctx: AppContext,
    spec: str,
    *,
    plan: WalkForwardPlan,
    objective: str = "composite",
    n_trials: int = 50,
    classes: Sequence[str] | None = None,
    sampler: SamplerName = "tpe",
    seed: int | None = 0,
    storage: str | None = None,
    study_prefix: str | None = None,
    out_dir: Path | None = None,
    on_trial: ClassTrialCallback | None = None,
) -> TrainComposerJob:
    """Tune Composer's regime weights per asset class on ``spec`` (one study per class in
    ``storage``, default the home's ``studies.db``) and write the per-class config files and
    the report to ``out_dir``."""
    chosen = make_objective(objective)
    loaded = load_data(ctx, spec)
    training = train_composer(
        loaded.panel, ctx.config, objective=chosen, n_trials=n_trials,
        folds=_folds(loaded.panel.shape[0], plan), classes=classes, sampler=sampler,
        seed=seed, storage=storage or default_study_storage(ctx),
        study_prefix=study_prefix or f"composer-l2-{chosen.name}-{ctx.now():%Y%m%dT%H%M%SZ}",
        plan=plan.as_dict(), on_trial=on_trial,
    )  # fmt: skip
    written = write_training_report(
        training, out_dir or _default_out(ctx, "train_composer"), extra={"data": loaded.source}
    )
    return TrainComposerJob(training, loaded.source, written)


@dataclass(frozen=True, slots=True)
class SweepJob:
    """A finished sweep, the data it ran on and the files it wrote."""

    result: SweepResult
    source: str
    written: list[Path]


def run_sweep(
    ctx: AppContext,
    spec: str,
    *,
    plan: WalkForwardPlan,
    strategy: str = "rally",
    names: Sequence[str] | None = None,
    grid: Sequence[str] = (),
    metric: str = "sharpe",
    out_dir: Path | None = None,
    on_variant: VariantCallback | None = None,
) -> SweepJob:
    """Walk ``strategy`` forward for each named config (Rally; default all) crossed with the
    ``grid`` specs, on the same data and folds; write sweep.json/.md/.csv and
    best_config.json."""
    variants = sweep_variants(names, grid, rally=strategy == "rally")
    chosen = make_objective(metric)
    loaded = load_data(ctx, spec)
    result = sweep(
        loaded.panel, ctx.config, _folds(loaded.panel.shape[0], plan), variants=variants,
        metric=chosen, strategy=strategy, plan=plan.as_dict(), on_variant=on_variant,
    )  # fmt: skip
    written = write_sweep_report(
        result, out_dir or _default_out(ctx, "sweep"), extra={"data": loaded.source}
    )
    return SweepJob(result, loaded.source, written)
