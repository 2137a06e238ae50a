"""The scheduler on a simulated clock: the 16:30 New York daily job on sessions runs once,
a restart on the same day does not run it again (the store remembers), the Sunday retrain
runs weekly, and a crashed (``running``) run is retried. No test sleeps."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from harvester.live.scheduler import Job, Scheduler, job_kind
from harvester.store import Store
from harvester.store.repository import record_run
from harvester.testing import SimClock

NY = ZoneInfo("America/New_York")
# NYSE sessions of the week of 2024-07-01 (hand list: Thursday 4 July is a holiday).
SESSIONS = {date(2024, 7, d) for d in (1, 2, 3, 5, 8, 9)}


class Clock:
    """Wall time = ``start`` + the SimClock's simulated seconds."""

    def __init__(self, start: datetime) -> None:
        self.start, self.sim = start, SimClock()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.sim.monotonic())

    def sleep(self, seconds: float) -> None:
        asyncio.run(self.sim.sleep(seconds))


def _scheduler(store: Store, clock: Clock, calls: list[tuple[str, date, datetime]]) -> Scheduler:
    def action(name: str):  # type: ignore[no-untyped-def]
        return lambda day: calls.append((name, day, clock.now().astimezone(NY)))

    jobs = (
        Job("daily", time(16, 30), lambda d: d in SESSIONS, action("daily")),
        Job("retrain", time(18, 0), lambda d: d.weekday() == 6, action("retrain")),
    )
    return Scheduler(store, jobs, now=clock.now, sleep=clock.sleep, max_sleep=3600)


def _until(clock: Clock, end: datetime):  # type: ignore[no-untyped-def]
    return lambda: clock.now() >= end


def test_daily_job_runs_once_at_1630_new_york(store: Store) -> None:
    clock = Clock(datetime(2024, 7, 5, 12, 0, tzinfo=NY).astimezone(UTC))
    calls: list[tuple[str, date, datetime]] = []
    _scheduler(store, clock, calls).run_forever(
        _until(clock, datetime(2024, 7, 5, 23, 59, tzinfo=NY))
    )
    assert [(name, day) for name, day, _ in calls] == [("daily", date(2024, 7, 5))]
    at = calls[0][2]
    assert (at.hour, at.minute) == (16, 30) and at.second < 5  # 20:30 UTC in July (EDT)
    assert len(clock.sim.sleeps) < 20  # sleeps until due, not a busy loop


def test_restart_on_the_same_day_does_not_run_again(store: Store) -> None:
    calls: list[tuple[str, date, datetime]] = []
    first = Clock(datetime(2024, 7, 5, 16, 0, tzinfo=NY))
    _scheduler(store, first, calls).run_forever(
        _until(first, datetime(2024, 7, 5, 17, 0, tzinfo=NY))
    )
    assert len(calls) == 1
    restarted = Clock(datetime(2024, 7, 5, 19, 0, tzinfo=NY))  # a new process, same store
    scheduler = _scheduler(store, restarted, calls)
    assert scheduler.run_pending() == []
    scheduler.run_forever(_until(restarted, datetime(2024, 7, 5, 23, 0, tzinfo=NY)))
    assert len(calls) == 1


def test_late_start_catches_up_today_and_crashed_run_is_retried(store: Store) -> None:
    record_run(store, job_kind("daily", date(2024, 7, 5)))  # left "running" by a crash
    calls: list[tuple[str, date, datetime]] = []
    clock = Clock(datetime(2024, 7, 5, 20, 0, tzinfo=NY))
    ran = _scheduler(store, clock, calls).run_pending()
    assert [(r.job, r.day, r.status) for r in ran] == [("daily", date(2024, 7, 5), "ok")]


def test_a_week_runs_daily_on_sessions_and_retrain_on_sunday(store: Store) -> None:
    clock = Clock(datetime(2024, 7, 1, 9, 0, tzinfo=NY))
    calls: list[tuple[str, date, datetime]] = []
    _scheduler(store, clock, calls).run_forever(
        _until(clock, datetime(2024, 7, 9, 12, 0, tzinfo=NY))
    )
    daily = [day for name, day, _ in calls if name == "daily"]
    retrain = [day for name, day, _ in calls if name == "retrain"]
    assert daily == [date(2024, 7, d) for d in (1, 2, 3, 5, 8)]  # no 4 July, no weekend
    assert retrain == [date(2024, 7, 7)]
    assert all(at.time() >= time(18, 0) for name, _, at in calls if name == "retrain")


def test_failed_job_is_recorded_and_not_retried_the_same_day(store: Store) -> None:
    clock = Clock(datetime(2024, 7, 5, 17, 0, tzinfo=NY))
    attempts: list[date] = []

    def boom(day: date) -> None:
        attempts.append(day)
        raise RuntimeError("no data")

    scheduler = Scheduler(store, (Job("daily", time(16, 30), lambda d: True, boom),),
                          now=clock.now, sleep=clock.sleep)  # fmt: skip
    assert [r.status for r in scheduler.run_pending()] == ["failed"]
    assert scheduler.run_pending() == [] and attempts == [date(2024, 7, 5)]


def test_stop_ends_the_loop_before_any_job() -> None:
    clock = Clock(datetime(2024, 7, 5, 17, 0, tzinfo=NY))
    scheduler = Scheduler(None, (), now=clock.now, sleep=clock.sleep)  # type: ignore[arg-type]
    scheduler.run_forever(lambda: True)
    assert clock.sim.sleeps == []
