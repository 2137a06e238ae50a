"""Optuna studies over a strategy's parameters, each trial judged out of sample.

:func:`optimize` runs an Optuna study whose every trial

1. draws one value per :class:`~harvester.research.spaces.Param` of the search space
   (the Optuna parameter name is the dotted config path);
2. writes them into the config (:func:`~harvester.research.spaces.apply_params`); an
   invalid combination **prunes** the trial, with the one-line reason in its ``error``
   user attribute;
3. walks the strategy forward over the given folds
   (:func:`~harvester.research.walk_forward.walk_forward`) and scores the **stitched
   out-of-sample** metrics with the :class:`~harvester.research.objective.Objective`, so the
   best parameters are chosen on test windows only;
4. keeps, as user attributes, the out-of-sample metrics (``metrics``) and per-bar returns
   of the stitched equity (``oos_returns``; the dates are the study's ``oos_dates``
   attribute) — the (dates × trials) matrix the deflated Sharpe ratio and PBO need.

Storage: ``None`` keeps the study in memory; an SQLAlchemy URL (``sqlite:///…/studies.db``,
``postgresql://user@host/db``) persists it through Optuna's RDB storage, and several
processes or machines calling :func:`optimize` with the same ``study_name`` add trials to
the same study (``load_if_exists``). A study remembers its strategy, objective and data
fingerprint; resuming it with others is a ConfigError. With a fixed ``seed`` the same
sampler draws the same parameters, so a fresh study's best parameters are reproducible.

:func:`~harvester.research.optimize_report.write_optimize_report` writes a study's files
(best config, trials table, returns matrix, JSON, Markdown and HTML reports).
Optuna is an optional dependency (extra ``research``), imported on use.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError
from harvester.data.panel import Panel
from harvester.features._memo import Memo, new_memo, sharing
from harvester.research.executors import Executor, Pending, SerialExecutor, Shared
from harvester.research.folds import Fold
from harvester.research.objective import Objective
from harvester.research.spaces import SearchSpace, apply_params, grid_space, overrides
from harvester.research.walk_forward import walk_forward_metrics
from harvester.strategies.base import Strategy
from harvester.strategies.registry import STRATEGIES

if TYPE_CHECKING:
    import optuna

__all__ = [
    "SUMMARY_METRICS",
    "OptimizeResult",
    "SamplerName",
    "TrialCallback",
    "TrialRecord",
    "optimize",
    "storage_url",
]

SamplerName = Literal["tpe", "grid", "random"]
TrialCallback = Callable[["TrialRecord"], None]
"""Called after every trial of this process (e.g. to advance a progress bar)."""

SUMMARY_METRICS: tuple[str, ...] = (
    "sharpe", "cagr", "total_return", "max_drawdown", "calmar", "win_rate", "number_of_trades",
)  # fmt: skip
"""The out-of-sample metrics shown per trial in ``trials.csv`` and the top-N table."""

_STUDY_KEYS = ("strategy", "objective", "data_fingerprint")


@dataclass(frozen=True, slots=True)
class TrialRecord:
    """One trial: its state (``complete``, ``pruned``, ``fail``, ``running``), value, the
    parameters it drew, its out-of-sample metrics and, when pruned, why."""

    number: int
    state: str
    value: float | None
    params: Mapping[str, Any]
    metrics: Mapping[str, float | None]
    error: str | None = None


@dataclass(frozen=True, slots=True)
class OptimizeResult:
    """A finished study: every trial (of every process sharing it), the best one and the
    out-of-sample returns matrix (dates × completed trials, columns = trial numbers)."""

    strategy: str
    study_name: str
    storage: str
    sampler: str
    seed: int | None
    objective: Objective
    space: SearchSpace
    trials: tuple[TrialRecord, ...]
    best: TrialRecord | None
    trial_returns: pd.DataFrame
    data_fingerprint: str
    plan: Mapping[str, object]

    @property
    def completed(self) -> tuple[TrialRecord, ...]:
        return tuple(t for t in self.trials if t.state == "complete")

    def best_overrides(self) -> dict[str, Any]:
        """The best trial's parameters as a nested config document (``--config`` file)."""
        return {} if self.best is None else overrides(self.best.params)

    def top(self, n: int = 5) -> list[TrialRecord]:
        """The ``n`` best completed trials, best first (ties: lower trial number first)."""
        sign = 1.0 if self.objective.direction == "minimize" else -1.0
        ranked = sorted(self.completed, key=lambda t: (sign * float(t.value or 0.0), t.number))
        return ranked[:n]

    def trials_table(self) -> pd.DataFrame:
        """One row per trial: number, state, value, each parameter, summary metrics, error."""
        rows = []
        for t in self.trials:
            row: dict[str, Any] = {"number": t.number, "state": t.state, "value": t.value}
            row.update({p.path: t.params.get(p.path) for p in self.space})
            row.update({k: t.metrics.get(k) for k in SUMMARY_METRICS})
            row["error"] = t.error
            rows.append(row)
        columns = ["number", "state", "value", *(p.path for p in self.space)]
        return pd.DataFrame(rows, columns=[*columns, *SUMMARY_METRICS, "error"])


def storage_url(url: str) -> str:
    """``url`` with a PostgreSQL scheme pointed at an installed driver: ``postgresql://``
    and ``postgres://`` use psycopg (3) when psycopg2 is not installed."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("postgresql", "postgres"):
        driver = "postgresql" if find_spec("psycopg2") is not None else "postgresql+psycopg"
        return f"{driver}://{rest}"
    return url


def _shown_storage(storage: str | optuna.storages.BaseStorage | None) -> str:
    if storage is None:
        return "memory"
    if not isinstance(storage, str):
        return type(storage).__name__
    from sqlalchemy.engine import make_url

    return make_url(storage).render_as_string(hide_password=True)


def _make_storage(storage: str | optuna.storages.BaseStorage | None) -> Any:
    if not isinstance(storage, str):
        return storage
    import optuna

    return optuna.storages.RDBStorage(storage_url(storage), engine_kwargs={"pool_pre_ping": True})


def _make_sampler(name: str, space: SearchSpace, seed: int | None) -> optuna.samplers.BaseSampler:
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler(grid_space(space), seed=seed)
    raise ConfigError(f"unknown sampler {name!r}; choose tpe, grid or random")


@contextmanager
def _quiet_optuna() -> Iterator[None]:
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def _plain(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _check_study(study: optuna.Study, attrs: Mapping[str, str]) -> None:
    existing = study.user_attrs
    for key in _STUDY_KEYS:
        if key in existing and existing[key] != attrs[key]:
            raise ConfigError(
                f"study {study.study_name!r} was run with {key} {existing[key]!r}, this run "
                f"has {attrs[key]!r}; use another --study name"
            )
    for key, value in attrs.items():
        if key not in existing:
            study.set_user_attr(key, value)


def _record(trial: optuna.trial.FrozenTrial) -> TrialRecord:
    attrs = trial.user_attrs
    return TrialRecord(
        number=trial.number,
        state=trial.state.name.lower(),
        value=None if trial.value is None else float(trial.value),
        params=dict(trial.params),
        metrics=dict(attrs.get("metrics", {})),
        error=attrs.get("error"),
    )


def _best(records: tuple[TrialRecord, ...], objective: Objective) -> TrialRecord | None:
    """The completed trial with the best value (the first one on a tie)."""
    best: TrialRecord | None = None
    for record in records:
        if record.state != "complete" or record.value is None:
            continue
        if best is None or objective.better(record.value, float(best.value or 0.0)):
            best = record
    return best


def _returns_matrix(study: optuna.Study, trials: list[optuna.trial.FrozenTrial]) -> pd.DataFrame:
    dates = pd.DatetimeIndex(pd.to_datetime(study.user_attrs.get("oos_dates", [])), name="date")
    columns = {
        str(t.number): t.user_attrs["oos_returns"]
        for t in trials
        if t.state.name == "COMPLETE" and len(t.user_attrs.get("oos_returns", ())) == len(dates)
    }
    return pd.DataFrame(columns, index=dates, dtype=float)


@dataclass(frozen=True, slots=True)
class _Study:
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


def _evaluate(study: _Study, job: tuple[HarvesterConfig, Objective]) -> _Outcome:
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
    shared: Shared[_Study],
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


def _run_trials(
    study: optuna.Study,
    runner: Executor,
    *,
    shared: Shared[_Study],
    n_trials: int,
    size: int,
    space: SearchSpace,
    config: HarvesterConfig,
    objective: Objective,
    on_trial: TrialCallback | None,
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
        if on_trial is not None:
            for frozen_trial in told:
                on_trial(_record(frozen_trial))


def optimize(
    panel: Panel,
    strategy: str | Strategy,
    config: HarvesterConfig,
    *,
    space: SearchSpace,
    objective: Objective,
    n_trials: int,
    folds: tuple[Fold, ...],
    sampler: SamplerName = "tpe",
    seed: int | None = 0,
    storage: str | optuna.storages.BaseStorage | None = None,
    study_name: str | None = None,
    plan: Mapping[str, object] | None = None,
    on_trial: TrialCallback | None = None,
    executor: Executor | None = None,
    batch: int | None = None,
) -> OptimizeResult:
    """Run ``n_trials`` trials of ``strategy`` over ``space`` (module docstring).

    Parameters
    ----------
    panel, strategy, config, folds
        What :func:`walk_forward` runs each trial on; ``config`` is the base the trial
        values are written into.
    space, objective
        The searched parameters and the out-of-sample score to maximise (or minimise).
    n_trials
        Trials this call adds (a grid stops early once every grid point was tried).
    sampler, seed
        ``tpe`` (default), ``grid`` or ``random``, seeded.
    storage, study_name
        An SQLAlchemy URL or Optuna storage (None: in memory) and the study to create or
        resume (None: a fresh generated name).
    plan
        The fold settings, recorded in the result for the report.
    on_trial
        Called with each finished trial of this call.
    executor, batch
        Where trials run (default: inline) and how many the sampler proposes at once
        (default: the executor's workers). Trials are asked in batches, evaluated in
        parallel and told in order, so with a fixed seed the same ``batch`` gives the same
        study whichever executor runs it.

    Raises
    ------
    ConfigError
        On an empty space, ``n_trials`` below 1, an unknown strategy or sampler, or a
        resumed study of another strategy, objective or data.
    """
    import optuna

    if not space:
        raise ConfigError("optimize needs at least one parameter in the search space")
    if n_trials < 1:
        raise ConfigError(f"optimize needs at least 1 trial, got {n_trials}")
    resolved = STRATEGIES[strategy] if isinstance(strategy, str) else strategy
    fingerprint = panel.fingerprint()
    runner = executor or SerialExecutor()
    size = max(1, batch or runner.workers)

    with _quiet_optuna():
        study = optuna.create_study(
            storage=_make_storage(storage),
            study_name=study_name,
            direction=objective.direction,
            sampler=_make_sampler(sampler, space, seed),
            load_if_exists=True,
        )
        attrs = {"strategy": resolved.name, "objective": objective.name}
        _check_study(study, {**attrs, "data_fingerprint": fingerprint})
        shared = runner.share(_Study(panel, resolved, folds))
        try:
            _run_trials(
                study, runner, shared=shared, n_trials=n_trials, size=size, space=space,
                config=config, objective=objective, on_trial=on_trial,
            )  # fmt: skip
        finally:
            with _MEMOS_LOCK:
                _MEMOS.clear()  # the study is over here: hand its features back
        frozen = study.get_trials(deepcopy=False)
    records = tuple(_record(t) for t in frozen)
    best = _best(records, objective)
    return OptimizeResult(
        strategy=resolved.name,
        study_name=study.study_name,
        storage=_shown_storage(storage),
        sampler=sampler,
        seed=seed,
        objective=objective,
        space=space,
        trials=records,
        best=best,
        trial_returns=_returns_matrix(study, frozen),
        data_fingerprint=fingerprint,
        plan=dict(plan or {}),
    )
