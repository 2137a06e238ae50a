"""``run_test_order``: the poll loop with a fake broker and a fake clock (no sleeping)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest

from harvester.app.broker import open_test_broker, run_test_order
from harvester.core.errors import ConfigError
from harvester.domain.orders import BrokerOrder, OrderRequest, OrderStatus
from harvester.live.brokers.base import Account, BrokerPosition, MarketClock

T0 = datetime(2024, 1, 2, 15, 0, 5, tzinfo=UTC)


@dataclass
class Clock:
    t: datetime = T0
    sleeps: list[float] = field(default_factory=list)

    def now(self) -> datetime:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += timedelta(seconds=seconds)


@dataclass
class ScriptedBroker:
    """Reports the statuses of ``script`` one per look-up, then stays on the last."""

    script: list[OrderStatus]
    name: str = "fake"
    placed: list[OrderRequest] = field(default_factory=list)
    cancels: int = 0
    current: BrokerOrder | None = None

    def submit(self, request: OrderRequest) -> BrokerOrder:
        self.placed.append(request)
        self.current = BrokerOrder(
            request.client_order_id, "B1", request.symbol, request.side, request.qty,
            OrderStatus.NEW, submitted_at=T0,
        )  # fmt: skip
        return self.current

    def order(self, client_order_id: str) -> BrokerOrder | None:
        assert self.current is not None
        status = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        filled = status == OrderStatus.FILLED
        self.current = replace(
            self.current, status=status, filled_qty=self.current.qty if filled else 0.0,
            filled_avg_price=470.25 if filled else None,
        )  # fmt: skip
        return self.current

    def cancel(self, client_order_id: str) -> BrokerOrder:
        assert self.current is not None
        self.cancels += 1
        self.current = replace(self.current, status=OrderStatus.CANCELED)
        return self.current

    def positions(self) -> list[BrokerPosition]:
        return []

    def account(self) -> Account:
        return Account(0.0, 0.0, 0.0)

    def clock(self) -> MarketClock:
        return MarketClock(T0, True, T0, T0)


def test_a_fill_is_reported_with_its_path_price_and_latency() -> None:
    clock = Clock()
    broker = ScriptedBroker([OrderStatus.ACCEPTED, OrderStatus.FILLED])
    trip = run_test_order(broker, interval_s=0.5, now=clock.now, sleep=clock.sleep)
    (request,) = broker.placed
    assert (request.symbol, request.qty, request.side, request.type) == (
        "SPY",
        1.0,
        "buy",
        "market",
    )
    assert request.time_in_force == "day"
    assert trip.client_order_id == "hv-testorder-SPY-20240102-t150005"
    assert trip.status_path == "new -> accepted -> filled"
    assert trip.fill_price == 470.25 and not trip.canceled_by_us
    assert clock.sleeps == [0.5, 0.5] and trip.elapsed_s == 1.0
    assert trip.submitted_at == T0 and broker.cancels == 0


def test_an_order_still_open_at_the_timeout_is_cancelled() -> None:
    clock = Clock()
    broker = ScriptedBroker([OrderStatus.ACCEPTED])
    trip = run_test_order(broker, timeout_s=3, interval_s=1, now=clock.now, sleep=clock.sleep)
    assert len(clock.sleeps) == 3 and broker.cancels == 1
    assert trip.status_path == "new -> accepted -> canceled"
    assert trip.canceled_by_us and trip.fill_price is None
    assert "cancelled it" in trip.notes[0]


def test_zero_timeout_cancels_without_polling() -> None:
    clock = Clock()
    broker = ScriptedBroker([OrderStatus.FILLED])
    trip = run_test_order(broker, timeout_s=0, now=clock.now, sleep=clock.sleep)
    assert clock.sleeps == [] and trip.canceled_by_us


def test_live_brokers_are_refused_for_test_orders() -> None:
    with pytest.raises(ConfigError, match="paper brokers only"):
        open_test_broker("alpaca-live", environ={})
