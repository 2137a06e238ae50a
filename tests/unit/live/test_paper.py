"""The paper broker: books the planned (engine's) fill, idempotent, state in the store."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from harvester.core.errors import BrokerRejection
from harvester.domain.orders import OrderRequest, OrderStatus
from harvester.live.paper import PaperBroker, PaperFill
from harvester.store import Store
from harvester.store.errors import StoreConflictError
from harvester.store.repository import (
    ClosePosition,
    Position,
    Trade,
    UpsertPosition,
    account_fills,
    open_positions,
    record_order,
    upsert_position,
)

DAY = date(2017, 3, 1)


def _broker(store: Store, planned: dict[str, PaperFill]) -> PaperBroker:
    broker = PaperBroker(store, account="paper", initial_cash=10_000.0)
    broker.session(DAY, planned, marks={"AAPL": 12.0})
    return broker


def test_fills_with_the_planned_price_and_fee(store: Store) -> None:
    broker = _broker(store, {"a1": PaperFill(10.0, 11.0, fee=0.5, slippage=0.1)})
    order = broker.submit(OrderRequest("a1", "AAPL", "buy", 10.0))
    assert order.status is OrderStatus.FILLED
    assert (order.filled_qty, order.filled_avg_price) == (10.0, 11.0)
    account = broker.account()
    assert account.cash == pytest.approx(10_000 - 110 - 0.5)  # bought 10 @ 11, fee 0.5
    assert account.equity == pytest.approx(10_000 - 110 - 0.5 + 120)  # marked at 12


def test_a_resubmitted_id_returns_the_stored_order_and_never_fills_twice(store: Store) -> None:
    broker = _broker(store, {"a1": PaperFill(10.0, 11.0)})
    first = broker.submit(OrderRequest("a1", "AAPL", "buy", 10.0))
    again = broker.submit(OrderRequest("a1", "AAPL", "buy", 10.0))
    assert again == first
    assert len(account_fills(store, account="paper")) == 1


def test_state_survives_a_restart(store: Store) -> None:
    broker = _broker(store, {"a1": PaperFill(10.0, 11.0), "a2": PaperFill(4.0, 13.0)})
    broker.submit(OrderRequest("a1", "AAPL", "buy", 10.0))
    broker.submit(OrderRequest("a2", "AAPL", "sell", 4.0))
    restarted = PaperBroker(store, account="paper", initial_cash=10_000.0)
    [position] = restarted.positions()
    assert (position.symbol, position.qty, position.avg_price) == ("AAPL", 6.0, 11.0)
    assert restarted.account().cash == pytest.approx(10_000 - 110 + 52)
    assert restarted.order("a2") == broker.order("a2")


def test_an_order_a_crash_left_open_is_completed_once(store: Store) -> None:
    record_order(store, client_order_id="a1", symbol="AAPL", side="buy", qty=10.0,
                 account="paper")  # fmt: skip
    broker = _broker(store, {"a1": PaperFill(10.0, 11.0)})
    assert broker.submit(OrderRequest("a1", "AAPL", "buy", 10.0)).status is OrderStatus.FILLED
    broker.submit(OrderRequest("a1", "AAPL", "buy", 10.0))
    assert len(account_fills(store, account="paper")) == 1


def test_an_unplanned_order_is_rejected_with_a_reason(store: Store) -> None:
    broker = _broker(store, {})
    with pytest.raises(BrokerRejection, match="no engine fill planned for order x1"):
        broker.submit(OrderRequest("x1", "AAPL", "buy", 1.0))
    assert broker.order("x1") is None


def test_a_quantity_other_than_the_engine_fill_is_rejected(store: Store) -> None:
    broker = _broker(store, {"a1": PaperFill(10.0, 11.0)})
    with pytest.raises(BrokerRejection, match="asks 3, the engine filled 10"):
        broker.submit(OrderRequest("a1", "AAPL", "buy", 3.0))


def test_cancel_an_open_order_and_leave_a_filled_one(store: Store) -> None:
    record_order(store, client_order_id="o1", symbol="AAPL", side="buy", qty=1.0,
                 account="paper")  # fmt: skip
    broker = _broker(store, {"a1": PaperFill(1.0, 11.0)})
    assert broker.cancel("o1").status is OrderStatus.CANCELED
    broker.submit(OrderRequest("a1", "AAPL", "buy", 1.0))
    assert broker.cancel("a1").status is OrderStatus.FILLED
    with pytest.raises(BrokerRejection, match="no order"):
        broker.cancel("nope")


def test_clock_is_closed_after_the_session(store: Store) -> None:
    clock = _broker(store, {}).clock()
    assert not clock.is_open and clock.next_open.date() == date(2017, 3, 2)


def _row(symbol: str, qty: float) -> Position:
    opened = datetime(2017, 3, 1, tzinfo=UTC)
    return Position(
        symbol=symbol, side=1, qty=qty, avg_price=11.0, opened_at=opened, account="paper",
        strategy="s",
    )  # fmt: skip


def test_book_writes_the_rows_with_a_new_order_and_none_with_a_stored_one(store: Store) -> None:
    broker = _broker(store, {"a1": PaperFill(10.0, 11.0)})
    order, new = broker.book(
        OrderRequest("a1", "AAPL", "buy", 10.0), [UpsertPosition(_row("AAPL", 10.0))]
    )
    assert new and order.status is OrderStatus.FILLED and order.filled_avg_price == 11.0
    assert [(p.symbol, p.qty) for p in open_positions(store, account="paper")] == [("AAPL", 10.0)]
    again, new = broker.book(
        OrderRequest("a1", "AAPL", "buy", 10.0), [ClosePosition("AAPL", "s", "paper")]
    )
    assert not new and again == order
    assert len(open_positions(store, account="paper")) == 1  # the close was not written
    assert len(account_fills(store, account="paper")) == 1


def test_an_order_and_its_rows_are_one_transaction(store: Store) -> None:
    broker = _broker(store, {"a1": PaperFill(10.0, 11.0), "a2": PaperFill(10.0, 11.0)})
    broker.book(OrderRequest("a1", "AAPL", "buy", 10.0))
    # The exit's journal trade is refused (its run does not exist): no order, fill or close.
    trade = Trade(
        symbol="AAPL", side=1, entry_date=DAY, entry_price=11.0, exit_date=DAY, exit_price=11.0,
        qty=10.0, pnl=0.0, trade_return=0.0, exit_reason="stop", bars_held=1, strategy="s",
        account="paper", run_id=999,
    )  # fmt: skip
    upsert_position(store, _row("AAPL", 10.0))
    with pytest.raises(StoreConflictError):
        broker.book(
            OrderRequest("a2", "AAPL", "sell", 10.0), [ClosePosition("AAPL", "s", "paper", trade)]
        )
    assert broker.order("a2") is None
    assert len(account_fills(store, account="paper")) == 1
    assert [p.symbol for p in open_positions(store, account="paper")] == ["AAPL"]
