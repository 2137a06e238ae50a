"""Per-fold parameter optimisation and progress hooks for walk-forward's ``choose_config``.

:func:`per_fold_optimizer` builds a ``choose_config`` for
:func:`~harvester.research.walk_forward.walk_forward` that, for every outer fold, runs an
inner Optuna study (:func:`~harvester.research.optimize.optimize`, in memory) on the fold's
**training bars only** and returns the config with the best trial's parameters; the outer
fold's test window is then simulated with them, so every test window is judged with
parameters chosen without it.

The inner study walks forward over inner folds planned inside the training panel (from the
fold's first to its last training bar; the outer purge already ends it ``purge`` bars before
the test window) with the outer plan's ``purge`` and ``embargo``: ``inner_folds``
consecutive test windows of ``n // (inner_folds + 2)`` bars each at the end, after a rolling
training window of the rest (``n`` = training bars). A fold whose inner study completes no
trial keeps the config it was given (its chosen parameters are then empty).

:func:`counting` wraps a ``choose_config`` so a progress callback hears of every fold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError
from harvester.data.panel import Panel
from harvester.research.executors import Executor
from harvester.research.folds import Fold, plan_folds
from harvester.research.objective import Objective
from harvester.research.optimize import SamplerName, optimize
from harvester.research.spaces import SearchSpace, apply_params
from harvester.research.walk_forward import ChooseConfig, keep_config
from harvester.strategies.base import Strategy

__all__ = [
    "FoldChoice",
    "PerFoldOptimizer",
    "ProgressCallback",
    "counting",
    "inner_folds_of",
    "per_fold_optimizer",
]

ProgressCallback = Callable[[int, int], None]
"""``(done, total)``: called as a long research run advances (e.g. a progress bar)."""


def counting(
    total: int, on_progress: ProgressCallback, choose: ChooseConfig = keep_config
) -> ChooseConfig:
    """``choose`` that first reports ``(folds started before this one, total)``."""
    started = [0]

    def choose_counting(fold: Fold, train_panel: Panel, config: HarvesterConfig) -> HarvesterConfig:
        on_progress(started[0], total)
        started[0] += 1
        return choose(fold, train_panel, config)

    return choose_counting


def inner_folds_of(
    n_bars: int, *, inner_folds: int = 3, purge: int = 0, embargo: int = 0
) -> tuple[Fold, ...]:
    """The inner folds of a training window of ``n_bars`` (see the module docstring).

    Raises
    ------
    ConfigError
        When the window is too short for ``inner_folds`` folds with this purge.
    """
    if inner_folds < 1:
        raise ConfigError(f"per-fold optimisation needs at least 1 inner fold, got {inner_folds}")
    test_len = n_bars // (inner_folds + 2)
    train_len = n_bars - inner_folds * test_len
    if test_len < 2 or purge >= train_len:
        raise ConfigError(
            f"per-fold optimisation: a training window of {n_bars} bars is too short for "
            f"{inner_folds} inner folds with purge {purge}; use a longer --train-len"
        )
    return plan_folds(n_bars, train_len=train_len, test_len=test_len, purge=purge, embargo=embargo)


@dataclass(frozen=True, slots=True)
class FoldChoice:
    """What one fold's inner study chose: the parameters, its best value and trial count."""

    fold: int
    params: Mapping[str, Any]
    value: float | None
    trials: int


@dataclass(slots=True)
class PerFoldOptimizer:
    """A ``choose_config`` running an inner Optuna study per fold (module docstring).

    ``choices`` collects each fold's :class:`FoldChoice` in call order.
    """

    strategy: str | Strategy
    space: SearchSpace
    objective: Objective
    n_trials: int
    purge: int = 0
    embargo: int = 0
    inner_folds: int = 3
    sampler: SamplerName = "tpe"
    seed: int | None = 0
    executor: Executor | None = None
    choices: list[FoldChoice] = field(default_factory=list)

    def __call__(self, fold: Fold, train_panel: Panel, config: HarvesterConfig) -> HarvesterConfig:
        inner = inner_folds_of(
            train_panel.shape[0], inner_folds=self.inner_folds, purge=self.purge,
            embargo=self.embargo,
        )  # fmt: skip
        study = optimize(
            train_panel, self.strategy, config, space=self.space, objective=self.objective,
            n_trials=self.n_trials, folds=inner, sampler=self.sampler, seed=self.seed,
            study_name=f"fold-{fold.index}", executor=self.executor,
        )  # fmt: skip
        best = study.best
        params = {} if best is None else dict(best.params)
        value = None if best is None else best.value
        self.choices.append(FoldChoice(fold.index, params, value, len(study.trials)))
        return apply_params(config, params) if params else config

    def fold_params(self) -> list[dict[str, Any]]:
        """Each fold's chosen parameters, in fold order (for the report)."""
        return [dict(c.params) for c in sorted(self.choices, key=lambda c: c.fold)]


def per_fold_optimizer(
    strategy: str | Strategy,
    *,
    space: SearchSpace,
    objective: Objective,
    n_trials: int,
    purge: int = 0,
    embargo: int = 0,
    inner_folds: int = 3,
    sampler: SamplerName = "tpe",
    seed: int | None = 0,
    executor: Executor | None = None,
) -> PerFoldOptimizer:
    """The ``choose_config`` factory of per-fold optimisation (module docstring); the inner
    studies' trials run on ``executor`` (default: inline)."""
    return PerFoldOptimizer(
        strategy,
        space,
        objective,
        n_trials,
        purge,
        embargo,
        inner_folds,
        sampler,
        seed,
        executor,
    )
