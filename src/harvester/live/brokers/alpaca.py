"""Alpaca behind the broker port, on alpaca-py's ``TradingClient``.

Paper trading is the default; the live endpoint is used only when asked for
(``paper=False``, broker name ``alpaca-live``). Credentials come from the environment
(:data:`KEY_ENV` / :data:`SECRET_ENV`, or alpaca's own ``*_ID`` names) and are never logged.

Idempotence: every order is sent with our ``client_order_id``. When Alpaca answers that the
id is already taken (HTTP 422 ``client_order_id must be unique``), the order placed under it
is fetched (``get_order_by_client_id``) and returned, so a rerun places nothing twice.

Alpaca's statuses map onto :class:`~harvester.domain.orders.OrderStatus` by
:data:`STATUS_MAP`; an open status with a filled quantity reads as ``partially_filled``.

=====================================================================  ==================
Alpaca                                                                 harvester
=====================================================================  ==================
pending_new                                                            new
new, accepted, accepted_for_bidding, pending_review, pending_cancel,   accepted
pending_replace, held, stopped, suspended, done_for_day
partially_filled                                                       partially_filled
filled; calculated with the whole quantity filled                      filled
canceled, replaced                                                     canceled
expired                                                                expired
rejected                                                               rejected
=====================================================================  ==================

Errors: 401 (and a bare 403 ``forbidden``) → :class:`ConfigError` naming the key
variables; 429, 5xx, timeouts and dropped connections → :class:`TransientError`; any
other 4xx (including 403 "insufficient buying power") → :class:`BrokerRejection` with
Alpaca's message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import AssetClass, AssetStatus
from alpaca.trading.enums import OrderSide as AlpacaSide
from alpaca.trading.enums import OrderStatus as AlpacaStatus
from alpaca.trading.enums import TimeInForce as AlpacaTif
from alpaca.trading.models import Asset, Clock, Order, Position, TradeAccount
from alpaca.trading.requests import (
    GetAssetsRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    StopLimitOrderRequest,
    StopOrderRequest,
)
from alpaca.trading.requests import OrderRequest as AlpacaOrderRequest

from harvester.core.errors import BrokerRejection, ConfigError, TransientError
from harvester.domain.orders import BrokerOrder, OrderRequest, OrderSide, OrderStatus
from harvester.live.brokers.base import Account, BrokerPosition, MarketClock

__all__ = [
    "KEY_ENV",
    "SECRET_ENV",
    "STATUS_MAP",
    "AlpacaBroker",
    "alpaca_credentials",
    "map_status",
    "open_alpaca",
]

log = logging.getLogger(__name__)

KEY_ENV = "ALPACA_API_KEY"
SECRET_ENV = "ALPACA_SECRET_KEY"
_KEY_NAMES = (KEY_ENV, "ALPACA_API_KEY_ID", "APCA_API_KEY_ID")
_SECRET_NAMES = (SECRET_ENV, "ALPACA_API_SECRET_KEY", "APCA_API_SECRET_KEY")
_DUPLICATE = "client_order_id must be unique"

STATUS_MAP: dict[str, OrderStatus] = {
    "pending_new": OrderStatus.NEW,
    "new": OrderStatus.ACCEPTED,
    "accepted": OrderStatus.ACCEPTED,
    "accepted_for_bidding": OrderStatus.ACCEPTED,
    "pending_review": OrderStatus.ACCEPTED,
    "pending_cancel": OrderStatus.ACCEPTED,
    "pending_replace": OrderStatus.ACCEPTED,
    "held": OrderStatus.ACCEPTED,
    "stopped": OrderStatus.ACCEPTED,
    "suspended": OrderStatus.ACCEPTED,
    "done_for_day": OrderStatus.ACCEPTED,
    "calculated": OrderStatus.ACCEPTED,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "replaced": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}
"""Alpaca order status → ours, before the filled-quantity refinement of :func:`map_status`."""

_TIF = {
    "day": AlpacaTif.DAY,
    "gtc": AlpacaTif.GTC,
    "opg": AlpacaTif.OPG,
    "cls": AlpacaTif.CLS,
}

T = TypeVar("T")


def map_status(status: str, *, qty: float, filled_qty: float) -> OrderStatus:
    """Our status for an Alpaca ``status`` given the ordered and filled quantities."""
    mapped = STATUS_MAP.get(status)
    if mapped is None:
        log.warning("unknown Alpaca order status %r; treating the order as open", status)
        mapped = OrderStatus.ACCEPTED
    if status == "calculated" and qty > 0 and filled_qty >= qty:
        return OrderStatus.FILLED
    if mapped in (OrderStatus.NEW, OrderStatus.ACCEPTED) and filled_qty > 0:
        return OrderStatus.PARTIALLY_FILLED
    return mapped


def alpaca_credentials(environ: Mapping[str, str]) -> tuple[str, str]:
    """The API key and secret from ``environ``; ConfigError naming the variables if unset."""
    key = next((environ[n] for n in _KEY_NAMES if environ.get(n)), None)
    secret = next((environ[n] for n in _SECRET_NAMES if environ.get(n)), None)
    if not key or not secret:
        raise ConfigError(
            f"Alpaca credentials are missing: set {KEY_ENV} and {SECRET_ENV} "
            "(environment or .env); paper keys come from the paper dashboard"
        )
    return key, secret


def _message(error: APIError) -> str:
    text = str(error)
    try:
        body = json.loads(text)
    except ValueError:
        return text.strip() or "no message"
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return text.strip() or "no message"


def _translate(error: APIError, what: str) -> Exception:
    status = error.status_code
    message = _message(error)
    if status == 401 or (status == 403 and message.strip(". ").lower() in ("forbidden", "")):
        return ConfigError(
            f"Alpaca refused the credentials while trying to {what} (HTTP {status}: {message}); "
            f"check {KEY_ENV} and {SECRET_ENV} and that they match the paper/live endpoint"
        )
    if status is None or status == 429 or status >= 500:
        return TransientError(f"Alpaca is unavailable ({what}: HTTP {status}: {message}); retry")
    return BrokerRejection(f"Alpaca rejected {what} (HTTP {status}): {message}")


@contextmanager
def _errors(what: str) -> Iterator[None]:
    try:
        yield
    except APIError as e:
        raise _translate(e, what) from e
    except (requests.Timeout, requests.ConnectionError) as e:
        raise TransientError(f"Alpaca did not answer ({what}): {type(e).__name__}; retry") from e


def _call(what: str, fn: Callable[[], T]) -> T:
    with _errors(what):
        return fn()
    raise AssertionError("unreachable")  # pragma: no cover - for mypy


def _float(value: object) -> float:
    return 0.0 if value is None else float(str(value))


def _optional_float(value: object) -> float | None:
    return None if value is None else float(str(value))


def _to_request(request: OrderRequest) -> AlpacaOrderRequest:
    common: dict[str, Any] = {
        "symbol": request.symbol,
        "qty": request.qty,
        "side": AlpacaSide.BUY if request.side == "buy" else AlpacaSide.SELL,
        "time_in_force": _TIF[request.time_in_force],
        "client_order_id": request.client_order_id,
    }
    if request.type == "market":
        return MarketOrderRequest(**common)
    if request.type == "limit":
        return LimitOrderRequest(**common, limit_price=request.limit_price)
    if request.type == "stop":
        return StopOrderRequest(**common, stop_price=request.stop_price)
    return StopLimitOrderRequest(
        **common, limit_price=request.limit_price, stop_price=request.stop_price
    )


def _to_order(order: Order) -> BrokerOrder:
    qty = _float(order.qty)
    filled = _float(order.filled_qty)
    status = order.status.value if isinstance(order.status, AlpacaStatus) else str(order.status)
    side: OrderSide = "buy" if order.side == AlpacaSide.BUY else "sell"
    return BrokerOrder(
        client_order_id=order.client_order_id,
        broker_order_id=str(order.id),
        symbol=order.symbol or "",
        side=side,
        qty=qty,
        status=map_status(status, qty=qty, filled_qty=filled),
        filled_qty=filled,
        filled_avg_price=_optional_float(order.filled_avg_price),
        submitted_at=order.submitted_at,
        filled_at=order.filled_at,
    )


def _as(kind: type[T], value: object) -> T:
    if not isinstance(value, kind):
        raise TransientError(f"Alpaca answered with {type(value).__name__}, not {kind.__name__}")
    return value


class AlpacaBroker:
    """The :class:`~harvester.live.brokers.base.Broker` port on an alpaca-py client."""

    def __init__(self, client: TradingClient, *, paper: bool = True) -> None:
        self._client = client
        self.paper = paper
        self.name = "alpaca" if paper else "alpaca-live"

    def submit(self, request: OrderRequest) -> BrokerOrder:
        """Place ``request``; if its client id is taken, return the order placed under it."""
        what = f"order {request.client_order_id}"
        try:
            with _errors(what):
                placed = self._client.submit_order(_to_request(request))
        except BrokerRejection as e:
            if _DUPLICATE not in str(e).lower():
                raise
            existing = self.order(request.client_order_id)
            if existing is None:
                raise TransientError(f"Alpaca knows {what} but did not return it; retry") from e
            log.info("order %s already at Alpaca; not placed again", request.client_order_id)
            return existing
        return _to_order(_as(Order, placed))

    def order(self, client_order_id: str) -> BrokerOrder | None:
        """The order placed under ``client_order_id``, or None when Alpaca has none."""
        with _errors(f"look up order {client_order_id}"):
            try:
                found = self._client.get_order_by_client_id(client_order_id)
            except APIError as e:
                if e.status_code == 404:
                    return None
                raise
        return _to_order(_as(Order, found))

    def cancel(self, client_order_id: str) -> BrokerOrder:
        """Cancel an open order and return it as Alpaca then reports it."""
        current = self.order(client_order_id)
        if current is None:
            raise BrokerRejection(f"Alpaca has no order {client_order_id} to cancel")
        if current.status.terminal:
            return current
        try:
            with _errors(f"cancel order {client_order_id}"):
                self._client.cancel_order_by_id(current.broker_order_id)
        except BrokerRejection:
            pass  # not cancelable any more (filled meanwhile): report what it became
        after = self.order(client_order_id)
        return current if after is None else after

    def positions(self) -> list[BrokerPosition]:
        rows = _call("list positions", self._client.get_all_positions)
        return [_to_position(_as(Position, row)) for row in _as(list, rows)]

    def account(self) -> Account:
        account = _as(TradeAccount, _call("read the account", self._client.get_account))
        return Account(
            equity=_float(account.equity),
            cash=_float(account.cash),
            buying_power=_float(account.buying_power),
            currency=account.currency or "USD",
        )

    def clock(self) -> MarketClock:
        clock = _as(Clock, _call("read the market clock", self._client.get_clock))
        return MarketClock(
            timestamp=clock.timestamp,
            is_open=clock.is_open,
            next_open=clock.next_open,
            next_close=clock.next_close,
        )

    def asset_symbols(self) -> list[str]:
        """Tradable, active US equities, sorted: the screener's ``alpaca_equity`` universe."""
        query = GetAssetsRequest(status=AssetStatus.ACTIVE, asset_class=AssetClass.US_EQUITY)
        assets = _call("list assets", lambda: self._client.get_all_assets(query))
        rows = [_as(Asset, a) for a in _as(list, assets)]
        return sorted({a.symbol for a in rows if a.tradable})


def _to_position(position: Position) -> BrokerPosition:
    qty = abs(_float(position.qty))
    side = getattr(position.side, "value", position.side)
    return BrokerPosition(
        symbol=position.symbol,
        qty=-qty if side == "short" else qty,
        avg_price=_float(position.avg_entry_price),
        market_value=_optional_float(position.market_value),
    )


def open_alpaca(
    *,
    environ: Mapping[str, str],
    paper: bool = True,
    client_factory: Callable[..., TradingClient] = TradingClient,
) -> AlpacaBroker:
    """An :class:`AlpacaBroker` on the paper endpoint (or live when ``paper=False``)."""
    key, secret = alpaca_credentials(environ)
    client = client_factory(api_key=key, secret_key=secret, paper=paper)
    log.info("Alpaca broker on the %s endpoint", "paper" if paper else "LIVE")
    return AlpacaBroker(client, paper=paper)
