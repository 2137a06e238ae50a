"""``broker test-order``: one small paper order through a real broker, and its round trip.

The Python brain's one-off check that keys, endpoint and order flow work: submit one order
(default 1 share of SPY at market, day), poll until it reaches a terminal status or the
timeout passes, cancel it if it is still open, and report what happened. An order the broker
refuses outright (:class:`~harvester.core.errors.BrokerRejection`) is a round trip too, ending
``rejected`` with the reason as a note: the ``paper`` broker (offline, on the store) refuses
every order the daily step did not plan, so its test order checks the store and the order
path and ends there, with nothing stored. The clock and the
pause between polls are injected, so the loop runs without real waiting under test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from harvester.core.errors import BrokerRejection, ConfigError
from harvester.domain.orders import BrokerOrder, OrderRequest, OrderStatus, client_order_id
from harvester.live.brokers.base import Broker
from harvester.live.brokers.registry import open_broker

__all__ = ["TEST_ORDER_BROKERS", "RoundTrip", "open_test_broker", "run_test_order"]

TEST_ORDER_BROKERS = ("alpaca", "ib", "paper")
"""Brokers the test order may go to: paper endpoints only, never a live one."""


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """What one test order did: ids, when it went, the statuses it passed, fill and latency."""

    broker: str
    client_order_id: str
    broker_order_id: str
    symbol: str
    qty: float
    submitted_at: datetime
    acknowledged_s: float
    statuses: tuple[OrderStatus, ...]
    final: BrokerOrder
    elapsed_s: float
    canceled_by_us: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def fill_price(self) -> float | None:
        return self.final.filled_avg_price

    @property
    def status_path(self) -> str:
        return " -> ".join(s.value for s in self.statuses)


def open_test_broker(name: str, *, environ: Mapping[str, str], **options: Any) -> Broker:
    """Open a paper broker for the test order; live endpoints are refused here."""
    if name not in TEST_ORDER_BROKERS:
        raise ConfigError(
            f"test orders go to paper brokers only: {', '.join(TEST_ORDER_BROKERS)}, not {name!r}"
        )
    return open_broker(name, environ=environ, **options)


def _rejected(request: OrderRequest, at: datetime) -> BrokerOrder:
    return BrokerOrder(
        client_order_id=request.client_order_id, broker_order_id="-", symbol=request.symbol,
        side=request.side, qty=request.qty, status=OrderStatus.REJECTED, submitted_at=at,
    )  # fmt: skip


def _utc_now() -> datetime:
    return datetime.now(UTC)


def run_test_order(
    broker: Broker,
    *,
    symbol: str = "SPY",
    qty: float = 1.0,
    side: str = "buy",
    timeout_s: float = 30.0,
    interval_s: float = 1.0,
    now: Callable[[], datetime] = _utc_now,
    sleep: Callable[[float], None] = time.sleep,
    run: str = "testorder",
) -> RoundTrip:
    """Submit one market day order, wait for a terminal status (or cancel it), report."""
    start = now()
    request = OrderRequest(
        client_order_id=client_order_id(run, symbol, start.date(), f"t{start:%H%M%S}"),
        symbol=symbol,
        side="sell" if side == "sell" else "buy",
        qty=qty,
    )
    notes: list[str] = []
    try:
        order = broker.submit(request)
    except BrokerRejection as error:
        order = _rejected(request, start)
        notes.append(f"rejected: {error}")
    acknowledged = (now() - start).total_seconds()
    statuses = [order.status]

    def seen(o: BrokerOrder) -> BrokerOrder:
        if o.status != statuses[-1]:
            statuses.append(o.status)
        return o

    while not order.status.terminal and (now() - start).total_seconds() < timeout_s:
        sleep(interval_s)
        found = broker.order(request.client_order_id)
        if found is None:
            notes.append("the broker did not return the order on one poll")
            continue
        order = seen(found)
    canceled = False
    if not order.status.terminal:
        notes.append(f"still {order.status.value} after {timeout_s:g} s; cancelled it")
        order = seen(broker.cancel(request.client_order_id))
        canceled = True
    return RoundTrip(
        broker=broker.name,
        client_order_id=request.client_order_id,
        broker_order_id=order.broker_order_id,
        symbol=symbol,
        qty=qty,
        submitted_at=order.submitted_at or start,
        acknowledged_s=acknowledged,
        statuses=tuple(statuses),
        final=order,
        elapsed_s=(now() - start).total_seconds(),
        canceled_by_us=canceled,
        notes=tuple(notes),
    )
