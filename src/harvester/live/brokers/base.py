"""The broker port: what the daily job needs from any broker, paper or real.

Adapters (paper, Alpaca, Interactive Brokers) implement :class:`Broker`. ``submit`` is
idempotent on the request's ``client_order_id``: submitting an id the broker already knows
returns that order instead of placing another (a rerun after a crash places nothing twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from harvester.domain.orders import BrokerOrder, OrderRequest

__all__ = ["Account", "Broker", "BrokerPosition", "MarketClock"]


@dataclass(frozen=True, slots=True)
class BrokerPosition:
    """A position as the broker holds it (``qty`` negative when short)."""

    symbol: str
    qty: float
    avg_price: float
    market_value: float | None = None


@dataclass(frozen=True, slots=True)
class Account:
    """The account's money: equity, cash and buying power in its currency."""

    equity: float
    cash: float
    buying_power: float
    currency: str = "USD"


@dataclass(frozen=True, slots=True)
class MarketClock:
    """The broker's clock: now, whether the market is open, and the next open and close."""

    timestamp: datetime
    is_open: bool
    next_open: datetime
    next_close: datetime


class Broker(Protocol):
    """Submit, cancel and inspect orders; read positions, the account and the clock."""

    name: str

    def submit(self, request: OrderRequest) -> BrokerOrder:
        """Place ``request``, or return the order already placed under its client id."""
        ...

    def cancel(self, client_order_id: str) -> BrokerOrder:
        """Cancel an open order; a terminal one is returned unchanged."""
        ...

    def order(self, client_order_id: str) -> BrokerOrder | None:
        """The order placed under ``client_order_id``, or None."""
        ...

    def positions(self) -> list[BrokerPosition]: ...

    def account(self) -> Account: ...

    def clock(self) -> MarketClock: ...
