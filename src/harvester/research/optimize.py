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
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError
from harvester.data.panel import Panel
from harvester.research.executors import Executor, SerialExecutor
from harvester.research.folds import Fold
from harvester.research.objective import Objective
from harvester.research.spaces import SearchSpace, grid_space, overrides
from harvester.research.trials import StudyData, release_memos, run_trials
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
        shared = runner.share(StudyData(panel, resolved, folds))
        told = None if on_trial is None else (lambda trial: on_trial(_record(trial)))
        try:
            run_trials(
                study, runner, shared=shared, n_trials=n_trials, size=size, space=space,
                config=config, objective=objective, on_told=told,
            )  # fmt: skip
        finally:
            release_memos()
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
