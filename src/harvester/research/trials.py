"""Running a study's trials: each one evaluated on an executor, asked and told in batches.

:func:`run_trials` asks the sampler for ``size`` trials at a time and keeps two batches in
flight (see its docstring); each trial is :func:`_evaluate`: the metrics-only walk-forward of
the trial's config on the shared :class:`StudyData`, with the features and rule regimes that
earlier trials of the process computed for the same parameter values (one memo per panel,
released by :func:`release_memos` when the study ends). Split from
:mod:`harvester.research.optimize`, which owns the study and its result.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError
from harvester.data.panel import Panel
from harvester.features._memo import Memo, new_memo, sharing
from harvester.research.executors import Executor, Pending, Shared
from harvester.research.folds import Fold
from harvester.research.objective import Objective
from harvester.research.spaces import SearchSpace, apply_params, grid_space
from harvester.research.walk_forward import walk_forward_metrics
from harvester.strategies.base import Strategy

if TYPE_CHECKING:
    import optuna

__all__ = ["StudyData", "release_memos", "run_trials"]


def _plain(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class StudyData:
    """What every trial evaluates on, sent to the workers once (a picklable task context)."""

    panel: Panel
    strategy: Strategy
    folds: tuple[Fold, ...]


@dataclass(frozen=True, slots=True)
class _Outcome:
    """One trial's out-of-sample metrics and per-bar returns with their dates."""

    metrics: dict[str, float | None]
    returns: list[float]
    dates: pd.DatetimeIndex
    value: float
    error: str | None = None  # a ConfigError the trial's config raised on the way: pruned


# Per process: the memo of the panel being optimised, so each trial reuses the features
# (and rule regimes) earlier trials computed for the same parameter values. Keyed by the
# panel object (the memo keys on its arrays' identity) and kept for one panel at a time.
_MEMOS: dict[int, tuple[Panel, Memo]] = {}


_MEMOS_LOCK = threading.Lock()  # tasks may run in threads (a dask:// worker's)


def _memo_for(panel: Panel) -> Memo:
    with _MEMOS_LOCK:
        if id(panel) not in _MEMOS:
            _MEMOS.clear()
            _MEMOS[id(panel)] = (panel, new_memo())
        return _MEMOS[id(panel)][1]


def _evaluate(study: StudyData, job: tuple[HarvesterConfig, Objective]) -> _Outcome:
    config, objective = job
    try:
        with sharing(_memo_for(study.panel)):
            equity, metrics = walk_forward_metrics(study.panel, study.strategy, config, study.folds)
    except ConfigError as e:  # e.g. a combination the engine or a named config refuses
        return _Outcome({}, [], pd.DatetimeIndex([]), math.nan, error=str(e))
    returns = equity.pct_change().iloc[1:]
    return _Outcome(
        metrics={k: _plain(v) for k, v in metrics.items()},
        returns=returns.to_numpy().tolist(),
        dates=pd.DatetimeIndex(returns.index),
        value=float(objective(metrics)),
    )


def _tell(study: optuna.Study, trial: optuna.Trial, **outcome: Any) -> optuna.trial.FrozenTrial:
    """Record ``trial``'s outcome and return it as stored."""
    try:
        return study.tell(trial, **outcome)
    except RuntimeError:
        # GridSampler stops its study when the grid is done, which only an optimize() loop
        # accepts; the trial is stored before it tries.
        if not _grid_done(study):
            raise
    return next(t for t in reversed(study.get_trials(deepcopy=False)) if t.number == trial.number)


def _grid_done(study: optuna.Study) -> bool:
    from optuna.samplers import GridSampler

    return isinstance(study.sampler, GridSampler) and study.sampler.is_exhausted(study)


def _unstarted(study: optuna.Study, space: SearchSpace, wanted: int) -> int:
    """How many of ``wanted`` trials to ask now: a grid asks only points not yet started
    (Optuna's GridSampler re-runs a started point once none is left)."""
    import optuna
    from optuna.samplers import GridSampler

    if not isinstance(study.sampler, GridSampler):
        return wanted
    points = math.prod(len(values) for values in grid_space(space).values())
    started = {
        t.system_attrs["grid_id"]
        for t in study.get_trials(deepcopy=False)
        if "grid_id" in t.system_attrs and t.state != optuna.trial.TrialState.FAIL
    }
    return min(wanted, points - len(started))


def _run_batch(
    study: optuna.Study,
    trials: list[optuna.Trial],
    configs: list[HarvesterConfig | None],
    outcomes: list[_Outcome],
) -> list[optuna.trial.FrozenTrial]:
    """Tell every trial of a batch; prune invalid configs and non-finite objectives."""
    import optuna

    pruned = optuna.trial.TrialState.PRUNED
    done = iter(outcomes)
    told = []
    for trial, config in zip(trials, configs, strict=True):
        if config is None:  # apply_params refused it; the reason is set already
            told.append(_tell(study, trial, state=pruned))
            continue
        outcome = next(done)
        if outcome.error is not None:
            trial.set_user_attr("error", outcome.error)
            told.append(_tell(study, trial, state=pruned))
            continue
        trial.set_user_attr("metrics", outcome.metrics)
        trial.set_user_attr("oos_returns", outcome.returns)
        if "oos_dates" not in study.user_attrs:
            study.set_user_attr("oos_dates", [d.isoformat() for d in outcome.dates])
        if math.isfinite(outcome.value):
            told.append(_tell(study, trial, values=outcome.value))
        else:
            reason = f"objective is {outcome.value} out of sample (no trades?)"
            trial.set_user_attr("error", reason)
            told.append(_tell(study, trial, state=pruned))
    return told


def _trial_config(
    trial: optuna.Trial, space: SearchSpace, config: HarvesterConfig
) -> HarvesterConfig | None:
    values = {p.path: p.suggest(trial) for p in space}
    try:
        return apply_params(config, values)
    except ConfigError as e:
        trial.set_user_attr("error", str(e))
        return None


@dataclass(slots=True)
class _Batch:
    """Trials asked together and their evaluations, started on an executor."""

    trials: list[optuna.Trial]
    configs: list[HarvesterConfig | None]
    pending: Pending[_Outcome]


def _start_batch(
    study: optuna.Study,
    runner: Executor,
    shared: Shared[StudyData],
    count: int,
    space: SearchSpace,
    config: HarvesterConfig,
    objective: Objective,
) -> _Batch:
    trials = [study.ask() for _ in range(count)]
    configs = [_trial_config(t, space, config) for t in trials]
    jobs = [(c, objective) for c in configs if c is not None]
    return _Batch(trials, configs, runner.submit_shared(_evaluate, shared, jobs))


def _fail(study: optuna.Study, batches: list[_Batch]) -> None:
    import optuna

    for batch in batches:
        batch.pending.cancel()
        for trial in batch.trials:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)


def run_trials(
    study: optuna.Study,
    runner: Executor,
    *,
    shared: Shared[StudyData],
    n_trials: int,
    size: int,
    space: SearchSpace,
    config: HarvesterConfig,
    objective: Objective,
    on_told: Callable[[optuna.trial.FrozenTrial], None] | None,
) -> None:
    """Ask ``size`` trials at a time, evaluate them on ``runner``, tell them in order.

    Two batches are in flight: batch k+1 is asked (after batch k−1 was told) and started
    before batch k is collected, so the workers never wait for the sampler or for the
    slowest trial of a batch. The order of asks and tells depends only on ``n_trials`` and
    ``size``, so a seeded study is the same on every executor.
    """
    left = n_trials
    in_flight: list[_Batch] = []
    while True:
        count = _unstarted(study, space, min(size, left)) if left > 0 else 0
        if count > 0:
            left -= count
            try:
                in_flight.append(
                    _start_batch(study, runner, shared, count, space, config, objective)
                )
            except BaseException:
                _fail(study, in_flight)
                raise
            if len(in_flight) < 2:
                continue
        if not in_flight:
            return
        batch = in_flight.pop(0)
        try:
            outcomes = batch.pending.result()
        except BaseException:
            _fail(study, [batch, *in_flight])
            raise
        try:
            told = _run_batch(study, batch.trials, batch.configs, outcomes)
        except BaseException:
            _fail(study, in_flight)
            raise
        if on_told is not None:
            for frozen_trial in told:
                on_told(frozen_trial)


def release_memos() -> None:
    """Drop this process's feature memo (the study is over: hand its arrays back)."""
    with _MEMOS_LOCK:
        _MEMOS.clear()
