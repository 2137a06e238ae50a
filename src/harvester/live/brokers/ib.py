"""Interactive Brokers behind the broker port, on ib_async, for paper accounts.

TWS or IB Gateway must be running with the API enabled. The paper port (7497) is the
default; the live port (7496) is refused unless ``allow_live=True``.

Idempotence: our ``client_order_id`` travels in the order's ``orderRef``. Before placing,
the session's trades and the completed orders are scanned for that ``orderRef``; a match
is returned instead of placing a second order.

IB's statuses map onto :class:`~harvester.domain.orders.OrderStatus` by :data:`STATUS_MAP`;
an open status with a filled quantity reads as ``partially_filled``. IB reports expired day
orders as ``Cancelled``, so ``expired`` never appears here.

==============================================  ==================
IB                                              harvester
==============================================  ==================
ApiPending, PendingSubmit                       new
PreSubmitted, Submitted, PendingCancel          accepted
Filled (nothing remaining)                      filled
Cancelled, ApiCancelled                         canceled
Inactive, ValidationError                       rejected
==============================================  ==================

IB has no market-clock request: :meth:`IBBroker.clock` takes the server time and the
XNYS exchange calendar.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Protocol

import exchange_calendars as xcals
import pandas as pd
from ib_async import IB, AccountValue, Contract, Order, Position, Stock, Trade

from harvester.core.errors import BrokerRejection, ConfigError, TransientError
from harvester.domain.orders import BrokerOrder, OrderRequest, OrderSide, OrderStatus
from harvester.live.brokers.base import Account, BrokerPosition, MarketClock

__all__ = [
    "LIVE_PORT",
    "PAPER_PORT",
    "STATUS_MAP",
    "IBBroker",
    "IBClient",
    "check_port",
    "map_status",
    "open_ib",
]

log = logging.getLogger(__name__)

PAPER_PORT = 7497
LIVE_PORT = 7496

STATUS_MAP: dict[str, OrderStatus] = {
    "ApiPending": OrderStatus.NEW,
    "PendingSubmit": OrderStatus.NEW,
    "PreSubmitted": OrderStatus.ACCEPTED,
    "Submitted": OrderStatus.ACCEPTED,
    "PendingCancel": OrderStatus.ACCEPTED,
    "ApiUpdate": OrderStatus.ACCEPTED,
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELED,
    "ApiCancelled": OrderStatus.CANCELED,
    "Inactive": OrderStatus.REJECTED,
    "ValidationError": OrderStatus.REJECTED,
}
"""IB order status → ours, before the filled-quantity refinement of :func:`map_status`."""

_TIF = {"day": "DAY", "gtc": "GTC", "opg": "OPG"}
_ON_CLOSE = {"market": "MOC", "limit": "LOC"}
_TYPES = {"market": "MKT", "limit": "LMT", "stop": "STP", "stop_limit": "STP LMT"}


@lru_cache(maxsize=1)
def _nyse() -> xcals.ExchangeCalendar:
    return xcals.get_calendar("XNYS")


class IBClient(Protocol):
    """The part of ``ib_async.IB`` the adapter uses (a fake implements it in tests)."""

    def isConnected(self) -> bool: ...
    def trades(self) -> list[Trade]: ...
    def reqCompletedOrders(self, apiOnly: bool) -> list[Trade]: ...
    def placeOrder(self, contract: Contract, order: Order) -> Trade: ...
    def cancelOrder(self, order: Order, manualCancelOrderTime: str = "") -> Trade | None: ...
    def positions(self, account: str = "") -> list[Position]: ...
    def accountSummary(self, account: str = "") -> list[AccountValue]: ...
    def reqCurrentTime(self) -> datetime: ...
    def sleep(self, secs: float = 0.02) -> bool: ...


def map_status(status: str, *, filled: float, remaining: float) -> OrderStatus:
    """Our status for an IB ``status`` given the filled and remaining quantities."""
    mapped = STATUS_MAP.get(status)
    if mapped is None:
        log.warning("unknown IB order status %r; treating the order as open", status)
        mapped = OrderStatus.ACCEPTED
    if mapped == OrderStatus.FILLED and remaining > 0:
        return OrderStatus.PARTIALLY_FILLED
    if mapped in (OrderStatus.NEW, OrderStatus.ACCEPTED) and filled > 0:
        return OrderStatus.PARTIALLY_FILLED
    return mapped


def check_port(port: int, *, allow_live: bool) -> int:
    """Return ``port``; ConfigError for the live port unless live trading is allowed."""
    if port == LIVE_PORT and not allow_live:
        raise ConfigError(
            f"port {LIVE_PORT} is TWS's live-trading port; use the paper port {PAPER_PORT} "
            "or pass allow_live=True on purpose"
        )
    return port


def _to_ib_order(request: OrderRequest) -> Order:
    order_type = _TYPES[request.type]
    tif = _TIF.get(request.time_in_force, "DAY")
    if request.time_in_force == "cls":
        if request.type not in _ON_CLOSE:
            raise BrokerRejection(
                f"order {request.client_order_id}: IB has no on-close {request.type} order"
            )
        order_type, tif = _ON_CLOSE[request.type], "DAY"
    order = Order(
        action="BUY" if request.side == "buy" else "SELL",
        totalQuantity=request.qty,
        orderType=order_type,
        tif=tif,
        orderRef=request.client_order_id,
    )
    if request.limit_price is not None:
        order.lmtPrice = request.limit_price
    if request.stop_price is not None:
        order.auxPrice = request.stop_price
    return order


def _to_order(trade: Trade) -> BrokerOrder:
    status = trade.orderStatus
    qty = float(trade.order.totalQuantity)
    filled = float(status.filled) if status.filled else sum(f.execution.shares for f in trade.fills)
    remaining = float(status.remaining) if status.status else max(qty - filled, 0.0)
    side: OrderSide = "buy" if trade.order.action.upper() == "BUY" else "sell"
    times = [entry.time for entry in trade.log]
    fill_times = [f.time for f in trade.fills]
    return BrokerOrder(
        client_order_id=trade.order.orderRef,
        broker_order_id=str(trade.order.permId or trade.order.orderId),
        symbol=trade.contract.symbol,
        side=side,
        qty=qty,
        status=map_status(status.status, filled=filled, remaining=remaining),
        filled_qty=filled,
        filled_avg_price=float(status.avgFillPrice) if filled > 0 else None,
        submitted_at=times[0] if times else None,
        filled_at=fill_times[-1] if fill_times and remaining == 0 else None,
    )


class IBBroker:
    """The :class:`~harvester.live.brokers.base.Broker` port on an ib_async ``IB``."""

    name = "ib"

    def __init__(self, ib: IBClient, *, account: str = "", exchange: str = "SMART") -> None:
        self._ib = ib
        self._account = account
        self._exchange = exchange

    def _check(self, what: str) -> None:
        if not self._ib.isConnected():
            raise TransientError(f"not connected to TWS/IB Gateway ({what}); start it and retry")
        self._ib.sleep(0)  # let ib_async process the messages that arrived meanwhile

    def _find(self, client_order_id: str) -> Trade | None:
        for trade in self._ib.trades():
            if trade.order.orderRef == client_order_id:
                return trade
        for trade in self._ib.reqCompletedOrders(apiOnly=True):
            if trade.order.orderRef == client_order_id:
                return trade
        return None

    def submit(self, request: OrderRequest) -> BrokerOrder:
        """Place ``request``, or return the trade already carrying its ``orderRef``."""
        self._check(f"order {request.client_order_id}")
        existing = self._find(request.client_order_id)
        if existing is not None:
            log.info("order %s already at IB; not placed again", request.client_order_id)
            return _to_order(existing)
        contract = Stock(request.symbol, self._exchange, "USD")
        order = _to_ib_order(request)
        if self._account:
            order.account = self._account
        try:
            trade = self._ib.placeOrder(contract, order)
        except ConnectionError as e:
            raise TransientError(f"IB connection lost placing {request.client_order_id}") from e
        return _to_order(trade)

    def order(self, client_order_id: str) -> BrokerOrder | None:
        self._check(f"look up order {client_order_id}")
        trade = self._find(client_order_id)
        return None if trade is None else _to_order(trade)

    def cancel(self, client_order_id: str) -> BrokerOrder:
        self._check(f"cancel order {client_order_id}")
        trade = self._find(client_order_id)
        if trade is None:
            raise BrokerRejection(f"IB has no order {client_order_id} to cancel")
        current = _to_order(trade)
        if current.status.terminal:
            return current
        try:
            after = self._ib.cancelOrder(trade.order)
        except ConnectionError as e:
            raise TransientError(f"IB connection lost cancelling {client_order_id}") from e
        return _to_order(after if after is not None else trade)

    def positions(self) -> list[BrokerPosition]:
        self._check("list positions")
        return [
            BrokerPosition(symbol=p.contract.symbol, qty=float(p.position), avg_price=p.avgCost)
            for p in self._ib.positions(self._account)
            if p.position
        ]

    def account(self) -> Account:
        self._check("read the account")
        values: dict[str, AccountValue] = {}
        for value in self._ib.accountSummary(self._account):
            if value.currency != "BASE" or value.tag not in values:
                values[value.tag] = value
        try:
            net, cash = values["NetLiquidation"], values["TotalCashValue"]
        except KeyError as e:
            raise TransientError(f"IB's account summary lacks {e.args[0]}; retry") from e
        power = values.get("BuyingPower")
        return Account(
            equity=float(net.value),
            cash=float(cash.value),
            buying_power=float(power.value) if power else float(cash.value),
            currency=net.currency if net.currency != "BASE" else "USD",
        )

    def clock(self) -> MarketClock:
        self._check("read the clock")
        now = pd.Timestamp(self._ib.reqCurrentTime())
        now = now.tz_localize(UTC) if now.tzinfo is None else now.tz_convert(UTC)
        minute = now.floor("min")
        with warnings.catch_warnings():
            # exchange_calendars 4.x trips pandas deprecation warnings.
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            calendar = _nyse()
            is_open = bool(calendar.is_open_on_minute(minute))
            next_open = pd.Timestamp(calendar.next_open(minute))
            next_close = pd.Timestamp(calendar.next_close(minute))
        return MarketClock(
            timestamp=now.to_pydatetime(),
            is_open=is_open,
            next_open=next_open.to_pydatetime(),
            next_close=next_close.to_pydatetime(),
        )


def open_ib(
    *,
    environ: Mapping[str, str],
    host: str | None = None,
    port: int | None = None,
    client_id: int | None = None,
    account: str | None = None,
    allow_live: bool = False,
    timeout: float = 10.0,
) -> IBBroker:
    """Connect to TWS/IB Gateway (``IB_HOST``, ``IB_PORT``, ``IB_CLIENT_ID``, ``IB_ACCOUNT``
    in ``environ`` unless given) and return an :class:`IBBroker`."""
    host = host or environ.get("IB_HOST", "127.0.0.1")
    try:
        port = port or int(environ.get("IB_PORT", PAPER_PORT))
        client_id = client_id if client_id is not None else int(environ.get("IB_CLIENT_ID", 1))
    except ValueError:
        raise ConfigError("IB_PORT and IB_CLIENT_ID must be integers") from None
    check_port(port, allow_live=allow_live)
    ib = IB()
    try:
        ib.connect(host, port, clientId=client_id, timeout=timeout)
    except (OSError, TimeoutError) as e:
        raise TransientError(
            f"cannot reach TWS/IB Gateway at {host}:{port} ({type(e).__name__}); is it running "
            "with the API enabled?"
        ) from e
    return IBBroker(ib, account=account or environ.get("IB_ACCOUNT", ""))
