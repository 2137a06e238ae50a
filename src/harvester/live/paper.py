"""The paper broker: fills exactly as the backtest would, and keeps its books in the store.

The daily step (:mod:`harvester.app.daily`) replays the engine up to the session and hands
the paper broker the engine's fill for every order it is about to submit::

    broker.session(day, {client_order_id: PaperFill(qty, price, fee, slippage), ...})
    broker.submit(request)  # books the planned fill of request.client_order_id

so a paper fill's price, fee and slippage are the engine's, by construction: the backtest's
execution model (``execution.costs``) is the only one. An order with no planned fill for the
current session (a hand-typed test order, an order of another session) is **rejected** with
a :class:`~harvester.core.errors.BrokerRejection` that says why; nothing is stored for it.

State lives in the store, under the broker's ``account``: orders in ``orders``, fills in
``fills`` (``broker_fill_id`` = ``paper-<client_order_id>``). Positions and cash are derived
from those fills, so they survive restarts and can never disagree with them. ``submit`` is
idempotent on ``client_order_id``: a resubmitted id returns the stored order; an order that a
crash left open is completed with the same deterministic fill id, never filled twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from harvester.core.errors import BrokerRejection
from harvester.domain.orders import BrokerOrder, OrderRequest, OrderStatus, advance
from harvester.live.brokers.base import Account, BrokerPosition, MarketClock
from harvester.store import Store
from harvester.store.errors import StoreConflictError
from harvester.store.repository import (
    Fill,
    Order,
    RowWrite,
    account_fills,
    fills_of_order,
    order_by_client_id,
    record_fill,
    record_filled_order,
    update_order,
)

__all__ = ["PaperBroker", "PaperFill", "paper_fill_id", "session_time"]

_QTY_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class PaperFill:
    """The engine's fill of one order: quantity (positive), price, fee and slippage paid."""

    qty: float
    price: float
    fee: float = 0.0
    slippage: float = 0.0


def paper_fill_id(broker_name: str, client_order_id: str) -> str:
    """The ``broker_fill_id`` of the (single) fill of ``client_order_id``."""
    return f"{broker_name}-{client_order_id}"


def session_time(day: date) -> datetime:
    """The timestamp stored for a session's orders and fills: the date at 00:00 UTC."""
    return datetime.combine(day, time(), tzinfo=UTC)


def _signed(side: str) -> int:
    return 1 if side == "buy" else -1


class PaperBroker:
    """A :class:`~harvester.live.brokers.base.Broker` that books the engine's fills."""

    def __init__(
        self,
        store: Store,
        *,
        account: str = "paper",
        initial_cash: float = 100_000.0,
        run_id: int | None = None,
        name: str = "paper",
    ) -> None:
        self.name = name
        self.store = store
        self.account_name = account
        self.initial_cash = float(initial_cash)
        self.run_id = run_id
        self._day: date | None = None
        self._planned: dict[str, PaperFill] = {}
        self._marks: dict[str, float] = {}

    # ---- the session ------------------------------------------------------------------

    def session(
        self,
        day: date,
        fills: Mapping[str, PaperFill],
        *,
        marks: Mapping[str, float] | None = None,
    ) -> None:
        """Start session ``day``: the orders it may fill (by client id) with the engine's
        fills, and optional closing prices (``marks``) for the account's equity."""
        self._day = day
        self._planned = dict(fills)
        self._marks = dict(marks or {})

    # ---- the Broker port --------------------------------------------------------------

    def submit(self, request: OrderRequest) -> BrokerOrder:
        """Book ``request`` with its planned fill, or return the order already stored."""
        return self.book(request)[0]

    def book(
        self, request: OrderRequest, writes: Sequence[RowWrite] = ()
    ) -> tuple[BrokerOrder, bool]:
        """:meth:`submit`, and whether the order is new (booked now). ``writes`` (positions,
        the journal) go into the new order's transaction; an order stored before gets none."""
        planned = self._planned.get(request.client_order_id)
        if planned is not None and self._fits(request, planned):
            booked = self._book_new(request, planned, writes)  # the usual case
            if booked is not None:
                return booked, True
        return self._resubmitted(request, planned), False

    def _resubmitted(self, request: OrderRequest, planned: PaperFill | None) -> BrokerOrder:
        """The order ``request`` stored before (completed if a crash left it open)."""
        cid = request.client_order_id
        stored = order_by_client_id(self.store, cid)
        if stored is not None and stored.account != self.account_name:
            raise BrokerRejection(f"order {cid} belongs to account {stored.account!r}")
        if stored is None:
            self._check(request, planned)  # raises: nothing planned, or another quantity
        assert stored is not None
        if OrderStatus(stored.status) in (OrderStatus.NEW, OrderStatus.ACCEPTED) and planned:
            self._book(stored, planned)  # an order a crash of an older version left open
        found = self.order(cid)
        assert found is not None
        return found

    def _book_new(
        self, request: OrderRequest, planned: PaperFill, writes: Sequence[RowWrite]
    ) -> BrokerOrder | None:
        """Store the order, its fill and ``writes`` in one transaction; None if the id was
        taken (then nothing is written)."""
        when = self._when()
        order = Order(
            id=0, client_order_id=request.client_order_id, run_id=self.run_id,
            account=self.account_name, symbol=request.symbol, side=request.side,
            qty=request.qty, order_type=request.type, limit_price=request.limit_price,
            stop_price=request.stop_price, status=OrderStatus.FILLED.value, submitted_at=when,
            updated_at=when, broker_order_id=None,
        )  # fmt: skip
        try:
            stored, fill = record_filled_order(
                self.store, order, fee=planned.fee, price=planned.price, broker_name=self.name,
                broker_fill_id=paper_fill_id(self.name, request.client_order_id), writes=writes,
            )  # fmt: skip
        except StoreConflictError:
            if order_by_client_id(self.store, request.client_order_id) is None:
                raise  # one of ``writes`` was refused, not the order: nothing is stored
            return None
        return self._broker_order(stored, [fill])

    def cancel(self, client_order_id: str) -> BrokerOrder:
        stored = self._stored(client_order_id)
        status = OrderStatus(stored.status)
        if not status.terminal:
            advance(status, OrderStatus.CANCELED)
            update_order(self.store, client_order_id, status=OrderStatus.CANCELED.value)
        found = self.order(client_order_id)
        assert found is not None
        return found

    def order(self, client_order_id: str) -> BrokerOrder | None:
        stored = order_by_client_id(self.store, client_order_id)
        if stored is None or stored.account != self.account_name:
            return None
        return self._broker_order(stored, fills_of_order(self.store, stored.id))

    def _broker_order(self, stored: Order, fills: list[Fill]) -> BrokerOrder:
        filled = sum(f.qty for f in fills)
        average = sum(f.qty * f.price for f in fills) / filled if filled > 0 else None
        return BrokerOrder(
            client_order_id=stored.client_order_id,
            broker_order_id=stored.broker_order_id or f"{self.name}-{stored.id}",
            symbol=stored.symbol, side="buy" if stored.side == "buy" else "sell",
            qty=stored.qty, status=OrderStatus(stored.status), filled_qty=filled,
            filled_avg_price=average, submitted_at=stored.submitted_at,
            filled_at=fills[-1].filled_at if fills else None,
        )  # fmt: skip

    def positions(self) -> list[BrokerPosition]:
        """The account's positions, summed from its stored fills (average cost per share)."""
        held: dict[str, tuple[float, float]] = {}
        fills = account_fills(self.store, account=self.account_name)
        for symbol, side, qty, price in fills[["symbol", "side", "qty", "price"]].itertuples(
            index=False
        ):
            old_qty, old_avg = held.get(symbol, (0.0, 0.0))
            delta = _signed(side) * qty
            new_qty = old_qty + delta
            if abs(new_qty) <= _QTY_TOLERANCE:
                held.pop(symbol, None)
                continue
            if old_qty == 0.0 or (old_qty > 0) != (new_qty > 0):
                avg = price  # opened, or flipped through zero
            elif abs(new_qty) > abs(old_qty):
                avg = (abs(old_qty) * old_avg + abs(delta) * price) / abs(new_qty)
            else:
                avg = old_avg  # reduced: the remaining shares keep their cost
            held[symbol] = (new_qty, avg)
        return [
            BrokerPosition(symbol, qty, avg, qty * self._marks.get(symbol, avg))
            for symbol, (qty, avg) in sorted(held.items())
        ]

    def account(self) -> Account:
        """Cash = initial cash − bought + sold − fees; equity adds positions at the session's
        marks (at their cost when no mark is given)."""
        fills = account_fills(self.store, account=self.account_name)
        signs = fills["side"].map(_signed).astype(float)
        cash = self.initial_cash - float((signs * fills["qty"] * fills["price"]).sum())
        cash -= float(fills["fee"].sum())
        held = sum(p.market_value or 0.0 for p in self.positions())
        return Account(equity=cash + held, cash=cash, buying_power=max(cash, 0.0))

    def clock(self) -> MarketClock:
        """The current session's clock: closed (the step runs after the close)."""
        day = self._day or datetime.now(UTC).date()
        following = day + timedelta(days=1 if day.weekday() < 4 else 7 - day.weekday())
        return MarketClock(
            timestamp=datetime.combine(day, time(21), tzinfo=UTC),
            is_open=False,
            next_open=datetime.combine(following, time(14, 30), tzinfo=UTC),
            next_close=datetime.combine(following, time(21), tzinfo=UTC),
        )

    # ---- helpers ----------------------------------------------------------------------

    def _when(self) -> datetime:
        return session_time(self._day) if self._day is not None else datetime.now(UTC)

    @staticmethod
    def _fits(request: OrderRequest, planned: PaperFill) -> bool:
        return abs(planned.qty - request.qty) <= _QTY_TOLERANCE * max(1.0, request.qty)

    def _check(self, request: OrderRequest, planned: PaperFill | None) -> None:
        cid = request.client_order_id
        if planned is None:
            day = self._day.isoformat() if self._day else "no session"
            raise BrokerRejection(
                f"paper broker: no engine fill planned for order {cid} ({day}); "
                "it fills only the orders the daily step plans"
            )
        if not self._fits(request, planned):
            raise BrokerRejection(
                f"paper broker: order {cid} asks {request.qty:g}, the engine filled {planned.qty:g}"
            )

    def _book(self, stored: Order, planned: PaperFill) -> None:
        record_fill(
            self.store, stored.id, qty=planned.qty, price=planned.price, fee=planned.fee,
            filled_at=self._when(), broker_fill_id=paper_fill_id(self.name, stored.client_order_id),
        )  # fmt: skip
        update_order(
            self.store, stored.client_order_id, status=OrderStatus.FILLED.value,
            broker_order_id=f"{self.name}-{stored.id}",
        )  # fmt: skip

    def _stored(self, client_order_id: str) -> Order:
        stored = order_by_client_id(self.store, client_order_id)
        if stored is None or stored.account != self.account_name:
            raise BrokerRejection(f"paper broker: no order {client_order_id}")
        return stored
