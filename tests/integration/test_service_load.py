"""A 2-second CI variant of ``bench/load_service.py``: no errors under concurrent load.

The service (uvicorn in a thread, the hand-made seed of ``harvester.testing.service_seed``)
gets ``/metrics`` and ``/report`` from three client threads for two seconds; every response
must be a 200 with a body, and both endpoints must have been served.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import ModuleType

import httpx

from harvester.service import ServiceState, create_app
from harvester.store import Store, open_store
from harvester.testing.service_seed import Clock, no_network, seed, serve_in_thread, settings_for

ROOT = Path(__file__).parents[2]


def _module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_two_seconds_of_load_give_no_errors(tmp_path: Path) -> None:
    load = _module("harvester_load_service", ROOT / "bench" / "load_service.py")
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}", environ={})
    seed(store)
    state = ServiceState(
        settings_for(store), http=httpx.Client(transport=httpx.MockTransport(no_network))
    )
    try:
        with serve_in_thread(create_app(state)) as url:
            stats = load.run_load(url, seconds=2.0, threads=3)
    finally:
        state.close()
        store.close()
    assert set(stats) == {"/metrics", "/report"}
    for endpoint, s in stats.items():
        assert s.errors == [], (endpoint, s.errors[:3])
        assert len(s.latencies) > 10, endpoint
    assert stats["/report"].quantile_ms(0.5) > 0


def test_the_load_scripts_store_has_the_journal_it_says(tmp_path: Path) -> None:
    n_trades = 250
    load = _module("harvester_load_service", ROOT / "bench" / "load_service.py")
    load.seed_store(tmp_path / "load.db", n_trades=n_trades, n_symbols=10)
    store = open_store(f"sqlite:///{tmp_path / 'load.db'}", environ={})
    try:
        from harvester.store.repository import journal

        trades = journal(store, account="paper")
    finally:
        store.close()
    assert len(trades) == n_trades
    assert trades["symbol"].nunique() == 10
    # P&L is qty × entry price × return, as the script writes it
    expected = trades["qty"] * trades["entry_price"] * trades["trade_return"]
    assert (trades["pnl"] - expected).abs().max() < 1e-9


def _state(tmp_path: Path, clock: Callable[[], datetime]) -> tuple[ServiceState, Store]:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}", environ={})
    seed(store)
    state = ServiceState(
        settings_for(store),
        clock=clock,
        http=httpx.Client(transport=httpx.MockTransport(no_network)),
    )
    return state, store


def test_a_reader_gets_the_previous_report_while_a_refresh_runs(tmp_path: Path) -> None:
    clock = Clock()
    state, store = _state(tmp_path, clock)
    try:
        first = state.report_json()
        clock.advance(30)  # stale: a reader would refresh, but a refresh is in progress
        holding, release = threading.Event(), threading.Event()

        def refreshing() -> None:
            with state._lock:  # what refresh() holds while it computes
                holding.set()
                release.wait()

        thread = threading.Thread(target=refreshing)
        thread.start()
        holding.wait()
        assert state.report_json() is first  # served at once, not after the refresh
        release.set()
        thread.join()
        assert state.report_json() is not first  # no refresh running now: this one refreshes
        assert json.loads(first)["summary"] == json.loads(state.report_json())["summary"]
    finally:
        state.close()
        store.close()


def test_with_a_background_refresher_requests_never_refresh(tmp_path: Path) -> None:
    clock = Clock()
    state, store = _state(tmp_path, clock)
    try:
        metrics = state.metrics_text()
        state.refresh_on_read = False  # what create_app(..., refresh_in_background=True) sets
        clock.advance(3600)
        assert state.ready()
        assert state.metrics_text() is metrics
        assert b"harvester_reports_generated_total 1.0" in metrics  # one refresh so far
    finally:
        state.close()
        store.close()
