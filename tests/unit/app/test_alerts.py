"""The daily jobs' alerts: scan signals and exits, retrain counts, failures — each job hands
its report to the notifier, and a failing scheduled job sends an error."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harvester.app import orchestrator
from harvester.app.alerts import exit_alerts, signal_alerts
from harvester.app.context import AppContext, open_context
from harvester.app.scan import Breadth, ScanReport
from harvester.config.loader import ConfigRequest
from harvester.notify import ExitAlert, RetrainAlert, SignalAlert
from harvester.store import Store
from harvester.store.repository import Trade

DAY = date(2024, 7, 5)


class Recorder:
    """A notifier that keeps what it is asked to send."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def signals(self, alerts: Sequence[SignalAlert]) -> bool:
        self.calls.append(("signals", list(alerts)))
        return True

    def exits(self, alerts: Sequence[ExitAlert]) -> bool:
        self.calls.append(("exits", list(alerts)))
        return True

    def retrain(self, alert: RetrainAlert) -> bool:
        self.calls.append(("retrain", alert))
        return True

    def error(self, title: str, detail: str = "") -> bool:
        self.calls.append(("error", (title, detail)))
        return True

    def close(self) -> None:
        self.calls.append(("close", None))


def _report(strategy: str = "rally") -> ScanReport:
    signals = pd.DataFrame(
        {"symbol": ["BBB", "AAA"], "direction": [1, 1], "score": [0.61, 0.52],
         "size": [0.2, 0.1], "stop": [95.0, np.nan], "target": [110.0, 60.0]}
    )  # fmt: skip
    ranking = pd.DataFrame(
        {"symbol": ["BBB", "AAA", "CCC"], "score": [0.61, 0.52, 0.1], "direction": [1, 1, 0],
         "close": [100.0, 50.0, 7.0], "held": [0, 0, 1], "rank": [1, 2, 3]}
    )  # fmt: skip
    closed = (Trade("CCC", 1, date(2024, 7, 1), 10.0, DAY, 7.0, 5.0, -15.0, -0.3, "stop", 4),)
    return ScanReport(
        as_of=DAY, strategy=strategy, source="test", live_start=DAY,
        breadth=Breadth(3, 50.0, 50.0, ()), signals=signals, watchlist=signals.iloc[:0],
        ranking=ranking, positions=None, skipped=(), orders=2, closed=closed,
    )  # fmt: skip


def test_signal_and_exit_alerts_carry_the_scan_numbers() -> None:
    signals = signal_alerts(_report())
    assert signals == [
        SignalAlert("BBB", 0.61, price=100.0, stop=95.0, target=110.0, size=0.2,
                    score_label="P(rally)"),
        SignalAlert("AAA", 0.52, price=50.0, stop=None, target=60.0, size=0.1,
                    score_label="P(rally)"),  # an unknown (NaN) stop is left out
    ]  # fmt: skip
    assert signal_alerts(_report("composer"))[0].score_label == "score"
    assert exit_alerts(_report()) == [ExitAlert("CCC", "stop", -0.3, 4, pnl=-15.0)]


def _ctx(home: Path) -> AppContext:
    ctx = open_context(ConfigRequest(), environ=os.environ, cwd=home, log_to_console=False)
    return replace(ctx, now=lambda: datetime(2024, 7, 5, 21, 0, tzinfo=UTC))


def test_the_scan_sends_its_signals_and_exits(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    monkeypatch.setattr(orchestrator, "scan_session", lambda *a, **k: _report())
    monkeypatch.setattr(orchestrator, "notifier_for", lambda ctx: recorder)
    report = orchestrator.run_scan(_ctx(isolated_home), "sample", as_of=DAY)
    assert [name for name, _ in recorder.calls] == ["signals", "exits", "close"]
    assert recorder.calls[0][1] == signal_alerts(report)


def test_a_retrain_sends_fresh_and_stale_counts(
    isolated_home: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    done = orchestrator.RetrainReport(
        ("A",), ("B", "C"), (("D", "too short"),), Path("m"), "serial"
    )
    monkeypatch.setattr(orchestrator, "_retrain", lambda *a, **k: done)
    assert orchestrator.run_retrain(_ctx(isolated_home), "sample", store=store,
                                    notifier=recorder) is done  # fmt: skip
    ((name, alert),) = recorder.calls
    assert name == "retrain" and isinstance(alert, RetrainAlert)
    assert (alert.fresh, alert.stale, alert.trained) == (3, 1, 1)  # A trained + B, C fresh
    assert alert.elapsed_seconds >= 0.0


def test_a_failing_scheduled_job_sends_an_error_and_is_recorded_failed(
    isolated_home: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(orchestrator, "run_auto", boom)
    monkeypatch.setattr(orchestrator, "notifier_for", lambda ctx: recorder)
    scheduler = orchestrator.make_scheduler(_ctx(isolated_home), "sample", store)
    job = next(j for j in scheduler.jobs if j.name == orchestrator.DAILY_JOB)
    assert scheduler.execute(job, DAY).status == "failed"
    assert recorder.calls == [
        ("error", ("daily job for 2024-07-05 failed", "RuntimeError: boom")),
        ("close", None),
    ]
