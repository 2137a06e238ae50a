"""IBBroker against a fake ``IB`` holding real ib_async value objects: no TWS, no network."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from ib_async import AccountValue, Contract, Order, Position, Stock, Trade
from ib_async import OrderStatus as IBStatus
from ib_async.objects import CommissionReport, Execution, Fill, TradeLogEntry

from harvester.core.errors import BrokerRejection, ConfigError, TransientError
from harvester.domain.orders import OrderRequest, OrderStatus
from harvester.live.brokers.ib import IBBroker, check_port, map_status, open_ib

CID = "hv-daily-SPY-20240102-entry"
T0 = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)


@dataclass
class FakeIB:
    """The slice of ``ib_async.IB`` the adapter calls, answering from memory."""

    connected: bool = True
    session_trades: list[Trade] = field(default_factory=list)
    completed: list[Trade] = field(default_factory=list)
    placed: list[tuple[Contract, Order]] = field(default_factory=list)
    cancelled: list[Order] = field(default_factory=list)
    held: list[Position] = field(default_factory=list)
    summary: list[AccountValue] = field(default_factory=list)
    now: datetime = T0
    pumps: int = 0

    def isConnected(self) -> bool:
        return self.connected

    def trades(self) -> list[Trade]:
        return list(self.session_trades)

    def reqCompletedOrders(self, apiOnly: bool) -> list[Trade]:
        assert apiOnly
        return list(self.completed)

    def placeOrder(self, contract: Contract, order: Order) -> Trade:
        self.placed.append((contract, order))
        order.orderId, order.permId = 7, 9000 + len(self.placed)
        trade = Trade(
            contract, order, IBStatus(orderId=7, status="PendingSubmit"),
            log=[TradeLogEntry(T0, "PendingSubmit")],
        )  # fmt: skip
        self.session_trades.append(trade)
        return trade

    def cancelOrder(self, order: Order, manualCancelOrderTime: str = "") -> Trade | None:
        self.cancelled.append(order)
        for trade in self.session_trades:
            if trade.order is order:
                trade.orderStatus.status = "PendingCancel"
                return trade
        return None

    def positions(self, account: str = "") -> list[Position]:
        return list(self.held)

    def accountSummary(self, account: str = "") -> list[AccountValue]:
        return list(self.summary)

    def reqCurrentTime(self) -> datetime:
        return self.now

    def sleep(self, secs: float = 0.02) -> bool:
        assert secs == 0
        self.pumps += 1
        return True


def spy(**changes: object) -> OrderRequest:
    fields: dict[str, object] = {"client_order_id": CID, "symbol": "SPY", "side": "buy", "qty": 2}
    fields.update(changes)
    return OrderRequest(**fields)  # type: ignore[arg-type]


def filled_trade(ref: str, price: float = 470.5) -> Trade:
    order = Order(
        orderId=3, permId=555, action="BUY", totalQuantity=2, orderType="MKT", orderRef=ref
    )
    status = IBStatus(orderId=3, status="Filled", filled=2, remaining=0, avgFillPrice=price)
    fill = Fill(
        Stock("SPY", "SMART", "USD"), Execution(shares=2, price=price), CommissionReport(), time=T0
    )
    return Trade(
        Stock("SPY", "SMART", "USD"), order, status, [fill], [TradeLogEntry(T0, "Submitted")]
    )


def test_submit_places_an_order_carrying_our_id_in_order_ref() -> None:
    ib = FakeIB()
    placed = IBBroker(ib).submit(spy())
    contract, order = ib.placed[0]
    assert (contract.symbol, contract.exchange, contract.currency) == ("SPY", "SMART", "USD")
    assert (order.action, order.totalQuantity, order.orderType, order.tif) == (
        "BUY",
        2,
        "MKT",
        "DAY",
    )
    assert order.orderRef == CID
    assert placed.client_order_id == CID and placed.status == OrderStatus.NEW
    assert placed.broker_order_id == "9001" and placed.submitted_at == T0


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"type": "limit", "limit_price": 470.5}, ("LMT", "DAY", 470.5, None)),
        (
            {"type": "stop", "stop_price": 460.0, "time_in_force": "gtc"},
            ("STP", "GTC", None, 460.0),
        ),
        (
            {"type": "stop_limit", "stop_price": 460, "limit_price": 459},
            ("STP LMT", "DAY", 459, 460),
        ),
        ({"time_in_force": "opg"}, ("MKT", "OPG", None, None)),
        ({"time_in_force": "cls"}, ("MOC", "DAY", None, None)),
        ({"type": "limit", "limit_price": 1.0, "time_in_force": "cls"}, ("LOC", "DAY", 1.0, None)),
    ],
)
def test_order_types(changes: dict[str, object], expected: tuple[object, ...]) -> None:
    ib = FakeIB()
    IBBroker(ib).submit(spy(**changes))
    order = ib.placed[0][1]
    lmt = order.lmtPrice if expected[2] is not None else None
    aux = order.auxPrice if expected[3] is not None else None
    assert (order.orderType, order.tif, lmt, aux) == expected


def test_a_stop_on_close_is_refused() -> None:
    with pytest.raises(BrokerRejection, match="on-close stop"):
        IBBroker(FakeIB()).submit(spy(type="stop", stop_price=1.0, time_in_force="cls"))


def test_duplicate_submit_in_the_session_places_nothing() -> None:
    ib = FakeIB()
    broker = IBBroker(ib)
    first = broker.submit(spy())
    second = broker.submit(spy())
    assert len(ib.placed) == 1 and second == first


def test_duplicate_submit_after_a_restart_finds_the_completed_order() -> None:
    ib = FakeIB(completed=[filled_trade("other"), filled_trade(CID, 471.0)])
    again = IBBroker(ib).submit(spy())
    assert ib.placed == []
    assert again.status == OrderStatus.FILLED and again.filled_avg_price == 471.0
    assert again.filled_qty == 2 and again.filled_at == T0 and again.broker_order_id == "555"


def test_order_lookup() -> None:
    ib = FakeIB(completed=[filled_trade(CID)])
    broker = IBBroker(ib)
    assert broker.order("hv-unknown") is None
    found = broker.order(CID)
    assert found is not None and found.status == OrderStatus.FILLED
    assert ib.pumps == 2  # the event loop ran before each look-up


def test_cancel_open_then_terminal() -> None:
    ib = FakeIB()
    broker = IBBroker(ib)
    broker.submit(spy())
    assert broker.cancel(CID).status == OrderStatus.ACCEPTED  # PendingCancel until IB confirms
    assert len(ib.cancelled) == 1
    ib.session_trades[0].orderStatus.status = "Cancelled"
    assert broker.cancel(CID).status == OrderStatus.CANCELED
    assert len(ib.cancelled) == 1  # a terminal order is not cancelled again
    with pytest.raises(BrokerRejection, match="no order hv-x"):
        broker.cancel("hv-x")


def test_positions_skip_flat_ones() -> None:
    ib = FakeIB(
        held=[
            Position("DU1", Stock("AAPL"), 10.0, 180.25),
            Position("DU1", Stock("TSLA"), -4.0, 250.0),
            Position("DU1", Stock("MSFT"), 0.0, 0.0),
        ]
    )
    got = [(p.symbol, p.qty, p.avg_price) for p in IBBroker(ib).positions()]
    assert got == [("AAPL", 10.0, 180.25), ("TSLA", -4.0, 250.0)]


def test_account_from_the_summary() -> None:
    ib = FakeIB(
        summary=[
            AccountValue("DU1", "NetLiquidation", "1000010.5", "USD", ""),
            AccountValue("DU1", "TotalCashValue", "990000", "USD", ""),
            AccountValue("DU1", "BuyingPower", "3960000", "USD", ""),
            AccountValue("DU1", "AccountType", "INDIVIDUAL", "", ""),
        ]
    )
    account = IBBroker(ib).account()
    assert (account.equity, account.cash, account.buying_power, account.currency) == (
        1000010.5, 990000.0, 3960000.0, "USD",
    )  # fmt: skip
    with pytest.raises(TransientError, match="NetLiquidation"):
        IBBroker(FakeIB()).account()


def test_clock_from_server_time_and_the_nyse_calendar() -> None:
    # Tuesday 2 Jan 2024, 10:00 New York: open; closes 16:00, next opens Wed 09:30.
    clock = IBBroker(FakeIB()).clock()
    assert clock.is_open and clock.timestamp == T0
    assert clock.next_close == datetime(2024, 1, 2, 21, 0, tzinfo=UTC)
    assert clock.next_open == datetime(2024, 1, 3, 14, 30, tzinfo=UTC)
    # Friday 29 Mar 2024 (Good Friday) is a holiday: next open Monday 1 Apr 09:30 EDT.
    closed = IBBroker(FakeIB(now=datetime(2024, 3, 29, 15, 0, tzinfo=UTC))).clock()
    assert not closed.is_open and closed.next_open == datetime(2024, 4, 1, 13, 30, tzinfo=UTC)


def test_disconnected_is_transient() -> None:
    with pytest.raises(TransientError, match="not connected"):
        IBBroker(FakeIB(connected=False)).submit(spy())


@pytest.mark.parametrize(
    ("status", "filled", "remaining", "expected"),
    [
        ("PendingSubmit", 0, 2, OrderStatus.NEW),
        ("ApiPending", 0, 2, OrderStatus.NEW),
        ("PreSubmitted", 0, 2, OrderStatus.ACCEPTED),
        ("Submitted", 0, 2, OrderStatus.ACCEPTED),
        ("Submitted", 1, 1, OrderStatus.PARTIALLY_FILLED),
        ("PendingCancel", 0, 2, OrderStatus.ACCEPTED),
        ("Filled", 2, 0, OrderStatus.FILLED),
        ("Cancelled", 1, 1, OrderStatus.CANCELED),
        ("ApiCancelled", 0, 2, OrderStatus.CANCELED),
        ("Inactive", 0, 2, OrderStatus.REJECTED),
        ("Whatever", 0, 2, OrderStatus.ACCEPTED),
    ],
)
def test_status_mapping(
    status: str, filled: float, remaining: float, expected: OrderStatus
) -> None:
    assert map_status(status, filled=filled, remaining=remaining) == expected


def test_the_live_port_is_refused_unless_allowed() -> None:
    assert check_port(7497, allow_live=False) == 7497
    assert check_port(7496, allow_live=True) == 7496
    with pytest.raises(ConfigError, match="7496 is TWS's live-trading port"):
        check_port(7496, allow_live=False)
    with pytest.raises(ConfigError, match="live-trading port"):
        open_ib(environ={"IB_PORT": "7496"})  # refused before any connection attempt
    with pytest.raises(ConfigError, match="integers"):
        open_ib(environ={"IB_PORT": "paper"})
