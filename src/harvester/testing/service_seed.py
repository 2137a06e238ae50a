"""A store seeded by hand for the service tests, and a clock the tests move.

Used by ``tests/unit/service`` (its conftest makes fixtures of it) and by the browser, fuzz
and load tests of the service.

The seed (account ``paper``):

- equity 1000, 1100, 990, 1045 on four days: peak 1100, drawdown 0, 0, 0.10, 0.05,
  day P&L -, +100, -110, +55;
- positions AAPL long 10 @ 150 and MSFT short 5 @ 300;
- AAPL trend trades: +30 (take_profit, 1 day), -10 (stop_loss, 2 days), +20 (take_profit,
  1 day); one MSFT chop trade -5 (time_stop); ten SPY trend trades of +10 that capture
  their whole MFE (exit efficiency 1: the partial-ladder rule fires with 10 trades);
- signals of two days (the later: AAPL conviction 0.8, MSFT 0.6) and one scan ranking.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pandas as pd

from harvester.service import ServiceSettings
from harvester.store import Store
from harvester.store.repository import (
    EquitySnapshot,
    Position,
    Trade,
    record_run,
    record_scan_results,
    record_signals,
    record_trade,
    snapshot_equity,
    upsert_position,
)

ACCOUNT = "paper"
EQUITY = (1000.0, 1100.0, 990.0, 1045.0)
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Clock:
    """A settable UTC clock."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _trade(
    symbol: str,
    regime: str,
    reason: str,
    pnl: float,
    ret: float,
    mfe: float,
    mae: float,
    entry: date,
    days: int,
) -> Trade:
    return Trade(
        symbol=symbol,
        side=1,
        entry_date=entry,
        entry_price=100.0,
        exit_date=entry + timedelta(days=days),
        exit_price=100.0 * (1 + ret),
        qty=10.0,
        pnl=pnl,
        trade_return=ret,
        exit_reason=reason,
        bars_held=days,
        account=ACCOUNT,
        regime=regime,
        mfe=mfe,
        mae=mae,
    )


def _seed_trades(store: Store) -> None:
    d = date(2024, 1, 2)
    for t in (
        _trade("AAPL", "trend", "take_profit", 30.0, 0.03, 0.04, -0.01, d, 1),
        _trade("AAPL", "trend", "stop_loss", -10.0, -0.01, 0.01, -0.02, date(2024, 1, 4), 2),
        _trade("AAPL", "trend", "take_profit", 20.0, 0.02, 0.02, 0.0, date(2024, 1, 8), 1),
        _trade("MSFT", "chop", "time_stop", -5.0, -0.005, 0.01, -0.01, date(2024, 1, 3), 2),
    ):
        record_trade(store, t)
    for i in range(10):
        record_trade(
            store,
            _trade(
                "SPY",
                "trend",
                "take_profit",
                10.0,
                0.02,
                0.02,
                -0.005,
                date(2024, 2, 1) + timedelta(days=i),
                1,
            ),
        )


def _seed_signals(store: Store) -> None:
    run = record_run(store, "scan", started_at=T0)
    frame = pd.DataFrame(
        {
            "date": ["2024-02-28", "2024-02-29", "2024-02-29"],
            "symbol": ["AAPL", "AAPL", "MSFT"],
            "strategy": ["panic"] * 3,
            "direction": [1, 1, -1],
            "score": [1.0, 2.0, 1.5],
            "conviction": [0.5, 0.8, 0.6],
        }
    )
    record_signals(store, run, frame)
    ranking = pd.DataFrame({"symbol": ["NVDA", "AAPL"], "score": [3.0, 2.0]})
    record_scan_results(store, run, date(2024, 2, 29), ranking)


def seed(store: Store) -> None:
    """Write the module docstring's rows."""
    for i, equity in enumerate(EQUITY):
        snapshot_equity(
            store,
            EquitySnapshot(
                date(2024, 2, 26) + timedelta(days=i),
                equity,
                cash=equity,
                exposure=0.0,
                unrealised_pnl=0.0,
                account=ACCOUNT,
            ),
        )
    upsert_position(store, Position("AAPL", 1, 10.0, 150.0, T0, account=ACCOUNT))
    upsert_position(store, Position("MSFT", -1, 5.0, 300.0, T0, account=ACCOUNT))
    _seed_trades(store)
    _seed_signals(store)


def settings_for(store: Store, **changes: object) -> ServiceSettings:
    """Service settings reading ``store`` (its real URL, password included)."""
    return ServiceSettings(database=store.engine.url, account=ACCOUNT, **changes)  # type: ignore[arg-type]


def no_network(request: httpx.Request) -> httpx.Response:
    """An httpx transport handler that refuses every request (tests run offline)."""
    raise httpx.ConnectError("no network in tests", request=request)


@contextlib.contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """An ASGI ``app`` served by uvicorn in a thread on a free loopback port: yields its URL.

    The socket listens before the thread starts, so the first requests wait in the backlog
    instead of failing; nothing polls for readiness.
    """
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
