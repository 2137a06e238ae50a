"""A built-in scheduler: run jobs at a wall-clock time on chosen days, once per day.

Each :class:`Job` names the days it runs on (``runs_on(day)``, e.g. exchange sessions or
Sundays) and a local time (``at``, in the scheduler's time zone, default New York). On each
tick the scheduler runs every job whose time has come today and that has no finished run
for today in the store's ``runs`` table (``kind = "<job>@<YYYY-MM-DD>"``). So:

- a restart on the same day does not run a job again (the record is in the database);
- a process started after a job's time on a due day catches that day's job up;
- a run left ``running`` by a crash is retried (the jobs are idempotent); ``ok`` and
  ``failed`` runs are final for the day;
- days missed while the process was down are not replayed (only today's job runs).

The clock and the sleep are injected (``now`` returns an aware datetime, ``sleep`` waits
seconds), so tests drive days of schedule without waiting; ``stop`` ends the loop between
jobs (the CLI sets it on SIGTERM / Ctrl-C).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from harvester.core.errors import ConfigError
from harvester.store import Store
from harvester.store.models import RunRow
from harvester.store.repository import finish_run, record_run

__all__ = ["DONE_STATUSES", "Job", "JobRun", "Scheduler", "job_kind", "parse_time"]

log = logging.getLogger(__name__)

DONE_STATUSES = ("ok", "failed")
"""Statuses that mark a job done for its day; ``running`` (a crash) is retried."""
LOOKAHEAD_DAYS = 14


def parse_time(text: str) -> time:
    """``HH:MM`` as a time."""
    try:
        hours, minutes = (int(part) for part in text.split(":"))
        return time(hours, minutes)
    except ValueError:
        raise ConfigError(f"{text!r} is not a time of day (HH:MM)") from None


def job_kind(name: str, day: date) -> str:
    """The ``runs.kind`` of job ``name`` on ``day``."""
    return f"{name}@{day.isoformat()}"


@dataclass(frozen=True, slots=True)
class Job:
    """``action(day)`` at ``at`` (local time) on the days ``runs_on`` accepts."""

    name: str
    at: time
    runs_on: Callable[[date], bool]
    action: Callable[[date], object]


@dataclass(frozen=True, slots=True)
class JobRun:
    """One job execution: the day it was for, its run id and status."""

    job: str
    day: date
    run_id: int
    status: str
    started: datetime


class Scheduler:
    """Runs :class:`Job` s once per due day; the state is the store's ``runs`` table."""

    def __init__(
        self,
        store: Store,
        jobs: tuple[Job, ...],
        *,
        timezone: str = "America/New_York",
        now: Callable[[], datetime] | None = None,
        sleep: Callable[[float], object] | None = None,
        max_sleep: float = 300.0,
    ) -> None:
        try:
            self.tz = ZoneInfo(timezone)
        except (KeyError, ValueError):
            raise ConfigError(f"unknown time zone {timezone!r}") from None
        self.store = store
        self.jobs = jobs
        self.now = now or (lambda: datetime.now(UTC))
        self.sleep = sleep or _real_sleep
        self.max_sleep = max_sleep
        self.history: list[JobRun] = []

    def local_now(self) -> datetime:
        return self.now().astimezone(self.tz)

    def done(self, job: Job, day: date) -> bool:
        """Whether ``job`` has a finished run for ``day`` in the store."""
        query = select(RunRow.id).where(
            RunRow.kind == job_kind(job.name, day), RunRow.status.in_(DONE_STATUSES)
        )
        with self.store.session() as session:
            return session.scalars(query.limit(1)).first() is not None

    def _due_at(self, job: Job, day: date) -> datetime:
        return datetime.combine(day, job.at, tzinfo=self.tz)

    def run_pending(self) -> list[JobRun]:
        """Run every job due now (today, at or after its time) that has not run today."""
        ran: list[JobRun] = []
        for job in self.jobs:
            local = self.local_now()
            day = local.date()
            if local < self._due_at(job, day) or not job.runs_on(day) or self.done(job, day):
                continue
            ran.append(self.execute(job, day))
        return ran

    def execute(self, job: Job, day: date, *, reraise: bool = False) -> JobRun:
        """Run ``job`` for ``day`` now and record it (``failed`` on an exception, which is
        logged, or raised again with ``reraise``)."""
        started = self.local_now()
        run_id = record_run(self.store, job_kind(job.name, day), started_at=started)
        status = "ok"
        try:
            job.action(day)
        except Exception:
            status = "failed"
            log.exception("scheduled job %s for %s failed", job.name, day)
            finish_run(self.store, run_id, status, finished_at=self.local_now())
            if reraise:
                raise
        else:
            finish_run(self.store, run_id, status, finished_at=self.local_now())
        run = JobRun(job.name, day, run_id, status, started)
        self.history.append(run)
        log.info("scheduled job %s for %s: %s", job.name, day, status)
        return run

    def next_due(self) -> datetime | None:
        """The next time a job is due (after now), or None within two weeks."""
        local = self.local_now()
        best: datetime | None = None
        for job in self.jobs:
            for offset in range(LOOKAHEAD_DAYS + 1):
                day = local.date() + timedelta(days=offset)
                due = self._due_at(job, day)
                if due > local and job.runs_on(day):
                    best = due if best is None or due < best else best
                    break
        return best

    def run_forever(self, stop: Callable[[], bool], *, max_ticks: int | None = None) -> None:
        """Tick until ``stop()``: run what is due, then sleep until the next due time
        (at most ``max_sleep`` seconds, so clock jumps are noticed)."""
        ticks = 0
        while not stop() and (max_ticks is None or ticks < max_ticks):
            self.run_pending()
            ticks += 1
            if stop():
                break
            nxt = self.next_due()
            wait = self.max_sleep
            if nxt is not None:
                wait = min(wait, max((nxt - self.local_now()).total_seconds(), 0.0) + 1.0)
            self.sleep(wait)


def _real_sleep(seconds: float) -> None:
    import time as _time

    _time.sleep(seconds)
