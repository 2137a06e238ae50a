"""The daily step with a real broker: orders for the next open, sent after the close.

The paper broker books the engine's fills of the session that just closed
(:mod:`harvester.live.daily`). A real broker cannot fill the past: after the close of session
``d`` it is sent what the engine will do at ``d + 1``'s open, and a protective stop for each
position kept through that open. Each evening, for every symbol of the strategy's universe:

1. **reconcile**: orders sent earlier and still open in the store are looked up at the broker;
   a finished one (filled, canceled, expired, rejected) gets its status and, when it traded,
   one fill at the broker's average price (``broker_fill_id`` = ``<broker>-<client id>``);
2. **target**: the engine's position after the next open, ``target`` — the position now, or
   what its pending order leaves (0 after an exit, ±qty after an entry or a reversal);
3. **order**: a market day order for ``target − held`` where ``held`` is what the broker
   holds, so one order also repairs any drift (a target the broker never saw, a partial fill).
   Its intent is the engine's reason (``entry``, ``signal``, ``time``, ...) or ``sync`` when
   the engine has no order and only drift is repaired; a reversal is two orders, the exit
   and the ``entry`` (brokers refuse one order that flips a position). Brokers queue a market
   day order sent after the close for the next open (Alpaca, Interactive Brokers);
4. **stop**: a stop day order for a position the engine keeps through the open, at its
   stop, or at its trailing stop when that is tighter.

Client order ids are ``client_order_id(run, symbol, d, intent)``: a rerun of the evening
finds the broker's positions unchanged (the orders wait for the open), computes the same
orders and ids, and places nothing twice.

Worked example: the engine holds 100 AAPL with stop 180 and a trailing stop 184, and has no
order; the broker holds 100. ``target − held`` is 0, so no market order; one stop order
sells 100 at 184. Had the broker held 60 (a partial fill), a ``sync`` buy of 40 goes first.

Not placed at the broker: the engine's take-profit targets and scale-outs (a second resting
exit would need an OCO order class) and the stop of a position opened at the next open (its
level depends on the fill). The engine still takes them in its replay; the next evening's
``target − held`` order brings the broker to the engine's book.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from harvester.core.errors import BrokerRejection
from harvester.domain.orders import (
    BrokerOrder,
    OrderRequest,
    OrderSide,
    OrderStatus,
    client_order_id,
)
from harvester.live.brokers.base import Broker
from harvester.live.paper import paper_fill_id, session_time
from harvester.store import Store
from harvester.store.repository import (
    Order,
    account_orders,
    order_by_client_id,
    record_fill,
    record_order,
    update_order,
)

__all__ = [
    "Holding",
    "NextSession",
    "next_orders",
    "reconcile_orders",
    "record_and_submit",
    "send_next_orders",
    "sync_status",
]

_TINY = 1e-9
_FINISHED = {status.value for status in OrderStatus if status.terminal}


@dataclass(frozen=True, slots=True)
class Holding:
    """The engine's book for one symbol after the close (see the module docstring)."""

    symbol: str
    position: float  # signed quantity held after the close
    target: float  # signed quantity after the next open's order
    intent: str  # the pending order's reason, or "" when the engine has none
    stop: float | None  # the protective stop of a position kept through the open


@dataclass(frozen=True, slots=True)
class NextSession:
    """One evening with a real broker: what was reconciled, sent and refused, and the drift."""

    day: date
    reconciled: tuple[BrokerOrder, ...]
    orders: tuple[BrokerOrder, ...]
    rejected: tuple[tuple[str, str], ...]
    drift: tuple[tuple[str, float, float], ...]  # (symbol, engine position, broker position)


def next_orders(
    holdings: Iterable[Holding], held: Mapping[str, float], *, run: str, day: date
) -> tuple[OrderRequest, ...]:
    """The market orders that bring ``held`` to each holding's target, then the stops."""
    moves: list[OrderRequest] = []
    stops: list[OrderRequest] = []
    for h in holdings:
        now = held.get(h.symbol, 0.0)
        if now * h.target < 0.0:  # a reversal: brokers refuse one order that flips a position
            moves.append(_market(run, h, day, h.intent or "sync", -now))
            moves.append(_market(run, h, day, "entry", h.target))
        elif abs(h.target - now) > _TINY * max(abs(h.target), 1.0):
            moves.append(_market(run, h, day, h.intent or "sync", h.target - now))
        keeps = h.target != 0.0 and math.copysign(1.0, h.target) == math.copysign(1.0, h.position)
        if h.stop is not None and h.position != 0.0 and keeps:
            cid = client_order_id(run, h.symbol, day, "stop")
            side: OrderSide = "sell" if h.target > 0 else "buy"
            stops.append(
                OrderRequest(cid, h.symbol, side, abs(h.target), type="stop", stop_price=h.stop)
            )
    return (*moves, *stops)


def _market(run: str, h: Holding, day: date, intent: str, delta: float) -> OrderRequest:
    cid = client_order_id(run, h.symbol, day, intent)
    return OrderRequest(cid, h.symbol, "buy" if delta > 0 else "sell", abs(delta))


def reconcile_orders(store: Store, broker: Broker, *, account: str) -> tuple[BrokerOrder, ...]:
    """Record the outcome of every order of ``account`` the store still has open."""
    finished = []
    for stored in account_orders(store, account=account):
        if stored.status in _FINISHED:
            continue
        order = broker.order(stored.client_order_id)
        if order is None or not order.status.terminal:
            continue
        _record_outcome(store, broker, stored, order)
        finished.append(order)
    return tuple(finished)


def _record_outcome(store: Store, broker: Broker, stored: Order, order: BrokerOrder) -> None:
    if order.filled_qty > 0 and order.filled_avg_price is not None:
        record_fill(
            store, stored.id, qty=order.filled_qty, price=order.filled_avg_price,
            filled_at=order.filled_at or order.submitted_at,
            broker_fill_id=paper_fill_id(broker.name, stored.client_order_id),
        )  # fmt: skip
    sync_status(store, stored, order)


def record_and_submit(
    store: Store, broker: Broker, request: OrderRequest, *, day: date, account: str,
    run_id: int | None,
) -> tuple[Order, BrokerOrder]:  # fmt: skip
    """Store ``request`` (a stored id is found, not added), then send it: a crash between
    the two leaves an order the rerun sends under the same id, which the broker recognises."""
    stored = record_order(
        store, client_order_id=request.client_order_id, symbol=request.symbol,
        side=request.side, qty=request.qty, order_type=request.type,
        stop_price=request.stop_price, run_id=run_id, account=account,
        submitted_at=session_time(day),
    )  # fmt: skip
    return stored, broker.submit(request)


def sync_status(store: Store, stored: Order, order: BrokerOrder) -> None:
    """Store the broker's status and id of ``order`` when they changed."""
    if stored.status != order.status.value or stored.broker_order_id != order.broker_order_id:
        update_order(
            store, stored.client_order_id, status=order.status.value,
            broker_order_id=order.broker_order_id,
        )  # fmt: skip


def _send(
    store: Store, broker: Broker, request: OrderRequest, *, day: date, account: str,
    run_id: int | None,
) -> BrokerOrder:  # fmt: skip
    stored, order = record_and_submit(
        store, broker, request, day=day, account=account, run_id=run_id
    )
    if order.status.terminal:
        _record_outcome(store, broker, stored, order)
    else:
        sync_status(store, stored, order)
    return order


def send_next_orders(
    store: Store, broker: Broker, holdings: Iterable[Holding], *, day: date, run: str,
    account: str, run_id: int | None = None,
) -> NextSession:  # fmt: skip
    """Reconcile, then send the orders for the open after ``day`` (module docstring).

    Each order is stored before it is sent, so a crash between the two leaves an order the
    rerun finds and sends under the same id.
    """
    book = list(holdings)
    reconciled = reconcile_orders(store, broker, account=account)
    held = {p.symbol: p.qty for p in broker.positions()}
    drift = tuple(
        (h.symbol, h.position, held.get(h.symbol, 0.0))
        for h in book
        if abs(h.position - held.get(h.symbol, 0.0)) > _TINY * max(abs(h.position), 1.0)
    )
    orders: list[BrokerOrder] = []
    rejected: list[tuple[str, str]] = []
    for request in next_orders(book, held, run=run, day=day):
        try:
            orders.append(_send(store, broker, request, day=day, account=account, run_id=run_id))
        except BrokerRejection as error:
            if order_by_client_id(store, request.client_order_id) is not None:
                update_order(store, request.client_order_id, status="rejected")
            rejected.append((request.client_order_id, str(error)))
    return NextSession(day, reconciled, tuple(orders), tuple(rejected), drift)
