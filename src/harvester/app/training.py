"""Training use cases: Composer's Level-2 weights per asset class, and the Rally sweep.

Both load the data once, plan the folds with the same :class:`WalkForwardPlan` (and
:func:`~harvester.app.research.plan_folds_for`) as ``walk-forward`` and ``optimize``, name
and store their studies like ``optimize`` (:func:`~harvester.app.research.study_target`),
and write their report files (JSON, Markdown and HTML with plots) to ``out_dir`` (default a
time-stamped folder under the home's reports).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harvester.app.context import AppContext
from harvester.app.data import load_data
from harvester.app.research import (
    WalkForwardPlan,
    default_out_dir,
    plan_folds_for,
    study_target,
)
from harvester.research.composer_training import (
    ClassTrialCallback,
    ComposerTraining,
    train_composer,
    write_training_report,
)
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
    url, prefix = study_target(ctx, storage, study_prefix, f"composer-l2-{chosen.name}")
    training = train_composer(
        loaded.panel, ctx.config, objective=chosen, n_trials=n_trials,
        folds=plan_folds_for(loaded.panel.shape[0], plan), classes=classes, sampler=sampler,
        seed=seed, storage=url, study_prefix=prefix, plan=plan.as_dict(), on_trial=on_trial,
    )  # fmt: skip
    out = out_dir or default_out_dir(ctx, "train_composer")
    written = write_training_report(training, out, extra={"data": loaded.source})
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
    best_config.json, sweep.html."""
    variants = sweep_variants(names, grid, rally=strategy == "rally")
    chosen = make_objective(metric)
    loaded = load_data(ctx, spec)
    result = sweep(
        loaded.panel, ctx.config, plan_folds_for(loaded.panel.shape[0], plan), variants=variants,
        metric=chosen, strategy=strategy, plan=plan.as_dict(), on_variant=on_variant,
    )  # fmt: skip
    out = out_dir or default_out_dir(ctx, "sweep")
    written = write_sweep_report(result, out, extra={"data": loaded.source})
    return SweepJob(result, loaded.source, written)
