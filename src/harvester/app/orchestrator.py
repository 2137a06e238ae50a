"""The orchestrator: ``harvester run scan|retrain|auto|health|live``.

- ``scan``: the daily scan (:func:`harvester.app.scan.run_scan`) with
  ``orchestrator.scan_strategy``.
- ``retrain``: one Rally model per symbol of the universe (a walk-forward fit on that
  symbol's history), run on a research executor with a progress callback, saved under
  ``<home>/models/rally/<SYMBOL>.joblib`` (+ ``.json`` metadata) and recorded in the store's
  ``model_artifacts``; a symbol whose newest model is younger than
  ``orchestrator.skip_fresh_days`` is skipped.
- ``auto``: retrain on ``retrain_weekday`` (Sunday), scan on exchange sessions, nothing on
  holidays and Saturdays; it says what it did and why.
- ``health``: the database answers, models are younger than ``stale_model_days``, the last
  bar is at most ``stale_data_sessions`` sessions behind the last session up to today.
- ``live``: one guarded ``auto`` step for today (recorded in ``runs`` as ``daily@DATE``; a
  second call the same day does nothing), or with a scheduler (see
  :mod:`harvester.live.scheduler`) the daily job at ``daily_time`` on sessions and the
  retrain at ``retrain_time`` on ``retrain_weekday``; after the daily job on the same
  sessions, the learning loop's attribution (:func:`harvester.app.learn.attribute`) proposes
  filter rules from the experience buffer for review (``rules_proposed.json``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import text

from harvester.app.alerts import notifier_for, retrain_alert, send_scan
from harvester.app.context import AppContext
from harvester.app.data import load_data
from harvester.app.learn import Attribution, attribute
from harvester.app.scan import ScanReport, open_app_store
from harvester.app.scan import run_scan as scan_session
from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError
from harvester.data.calendars import sessions
from harvester.data.panel import Panel
from harvester.live.brokers.base import Broker
from harvester.live.brokers.registry import open_broker
from harvester.live.scheduler import Job, Scheduler, parse_time
from harvester.notify import Notifier
from harvester.research.executors import Executor, SerialExecutor
from harvester.store import Store
from harvester.store.repository import latest_models, record_model
from harvester.strategies._rally_model import save_model
from harvester.strategies.rally import fit_walk_forward
from harvester.strategies.rally_saved import history_metadata, own_history

__all__ = [
    "ATTRIBUTION_JOB",
    "AutoOutcome",
    "HealthCheck",
    "HealthReport",
    "RetrainReport",
    "auto_plan",
    "is_session",
    "make_scheduler",
    "run_auto",
    "run_daily_job",
    "run_health",
    "run_retrain",
    "run_scan",
]

RALLY = "rally"
Action = Literal["retrain", "scan", "none"]
ProgressFn = Callable[[int, int], None]
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _today(ctx: AppContext, as_of: str | date | None) -> date:
    if as_of is None:
        return ctx.now().date()
    if isinstance(as_of, date):
        return as_of
    try:
        return pd.Timestamp(as_of).date()
    except ValueError:
        raise ConfigError(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)") from None


def is_session(day: date, calendar: str = "XNYS") -> bool:
    """Whether ``day`` is a session of ``calendar``."""
    return len(sessions(calendar, pd.Timestamp(day), pd.Timestamp(day))) > 0


# ---- scan -------------------------------------------------------------------------------


def run_scan(
    ctx: AppContext,
    spec: str,
    *,
    as_of: str | date | None = None,
    store: Store | None = None,
    notifier: Notifier | None = None,
    broker: Broker | None = None,
) -> ScanReport:
    """The daily scan with ``orchestrator.scan_strategy`` (see :mod:`harvester.app.scan`)
    through ``broker`` (default: ``orchestrator.broker``); its new signals and closed
    positions go to ``notifier`` (default: the environment's)."""
    strategy = ctx.config.orchestrator.scan_strategy
    day = None if as_of is None else _today(ctx, as_of).isoformat()
    report = scan_session(ctx.for_strategy(strategy), spec, strategy=strategy, as_of=day,
                          store=store, broker=broker or _daily_broker(ctx))  # fmt: skip
    with _alerting(ctx, notifier) as alerts:
        send_scan(alerts, report)
    return report


def _daily_broker(ctx: AppContext) -> Broker | None:
    """The real broker of ``orchestrator.broker``; None for the paper broker (the scan
    opens it on the store)."""
    name = ctx.config.orchestrator.broker
    if name == "paper":
        return None
    return open_broker(name, environ={**ctx.secrets.plain(), **ctx.environ})


@contextmanager
def _alerting(ctx: AppContext, notifier: Notifier | None) -> Iterator[Notifier]:
    """``notifier``, or the environment's for the block (closed after it)."""
    if notifier is not None:
        yield notifier
        return
    owned = notifier_for(ctx)
    try:
        yield owned
    finally:
        owned.close()


# ---- retrain ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Task:
    symbol: str
    panel: Panel
    config: HarvesterConfig
    path: str


@dataclass(frozen=True, slots=True)
class _Trained:
    symbol: str
    path: str
    folds: int
    metrics: dict[str, Any]


def _train_one(task: _Task) -> _Trained:
    fit = fit_walk_forward(task.panel, task.config)
    if not fit.folds:
        return _Trained(task.symbol, "", 0, {})
    briers = [m.brier for m in fit.report.folds if np.isfinite(m.brier)]
    metrics = {"folds": len(fit.folds), "brier": float(np.mean(briers)) if briers else None}
    meta = {"symbol": task.symbol, "strategy": RALLY, **history_metadata(task.panel)}
    save_model(task.path, fit.folds, meta, report=fit.report)
    return _Trained(task.symbol, task.path, len(fit.folds), metrics)


@dataclass(frozen=True, slots=True)
class RetrainReport:
    """What a retrain did: trained, skipped as fresh, skipped for another reason."""

    trained: tuple[str, ...]
    fresh: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]
    models_dir: Path
    executor: str


def _ages(store: Store, now: datetime) -> dict[str, float]:
    models = latest_models(store, strategy=RALLY)
    ages: dict[str, float] = {}
    for symbol, trained in zip(models["symbol"], models["trained_at"], strict=True):
        stamp = pd.Timestamp(trained)
        stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp
        ages[str(symbol)] = (pd.Timestamp(now) - stamp).total_seconds() / 86400.0
    return ages


def run_retrain(
    ctx: AppContext,
    spec: str,
    *,
    store: Store,
    executor: Executor | None = None,
    progress: ProgressFn | None = None,
    tickers: tuple[str, ...] = (),
    force: bool = False,
    notifier: Notifier | None = None,
) -> RetrainReport:
    """Retrain one Rally model per symbol; skip symbols with a model younger than
    ``orchestrator.skip_fresh_days`` (unless ``force``); the counts and the wall time go to
    ``notifier`` (default: the environment's)."""
    started = time.monotonic()
    report = _retrain(ctx, spec, store=store, executor=executor, progress=progress,
                      tickers=tickers, force=force)  # fmt: skip
    alert = retrain_alert(len(report.trained), len(report.fresh), len(report.skipped),
                          time.monotonic() - started)  # fmt: skip
    with _alerting(ctx, notifier) as alerts:
        alerts.retrain(alert)
    return report


def _retrain(
    ctx: AppContext,
    spec: str,
    *,
    store: Store,
    executor: Executor | None,
    progress: ProgressFn | None,
    tickers: tuple[str, ...],
    force: bool,
) -> RetrainReport:
    config = ctx.config
    now = ctx.now()
    panel = load_data(ctx, spec).panel
    symbols = [s for s in panel.symbols if not tickers or s in tickers]
    ages = {} if force else _ages(store, now)
    limit = config.orchestrator.skip_fresh_days
    fresh = tuple(s for s in symbols if ages.get(s, float("inf")) < limit)
    folder = ctx.home.models / RALLY
    folder.mkdir(parents=True, exist_ok=True)
    tasks = [
        _Task(s, own_history(panel, s), config, str(folder / f"{s}.joblib"))
        for s in symbols
        if s not in fresh
    ]
    done = (executor or SerialExecutor()).map(_train_one, tasks, progress=progress)
    trained, skipped = [], []
    for result in done:
        if result.folds == 0:
            skipped.append((result.symbol, "too little history for one walk-forward fold"))
            continue
        record_model(store, symbol=result.symbol, strategy=RALLY, path=result.path,
                     trained_at=now, metrics=result.metrics)  # fmt: skip
        trained.append(result.symbol)
    name = executor.name if executor is not None else "serial"
    return RetrainReport(tuple(trained), fresh, tuple(skipped), folder, name)


# ---- auto -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AutoOutcome:
    """What ``auto`` chose for ``day``, why, and the result of the step it ran."""

    day: date
    action: Action
    reason: str
    result: ScanReport | RetrainReport | None = None


def auto_plan(day: date, *, calendar: str = "XNYS", retrain_weekday: int = 6) -> tuple[Action, str]:
    """Retrain on ``retrain_weekday``, scan on sessions of ``calendar``, else nothing."""
    weekday = DAY_NAMES[day.weekday()]
    if day.weekday() == retrain_weekday:
        return "retrain", f"{day} is a {weekday}: weekly retrain"
    if is_session(day, calendar):
        return "scan", f"{day} is a {calendar} session: daily scan"
    if day.weekday() < 5:
        return "none", f"{day} is a {calendar} holiday ({weekday}): nothing to do"
    return "none", f"{day} is a {weekday} (no {calendar} session): nothing to do"


def run_auto(
    ctx: AppContext,
    spec: str,
    today: str | date | None = None,
    *,
    store: Store | None = None,
    executor: Executor | None = None,
    progress: ProgressFn | None = None,
) -> AutoOutcome:
    """Run what :func:`auto_plan` picks for ``today`` (default: the context clock's day)."""
    day = _today(ctx, today)
    action, reason = auto_plan(
        day, calendar=ctx.config.data.calendar,
        retrain_weekday=ctx.config.orchestrator.retrain_weekday,
    )  # fmt: skip
    if action == "none":
        return AutoOutcome(day, action, reason)
    owned = store is None
    db = open_app_store(ctx) if store is None else store
    try:
        result: ScanReport | RetrainReport
        if action == "retrain":
            result = run_retrain(ctx, spec, store=db, executor=executor, progress=progress)
        else:
            result = run_scan(ctx, spec, as_of=day, store=db)
    finally:
        if owned:
            db.close()
    return AutoOutcome(day, action, reason, result)


# ---- health -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HealthCheck:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class HealthReport:
    day: date
    checks: tuple[HealthCheck, ...]
    stale_models: tuple[str, ...] = field(default=())

    @property
    def healthy(self) -> bool:
        return all(c.ok for c in self.checks)


def _database_check(store: Store) -> HealthCheck:
    try:
        with store.session() as session:
            session.execute(text("SELECT 1"))
    except Exception as error:  # any driver error means unreachable
        return HealthCheck("database", False, f"unreachable: {type(error).__name__}")
    return HealthCheck("database", True, "reachable")


def _model_check(store: Store, now: datetime, limit: float) -> tuple[HealthCheck, tuple[str, ...]]:
    ages = _ages(store, now)
    if not ages:
        return HealthCheck(
            "models", True, "no rally models recorded (run: harvester run retrain)"
        ), ()
    stale = tuple(sorted(s for s, age in ages.items() if age > limit))
    oldest = max(ages.values())
    detail = f"{len(ages) - len(stale)} fresh, {len(stale)} stale (> {limit:g} days); "
    detail += f"oldest {oldest:.1f} days"
    return HealthCheck("models", not stale, detail), stale


def _data_check(ctx: AppContext, spec: str, day: date) -> HealthCheck:
    try:
        panel = load_data(ctx, spec).panel
    except Exception as error:  # report, never crash: health must always answer
        return HealthCheck("data", False, f"cannot load {spec}: {error}")
    last = pd.Timestamp(panel.index[-1]).date()
    calendar = ctx.config.data.calendar
    behind = len(sessions(calendar, pd.Timestamp(last) + pd.Timedelta(days=1), pd.Timestamp(day)))
    limit = ctx.config.orchestrator.stale_data_sessions
    detail = f"last bar {last}, {behind} {calendar} session(s) behind {day} (limit {limit})"
    return HealthCheck("data", behind <= limit, detail)


def run_health(
    ctx: AppContext, spec: str, *, store: Store | None = None, as_of: str | date | None = None
) -> HealthReport:
    """Database, model freshness and data freshness as of ``as_of`` (default: now)."""
    day = _today(ctx, as_of)
    now = ctx.now() if as_of is None else datetime.combine(day, datetime.max.time(), tzinfo=UTC)
    owned = store is None
    db = open_app_store(ctx) if store is None else store
    try:
        database = _database_check(db)
        models, stale = (
            _model_check(db, now, ctx.config.orchestrator.stale_model_days)
            if database.ok
            else (HealthCheck("models", False, "database unreachable"), ())
        )
    finally:
        if owned:
            db.close()
    return HealthReport(day, (database, models, _data_check(ctx, spec, day)), stale)


# ---- live -------------------------------------------------------------------------------


DAILY_JOB = "daily"
RETRAIN_JOB = "retrain"
ATTRIBUTION_JOB = "attribution"


@contextmanager
def _alert_failure(ctx: AppContext, job: str, day: date) -> Iterator[None]:
    """Send an error alert when the block raises (the scheduler then logs and records it)."""
    try:
        yield
    except Exception as error:
        with _alerting(ctx, None) as alerts:
            alerts.error(f"{job} job for {day} failed", f"{type(error).__name__}: {error}")
        raise


def make_scheduler(
    ctx: AppContext,
    spec: str,
    store: Store,
    *,
    executor: Executor | None = None,
    now: Callable[[], datetime] | None = None,
    sleep: Callable[[float], object] | None = None,
    on_done: Callable[[str, AutoOutcome | RetrainReport | Attribution], None] | None = None,
) -> Scheduler:
    """The live loop's scheduler: the daily ``auto`` step at ``daily_time`` on sessions, then
    the learning loop's attribution, and the retrain at ``retrain_time`` on
    ``retrain_weekday``."""
    orch = ctx.config.orchestrator
    calendar = ctx.config.data.calendar

    def daily(day: date) -> None:
        with _alert_failure(ctx, DAILY_JOB, day):
            outcome = run_auto(ctx, spec, day, store=store, executor=executor)
        if on_done is not None:
            on_done(DAILY_JOB, outcome)

    def retrain(day: date) -> None:
        with _alert_failure(ctx, RETRAIN_JOB, day):
            report = run_retrain(ctx, spec, store=store, executor=executor)
        if on_done is not None:
            on_done(RETRAIN_JOB, report)

    def attribution(day: date) -> None:
        del day
        found = attribute(ctx.environ, now=ctx.now(), directory=ctx.home.learning,
                          write_proposed=True)  # fmt: skip
        if on_done is not None:
            on_done(ATTRIBUTION_JOB, found)

    after_close = parse_time(orch.daily_time)
    jobs = (
        Job(DAILY_JOB, after_close, lambda d: is_session(d, calendar), daily),
        Job(ATTRIBUTION_JOB, after_close, lambda d: is_session(d, calendar), attribution),
        Job(RETRAIN_JOB, parse_time(orch.retrain_time),
            lambda d: d.weekday() == orch.retrain_weekday, retrain),
    )  # fmt: skip
    return Scheduler(store, jobs, timezone=orch.timezone, now=now, sleep=sleep)


def run_daily_job(
    ctx: AppContext,
    spec: str,
    *,
    store: Store,
    today: str | date | None = None,
    executor: Executor | None = None,
) -> AutoOutcome | None:
    """One guarded ``auto`` step (``harvester run live``): None when today's already ran."""
    day = _today(ctx, today)
    holder: list[AutoOutcome] = []

    def step(d: date) -> None:
        holder.append(run_auto(ctx, spec, d, store=store, executor=executor))

    job = Job(DAILY_JOB, parse_time("00:00"), lambda d: True, step)
    scheduler = Scheduler(store, (job,), timezone=ctx.config.orchestrator.timezone, now=ctx.now)
    if scheduler.done(job, day):
        return None
    scheduler.execute(job, day, reraise=True)
    return holder[0]
