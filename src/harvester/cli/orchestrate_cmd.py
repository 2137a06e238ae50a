"""``harvester run scan|retrain|auto|health|live``: the orchestrator's workflows.

See :mod:`harvester.app.orchestrator` and ``docs/orchestrator.md``. ``health`` exits 1 when a
check fails; ``live --schedule`` runs until SIGTERM or Ctrl-C and stops between jobs.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from harvester.cli.options import (
    ConfigFileOption,
    DataOption,
    ExecutorOption,
    ProfileOption,
    SetOption,
    WorkersOption,
    context_from,
)
from harvester.cli.render import make_console
from harvester.cli.research_render import progress_bar
from harvester.core.errors import HarvesterError

if TYPE_CHECKING:
    from harvester.app.learn import Attribution
    from harvester.app.orchestrator import AutoOutcome, RetrainReport
    from harvester.app.scan import ScanReport

__all__ = ["register"]

AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="The day to act for (default: today).")
]


def _print_scan(console: Console, report: ScanReport) -> None:
    signals = ", ".join(report.signals["symbol"].astype(str)) or "none"
    console.print(
        f"scan {report.strategy} on {report.source}, session {report.as_of}: "
        f"{len(report.signals)} new signal(s) ({signals}), {report.orders} paper order(s), "
        f"{len(report.watchlist)} on the watchlist, {len(report.skipped)} skipped"
    )


def _print_retrain(console: Console, report: RetrainReport) -> None:
    console.print(
        f"retrain rally on {report.executor}: {len(report.trained)} trained, "
        f"{len(report.fresh)} fresh (skipped), {len(report.skipped)} skipped; "
        f"models in {report.models_dir}"
    )
    for symbol, reason in report.skipped:
        console.print(f"skipped {symbol}: {reason}")


def _print_auto(console: Console, outcome: AutoOutcome) -> None:
    from harvester.app.orchestrator import RetrainReport
    from harvester.app.scan import ScanReport

    console.print(f"auto: {outcome.action} — {outcome.reason}")
    if isinstance(outcome.result, ScanReport):
        _print_scan(console, outcome.result)
    elif isinstance(outcome.result, RetrainReport):
        _print_retrain(console, outcome.result)


def scan(
    data: DataOption = "sample",
    as_of: AsOfOption = None,
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
) -> None:
    """The daily scan with orchestrator.scan_strategy (see harvester scan for every option)."""
    from harvester.app.orchestrator import run_scan

    ctx = context_from(config_file=config_file, profile=profile, assignments=assignments)
    _print_scan(make_console(), run_scan(ctx, data, as_of=as_of))


def retrain(
    data: DataOption = "sample",
    executor: ExecutorOption = "local",
    workers: WorkersOption = None,
    force: Annotated[bool, typer.Option("--force", help="Retrain fresh models too.")] = False,
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
) -> None:
    """Retrain the universe's rally models; skips models younger than skip_fresh_days."""
    from harvester.app.orchestrator import run_retrain
    from harvester.app.scan import open_app_store
    from harvester.research.executors import open_executor

    ctx = context_from(config_file=config_file, profile=profile, assignments=assignments)
    store = open_app_store(ctx)
    try:
        with (
            open_executor(executor, workers=workers) as pool,
            progress_bar("retrain", None) as update,
        ):
            report = run_retrain(
                ctx, data, store=store, executor=pool, force=force,
                progress=lambda done, total: update(done, total=total),
            )  # fmt: skip
    finally:
        store.close()
    _print_retrain(make_console(), report)


def auto(
    data: DataOption = "sample",
    as_of: AsOfOption = None,
    executor: ExecutorOption = "local",
    workers: WorkersOption = None,
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
) -> None:
    """Sunday: retrain; exchange sessions: scan; holidays and Saturdays: nothing."""
    from harvester.app.orchestrator import run_auto
    from harvester.research.executors import open_executor

    ctx = context_from(config_file=config_file, profile=profile, assignments=assignments)
    with open_executor(executor, workers=workers) as pool:
        outcome = run_auto(ctx, data, as_of, executor=pool)
    _print_auto(make_console(), outcome)


def health(
    data: DataOption = "sample",
    as_of: AsOfOption = None,
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
) -> None:
    """Database, model freshness and data freshness; exit code 1 when unhealthy."""
    from harvester.app.orchestrator import run_health

    ctx = context_from(config_file=config_file, profile=profile, assignments=assignments)
    report = run_health(ctx, data, as_of=as_of)
    console = make_console()
    for check in report.checks:
        mark = "[green]ok[/]" if check.ok else "[red]FAIL[/]"
        console.print(f"{check.name:<9} {mark}  {check.detail}")
    if report.stale_models:
        console.print(f"stale models: {', '.join(report.stale_models)}")
    console.print(f"health on {report.day}: {'healthy' if report.healthy else 'UNHEALTHY'}")
    if not report.healthy:
        failed = ", ".join(c.name for c in report.checks if not c.ok)
        raise HarvesterError(f"unhealthy on {report.day}: {failed} check(s) failed")


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def live(
    data: DataOption = "sample",
    schedule: Annotated[
        bool,
        typer.Option("--schedule", help="Stay up: daily job at 16:30 New York, weekly retrain."),
    ] = False,
    as_of: AsOfOption = None,
    executor: ExecutorOption = "local",
    workers: WorkersOption = None,
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
) -> None:
    """The daily job once (an auto step, never twice a day), or with --schedule forever."""
    from harvester.app.learn import Attribution
    from harvester.app.orchestrator import AutoOutcome, make_scheduler, run_daily_job
    from harvester.app.scan import open_app_store
    from harvester.research.executors import open_executor

    ctx = context_from(config_file=config_file, profile=profile, assignments=assignments)
    console = make_console()
    store = open_app_store(ctx)
    try:
        with open_executor(executor, workers=workers) as pool:
            if not schedule:
                outcome = run_daily_job(ctx, data, store=store, today=as_of, executor=pool)
                if outcome is None:
                    console.print("live: today's daily job already ran; nothing to do")
                else:
                    _print_auto(console, outcome)
                return
            with _stop_on_signals() as stop:

                def done(job: str, result: AutoOutcome | RetrainReport | Attribution) -> None:
                    if isinstance(result, AutoOutcome):
                        _print_auto(console, result)
                    elif isinstance(result, Attribution):
                        console.print(
                            f"attribution: {result.trades} trades in the experience buffer, "
                            f"{len(result.rules)} rule(s) proposed in {result.written}"
                        )
                    else:
                        _print_retrain(console, result)

                scheduler = make_scheduler(ctx, data, store, executor=pool,
                                           sleep=stop.wait, on_done=done)  # fmt: skip
                nxt = scheduler.next_due()
                console.print(f"live: scheduler started; next job at {nxt}; Ctrl-C to stop")
                scheduler.run_forever(stop.is_set)
                console.print("live: stopped")
    finally:
        store.close()


def register(group: typer.Typer) -> None:
    """Add the workflows to the ``run`` group."""
    for name, command in (("scan", scan), ("retrain", retrain), ("auto", auto),
                          ("health", health), ("live", live)):  # fmt: skip
        group.command(name)(command)
