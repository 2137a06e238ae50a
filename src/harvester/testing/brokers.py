"""A broker that trades like a real one, in memory: orders wait for the next session.

:class:`SessionBroker` implements the broker port as an exchange would treat the daily
step's evening orders: ``submit`` only queues (status ``accepted``, idempotent on the client
id); :meth:`SessionBroker.trade_session` then plays one session's bar — market orders fill
at the open, a stop order at its level or at the open when the bar gaps through it — and
expires every day order still waiting. No fees, no slippage: what it reports is what the bar
says, an independent check of the daily step's orders.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from harvester.core.errors import BrokerRejection
from harvester.domain.orders import BrokerOrder, OrderRequest, OrderStatus
from harvester.live.brokers.base import Account, BrokerPosition, MarketClock

__all__ = ["Bar", "SessionBroker"]

Bar = tuple[float, float, float, float]  # open, high, low, close


class SessionBroker:
    """The in-memory broker of the module docstring."""

    name = "session"

    def __init__(self, cash: float = 100_000.0) -> None:
        self.cash = cash
        self.held: dict[str, float] = {}
        self.orders: dict[str, BrokerOrder] = {}
        self.requests: dict[str, OrderRequest] = {}
        self.submitted = 0  # calls that placed a new order
        self.day: date | None = None
        self.is_open = False
        self._ids = itertools.count(1)

    def submit(self, request: OrderRequest) -> BrokerOrder:
        known = self.orders.get(request.client_order_id)
        if known is not None:
            return known
        if request.time_in_force != "day":
            raise BrokerRejection(f"session broker: only day orders, not {request.time_in_force}")
        order = BrokerOrder(
            client_order_id=request.client_order_id, broker_order_id=f"s{next(self._ids)}",
            symbol=request.symbol, side=request.side, qty=request.qty,
            status=OrderStatus.ACCEPTED, submitted_at=self._now(),
        )  # fmt: skip
        self.orders[request.client_order_id] = order
        self.requests[request.client_order_id] = request
        self.submitted += 1
        return order

    def cancel(self, client_order_id: str) -> BrokerOrder:
        order = self.orders[client_order_id]
        if order.open:
            order = self.orders[client_order_id] = replace(order, status=OrderStatus.CANCELED)
        return order

    def order(self, client_order_id: str) -> BrokerOrder | None:
        return self.orders.get(client_order_id)

    def positions(self) -> list[BrokerPosition]:
        return [BrokerPosition(s, q, math.nan) for s, q in sorted(self.held.items()) if q]

    def account(self) -> Account:
        return Account(equity=self.cash, cash=self.cash, buying_power=self.cash)

    def clock(self) -> MarketClock:
        now = self._now()
        return MarketClock(now, self.is_open, now + timedelta(hours=17), now + timedelta(hours=24))

    def trade_session(self, day: date, bars: dict[str, Bar]) -> None:
        """Play session ``day``: market orders at the open, stops when hit, then expire the
        rest (day orders). Symbols without a bar fill nothing."""
        self.day = day
        waiting = [cid for cid, order in self.orders.items() if order.open]
        for cid in sorted(waiting, key=lambda c: self.requests[c].type != "market"):
            request = self.requests[cid]
            price = self._price(request, bars.get(request.symbol))
            if price is None:
                self.orders[cid] = replace(self.orders[cid], status=OrderStatus.EXPIRED)
                continue
            signed = request.qty if request.side == "buy" else -request.qty
            self.held[request.symbol] = self.held.get(request.symbol, 0.0) + signed
            self.cash -= signed * price
            self.orders[cid] = replace(
                self.orders[cid], status=OrderStatus.FILLED, filled_qty=request.qty,
                filled_avg_price=price, filled_at=self._now(),
            )  # fmt: skip

    @staticmethod
    def _price(request: OrderRequest, bar: Bar | None) -> float | None:
        if bar is None or any(math.isnan(v) for v in bar):
            return None
        open_, high, low, _ = bar
        if request.type == "market":
            return open_
        if request.type != "stop" or request.stop_price is None:
            return None
        level = request.stop_price
        if request.side == "sell" and low <= level:
            return min(open_, level)
        if request.side == "buy" and high >= level:
            return max(open_, level)
        return None

    def _now(self) -> datetime:
        return datetime.combine(self.day or date(2000, 1, 3), time(21), tzinfo=UTC)
