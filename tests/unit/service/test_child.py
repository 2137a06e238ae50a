"""The refresh in a child process: the same bytes, survives the child's death, keeps the
serving process free of pandas, SQLAlchemy and numpy."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import httpx
import pytest
from tests.unit.service.conftest import Clock, settings_for

from harvester.analytics.trades import DEFAULT_WINDOW
from harvester.app.journal import DEFAULT_ACCOUNT
from harvester.cli.main import main
from harvester.service import ServiceState
from harvester.service import state as service_state
from harvester.service.published import Published
from harvester.store import Store
from harvester.store.repository import Trade, record_trade
from harvester.testing.service_seed import no_network

SQLITE = pytest.mark.parametrize("store", ["sqlite"], indirect=True)

HEAVY = ("pandas", "sqlalchemy", "numpy")
SPY_TRADE = Trade(symbol="SPY", side=1, entry_date=date(2024, 2, 20), entry_price=100.0,
                  exit_date=date(2024, 2, 21), exit_price=99.6, qty=10.0, pnl=-4.0,
                  trade_return=-0.004, exit_reason="stop_loss", bars_held=1, account="paper",
                  regime="trend", mfe=0.001, mae=-0.005)  # fmt: skip


def _without_timing(exposition: bytes) -> list[bytes]:
    # the refresh's duration and the metrics' creation times differ from run to run
    return [
        line
        for line in exposition.splitlines()
        if b"refresh_duration_seconds" not in line and b"_created" not in line
    ]


def _answers(published: Published) -> dict[str, bytes]:
    trades = published.trades
    return {
        "report": published.report_json,
        "recommendations": published.recommendations_json,
        "equity": published.equity_json,
        "positions": published.positions_json,
        "signals": published.signals_json,
        "trades": trades.response(trades.select()),
        "aapl": trades.response(trades.select(symbol="AAPL", exit_type="take_profit")),
    }


@SQLITE
def test_the_child_publishes_the_bytes_of_an_in_process_refresh(
    seeded: Store, clock: Clock
) -> None:
    inside = ServiceState(
        settings_for(seeded),
        clock=clock,
        http=httpx.Client(transport=httpx.MockTransport(no_network)),
    )
    child = ServiceState(settings_for(seeded), clock=clock, child_process=True)
    try:
        here, there = inside.published(), child.published()
        assert child.refresh_pid not in (None, os.getpid())
    finally:
        inside.close()
        child.close()
    assert _answers(there) == _answers(here)
    assert _without_timing(there.exposition) == _without_timing(here.exposition)
    assert b"harvester_equity_total 1045.0" in there.exposition
    assert [t["pnl"] for t in json.loads(_answers(there)["aapl"])["trades"]] == [20.0, 30.0]


@SQLITE
def test_a_killed_child_degrades_health_then_a_new_one_recovers(
    seeded: Store, clock: Clock
) -> None:
    state = ServiceState(settings_for(seeded), clock=clock, child_process=True)
    try:
        first = state.health()
        assert (first["status"], first["refresh_error"]) == ("ok", None)
        pid = state.refresh_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        clock.advance(30)
        down = state.health()
        assert down["status"] == "degraded"
        assert "the refresh process ended" in down["refresh_error"]
        assert down["last_update"] == first["last_update"]  # the last good answers, still served
        assert state.report()["performance_by_regime"]["AAPL_trend"]["trades"] == 3
        clock.advance(30)
        again = state.health()
        assert (again["status"], again["refresh_error"]) == ("ok", None)
        assert again["last_update"] == first["last_update"] + 60
        assert state.refresh_pid not in (None, pid)
    finally:
        state.close()
    assert state.refresh_pid is None


@SQLITE
def test_trades_cross_again_only_when_the_journal_changed(seeded: Store, clock: Clock) -> None:
    state = ServiceState(settings_for(seeded), clock=clock, child_process=True)
    try:
        first = state.published()
        clock.advance(30)
        second = state.published()
        assert second.refreshed_at > first.refreshed_at
        assert second.trades is first.trades  # unchanged: kept, not sent again
        record_trade(seeded, SPY_TRADE)
        clock.advance(30)
        third = state.published().trades
    finally:
        state.close()
    assert (first.trades.count, third.count) == (14, 15)
    assert json.loads(third.select(limit=1)[0])["pnl"] == -4.0  # the newest exit first


@SQLITE
def test_a_lean_service_ends_each_refresh_process_and_counts_every_refresh(
    seeded: Store, clock: Clock
) -> None:
    state = ServiceState(settings_for(seeded), clock=clock, child_process=True, lean=True)
    try:
        first = state.published()
        assert state.refresh_pid is None  # the child ended with its answer
        record_trade(seeded, SPY_TRADE)
        clock.advance(30)
        second = state.published()
        assert state.refresh_pid is None
        scrape = state.metrics_text()
    finally:
        state.close()
    assert (first.trades.count, second.trades.count) == (14, 15)
    # Counted by the serving process: two refreshes, though each child counted only one.
    assert b"harvester_reports_generated_total 2.0" in scrape
    assert b"harvester_refresh_duration_seconds_count 2.0" in scrape


SERVING = """
import json, sys
from fastapi.testclient import TestClient
from harvester.service import ServiceSettings, ServiceState, create_app

state = ServiceState(ServiceSettings(), child_process=True)
state.refresh()
with TestClient(create_app(state, refresh_in_background=True)) as client:
    trades = client.get("/api/trades", params={"symbol": "AAPL"}).json()
    health = client.get("/health").json()
    metrics = client.get("/metrics").text
print(json.dumps({
    "heavy": sorted(m for m in HEAVY if m in sys.modules),
    "trades": trades["count"],
    "status": health["status"],
    "database": health["database"],
    "equity": "harvester_equity_total 1045.0" in metrics,
}))
"""


@SQLITE
def test_the_serving_process_never_imports_pandas_sqlalchemy_or_numpy(
    seeded: Store, tmp_path: Path
) -> None:
    database = f"sqlite:///{seeded.engine.url.database}"
    env = {**os.environ, "HARVESTER_DATABASE_URL": database,
           "HARVESTER_HOME": str(tmp_path / "home")}  # fmt: skip
    env.pop("HARVESTER_REDIS_URL", None)
    code = f"HEAVY = {HEAVY!r}\n{SERVING}"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {
        "heavy": [],
        "trades": 3,
        "status": "ok",
        "database": database,  # resolved from the environment by the child
        "equity": True,
    }


def test_serve_stops_at_start_when_the_child_cannot_read_the_configuration(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("HARVESTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HARVESTER_DATABASE_URL", "mysql://nowhere/db")
    assert main(["serve", "--port", "0"]) != 0
    err = capsys.readouterr().err
    assert "harvester serve cannot read its data" in err
    assert "'mysql' is not supported" in err


def test_the_state_defaults_mirror_the_constants_it_cannot_import() -> None:
    assert service_state.DEFAULT_ACCOUNT == DEFAULT_ACCOUNT
    assert service_state.DEFAULT_WINDOW == DEFAULT_WINDOW
