"""Orders as value types shared by the paper broker, the broker adapters and the store.

An :class:`OrderRequest` is what we ask a broker to do; a :class:`BrokerOrder` is the
broker's view of it afterwards. The status of an order changes only along
:data:`TRANSITIONS` (:func:`advance` refuses anything else), whichever broker reports it.

Every request carries a ``client_order_id`` derived from (run, symbol, session date,
intent) by :func:`client_order_id`: submitting the same intent twice gives the same id, so
a broker (or the store) recognises the repeat instead of placing a second order.

Examples
--------
>>> from datetime import date
>>> client_order_id("daily", "AAPL", date(2024, 1, 2), "entry")
'hv-daily-AAPL-20240102-entry'
>>> advance(OrderStatus.NEW, OrderStatus.FILLED)
<OrderStatus.FILLED: 'filled'>
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from harvester.core.errors import BrokerRejection

__all__ = [
    "TRANSITIONS",
    "BrokerOrder",
    "OrderRequest",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "TimeInForce",
    "advance",
    "client_order_id",
]

OrderSide = Literal["buy", "sell"]
OrderType = Literal["market", "limit", "stop", "stop_limit"]
TimeInForce = Literal["day", "gtc", "opg", "cls"]

_UNSAFE = re.compile(r"[^A-Za-z0-9.]")
_MAX_ID = 48  # Alpaca accepts up to 48 characters; IB's orderRef is longer


class OrderStatus(StrEnum):
    """Where an order stands; terminal ones never change again."""

    NEW = "new"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)
_OPEN = (OrderStatus.NEW, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.NEW: frozenset(set(OrderStatus) - {OrderStatus.NEW}),
    OrderStatus.ACCEPTED: frozenset(set(OrderStatus) - {OrderStatus.NEW, OrderStatus.ACCEPTED}),
    OrderStatus.PARTIALLY_FILLED: frozenset(
        {
            OrderStatus.PARTIALLY_FILLED,
            OrderStatus.FILLED,
            OrderStatus.CANCELED,
            OrderStatus.EXPIRED,
        }
    ),
    **{status: frozenset() for status in _TERMINAL},
}
"""The statuses each status may move to (staying put is allowed only for partial fills)."""


def advance(current: OrderStatus, new: OrderStatus) -> OrderStatus:
    """Return ``new`` if an order may move there from ``current``; else BrokerRejection."""
    if new == current and new != OrderStatus.PARTIALLY_FILLED and not new.terminal:
        return new  # a repeated report of the same open status
    if new not in TRANSITIONS[current]:
        raise BrokerRejection(f"an order cannot go from {current.value} to {new.value}")
    return new


def client_order_id(run: str, symbol: str, day: date, intent: str) -> str:
    """The id of the order ``intent`` (entry, exit, stop, ...) of ``symbol`` on ``day`` in
    ``run``: readable when short, hashed to fit brokers' length limits when not."""
    text = f"hv-{_UNSAFE.sub('', run)}-{_UNSAFE.sub('', symbol)}-{day:%Y%m%d}-{intent}"
    if len(text) <= _MAX_ID:
        return text
    digest = hashlib.sha256(f"{run}|{symbol}|{day}|{intent}".encode()).hexdigest()[:16]
    return f"{text[: _MAX_ID - 17]}-{digest}"


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What we ask a broker for. ``qty`` is positive; ``side`` gives the direction."""

    client_order_id: str
    symbol: str
    side: OrderSide
    qty: float
    type: OrderType = "market"
    time_in_force: TimeInForce = "day"
    limit_price: float | None = None
    stop_price: float | None = None

    def __post_init__(self) -> None:
        if not self.qty > 0:
            raise BrokerRejection(f"order {self.client_order_id}: qty must be positive")
        if self.type in ("limit", "stop_limit") and self.limit_price is None:
            raise BrokerRejection(f"order {self.client_order_id}: a {self.type} needs a limit")
        if self.type in ("stop", "stop_limit") and self.stop_price is None:
            raise BrokerRejection(f"order {self.client_order_id}: a {self.type} needs a stop")


@dataclass(frozen=True, slots=True)
class BrokerOrder:
    """A broker's view of one of our orders."""

    client_order_id: str
    broker_order_id: str
    symbol: str
    side: OrderSide
    qty: float
    status: OrderStatus
    filled_qty: float = 0.0
    filled_avg_price: float | None = None
    submitted_at: datetime | None = None
    filled_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.status in _OPEN
