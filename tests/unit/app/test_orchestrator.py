"""The orchestrator: auto's choice by calendar, retrain skipping fresh models with equal
models on any executor, and health flagging stale models and stale data."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pytest

from harvester.app import orchestrator
from harvester.app.context import AppContext, open_context
from harvester.app.data import load_data
from harvester.app.orchestrator import auto_plan, run_auto, run_health, run_retrain
from harvester.config.loader import ConfigRequest
from harvester.live.learning.experience import BUFFER_NAME, ExperienceBuffer
from harvester.live.learning.hooks import Outcome, Snapshot
from harvester.notify import NullNotifier
from harvester.research.executors import open_executor
from harvester.store import Store
from harvester.store.repository import latest_models, record_model
from harvester.strategies._rally_model import load_model
from harvester.strategies.rally import predict_panel

DATA = "synthetic:symbols=2,years=2,seed=5"
FAST = (
    "strategies.rally.train_years=0.5", "strategies.rally.test_years=0.5",
    "strategies.rally.hmm_n_iter=5",
)  # fmt: skip
NOW = datetime(2030, 1, 6, 23, 0, tzinfo=UTC)


def _ctx(home: Path, *extra: str) -> AppContext:
    request = ConfigRequest(assignments=(*FAST, *extra))
    ctx = open_context(request, environ=os.environ, cwd=home, log_to_console=False)
    return replace(ctx, now=lambda: NOW)


@pytest.mark.parametrize(
    ("day", "action", "words"),
    [
        (date(2024, 7, 7), "retrain", "Sunday"),
        (date(2024, 7, 5), "scan", "session"),
        (date(2024, 7, 4), "none", "holiday"),  # Independence Day, a Thursday
        (date(2024, 7, 6), "none", "Saturday"),
    ],
)
def test_auto_plan(day: date, action: str, words: str) -> None:
    chosen, reason = auto_plan(day)
    assert chosen == action and words in reason and str(day) in reason


def test_auto_runs_the_chosen_step(
    isolated_home: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, object]] = []
    monkeypatch.setattr(
        orchestrator, "run_scan", lambda c, s, **kw: calls.append(("scan", kw["as_of"]))
    )
    monkeypatch.setattr(
        orchestrator, "run_retrain", lambda c, s, **kw: calls.append(("retrain", None))
    )
    ctx = _ctx(isolated_home)
    assert run_auto(ctx, DATA, "2024-07-04", store=store).action == "none"
    assert run_auto(ctx, DATA, "2024-07-05", store=store).action == "scan"
    assert run_auto(ctx, DATA, "2024-07-07", store=store).action == "retrain"
    assert calls == [("scan", date(2024, 7, 5)), ("retrain", None)]


def _predictions(ctx: AppContext, models: Path) -> dict[str, np.ndarray]:
    panel = load_data(ctx, DATA).panel
    out = {}
    for symbol in panel.symbols:
        folds, _ = load_model(models / f"{symbol}.joblib")
        out[symbol] = predict_panel(panel.select([symbol]), folds)
    return out


def test_retrain_skips_fresh_models_and_is_equal_on_serial_and_local(
    isolated_home: Path, store: Store
) -> None:
    ctx = _ctx(isolated_home)
    seen: list[int] = []
    first = run_retrain(ctx, DATA, store=store, progress=lambda d, t: seen.append(d))
    assert first.trained == ("SYN000", "SYN001") and seen == [1, 2]
    serial = _predictions(ctx, first.models_dir)
    assert all(np.isfinite(p).any() for p in serial.values())
    again = run_retrain(ctx, DATA, store=store)  # same clock: both models are 0 days old
    assert again.trained == () and again.fresh == ("SYN000", "SYN001")
    assert len(latest_models(store, strategy="rally")) == 2
    later = replace(ctx, now=lambda: NOW + timedelta(hours=1))
    with open_executor("local:2") as pool:
        forced = run_retrain(later, DATA, store=store, executor=pool, force=True)
    assert forced.trained == ("SYN000", "SYN001")
    for symbol, values in _predictions(ctx, forced.models_dir).items():
        np.testing.assert_array_equal(values, serial[symbol])


def test_retrain_after_skip_fresh_days(isolated_home: Path, store: Store) -> None:
    ctx = _ctx(isolated_home, "orchestrator.skip_fresh_days=7")
    for symbol, age in (("SYN000", 3), ("SYN001", 8)):
        record_model(store, symbol=symbol, strategy="rally", path="x",
                     trained_at=NOW - timedelta(days=age))  # fmt: skip
    report = run_retrain(ctx, DATA, store=store, tickers=("SYN000", "SYN001"))
    assert report.fresh == ("SYN000",) and report.trained == ("SYN001",)


def test_health_flags_stale_models_and_stale_data(isolated_home: Path, store: Store) -> None:
    ctx = _ctx(isolated_home, "orchestrator.stale_model_days=14")
    last = load_data(ctx, DATA).panel.index[-1].date()
    record_model(store, symbol="SYN000", strategy="rally", path="x",
                 trained_at=datetime.combine(last, datetime.min.time(), tzinfo=UTC))  # fmt: skip
    fresh = run_health(ctx, DATA, store=store, as_of=last)
    assert fresh.healthy, fresh.checks
    later = last + timedelta(days=30)  # about 20 sessions later; the model is 30 days old
    stale = run_health(ctx, DATA, store=store, as_of=later)
    checks = {c.name: c for c in stale.checks}
    assert not stale.healthy and checks["database"].ok
    assert not checks["models"].ok and stale.stale_models == ("SYN000",)
    assert not checks["data"].ok and f"last bar {last}" in checks["data"].detail


def _pattern_buffer(path: Path) -> None:
    """Setup X: 60 trades at zscore <= 0.9 all win; 40 at zscore >= 1.1 win 1 in 5."""
    zscores = np.concatenate([np.linspace(-1.5, 0.9, 60), np.linspace(1.1, 2.0, 40)])
    wins = np.concatenate([np.ones(60, bool), np.arange(40) % 5 == 0])
    buffer = ExperienceBuffer(path)
    for i, (z, win) in enumerate(zip(zscores, wins, strict=True)):
        buffer.append(Snapshot(f"S{i}", 2 * i, "entry", "X", 100.0, {"zscore": float(z)}))
        outcome = Outcome(1.0 if win else -1.0, "target" if win else "stop", 60.0)
        buffer.append(Snapshot(f"S{i}", 2 * i + 1, "exit", "X", 100.0, {}, outcome))


def test_the_scheduler_proposes_filter_rules_after_the_close_on_sessions(
    isolated_home: Path, store: Store
) -> None:
    ctx = _ctx(isolated_home)
    _pattern_buffer(ctx.home.learning / BUFFER_NAME)
    seen: list[tuple[str, object]] = []
    scheduler = orchestrator.make_scheduler(
        ctx, DATA, store, on_done=lambda job, result: seen.append((job, result))
    )
    job = next(j for j in scheduler.jobs if j.name == orchestrator.ATTRIBUTION_JOB)
    assert job.at == time(16, 30)  # the daily job's time: after the close
    assert job.runs_on(date(2024, 7, 5)) and not job.runs_on(date(2024, 7, 4))  # a holiday
    assert [j.name for j in scheduler.jobs].index(job.name) == 1  # right after the daily job
    scheduler.execute(job, date(2024, 7, 5), reraise=True)
    proposed = json.loads((ctx.home.learning / "rules_proposed.json").read_text())
    # 40 trades above z = 1, 8 of them winners (every fifth): 20 % < 40 %.
    assert [(r["feature"], r["operator"], r["trades"]) for r in proposed] == [("zscore", ">", 40)]
    assert proposed[0]["success_rate"] == pytest.approx(8 / 40)
    assert seen[0][0] == "attribution" and getattr(seen[0][1], "trades", None) == 100
    assert scheduler.done(job, date(2024, 7, 5))


def test_a_rally_scan_predicts_with_the_retrained_models_and_never_refits(
    isolated_home: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harvester.strategies import rally

    ctx = _ctx(isolated_home, "orchestrator.scan_strategy=rally")
    trained = run_retrain(ctx, DATA, store=store, notifier=NullNotifier())
    assert len(trained.trained) == 2

    def refit(*args: object, **kwargs: object) -> None:
        raise AssertionError("the scan refitted instead of loading the saved models")

    monkeypatch.setattr(rally, "fit_walk_forward", refit)
    report = orchestrator.run_scan(ctx, DATA, store=store, notifier=NullNotifier())
    assert report.strategy == "rally" and report.skipped == ()
    assert set(report.ranking["symbol"]) == set(trained.trained)
