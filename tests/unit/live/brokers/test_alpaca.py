"""AlpacaBroker against canned Alpaca responses through alpaca-py's real client."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import requests
from alpaca.trading.client import TradingClient

from harvester.core.errors import BrokerRejection, ConfigError, TransientError
from harvester.domain.orders import OrderRequest, OrderStatus, client_order_id
from harvester.live.brokers.alpaca import (
    STATUS_MAP,
    AlpacaBroker,
    alpaca_credentials,
    map_status,
    open_alpaca,
)

CID = "hv-daily-SPY-20240102-entry"
BROKER_ID = "61e69015-8549-4bfd-b9c3-01e75843f47d"
ORDER_PATH = "/orders:by_client_order_id"


def spy(**changes: Any) -> OrderRequest:
    fields: dict[str, Any] = {"client_order_id": CID, "symbol": "SPY", "side": "buy", "qty": 1}
    fields.update(changes)
    return OrderRequest(**fields)


@pytest.fixture
def broker(trading_client: TradingClient) -> AlpacaBroker:
    return AlpacaBroker(trading_client)


def test_client_order_id_of_the_domain_is_the_one_used_here() -> None:
    assert client_order_id("daily", "SPY", date(2024, 1, 2), "entry") == CID


def test_submit_sends_a_market_order_with_our_client_id(
    broker: AlpacaBroker, session: Any, canned: Any
) -> None:
    session.reply("POST", "/orders", 200, canned.order())
    placed = broker.submit(spy())
    _, url, body = session.calls[0]
    assert url == "https://paper-api.alpaca.markets/v2/orders"
    assert body == {
        "symbol": "SPY", "qty": 1.0, "side": "buy", "type": "market",
        "time_in_force": "day", "client_order_id": CID,
    }  # fmt: skip
    assert placed.client_order_id == CID and placed.broker_order_id == BROKER_ID
    assert placed.status == OrderStatus.ACCEPTED and placed.open
    assert placed.submitted_at == datetime(2024, 1, 2, 14, 30, 0, 125000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"type": "limit", "limit_price": 470.5}, {"type": "limit", "limit_price": 470.5}),
        ({"type": "stop", "stop_price": 460.0}, {"type": "stop", "stop_price": 460.0}),
        (
            {"type": "stop_limit", "stop_price": 460.0, "limit_price": 459.0},
            {"type": "stop_limit", "stop_price": 460.0, "limit_price": 459.0},
        ),
        ({"side": "sell", "time_in_force": "gtc"}, {"side": "sell", "time_in_force": "gtc"}),
    ],
)
def test_order_types_map_to_alpaca_requests(
    broker: AlpacaBroker,
    session: Any,
    canned: Any,
    changes: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    session.reply("POST", "/orders", 200, canned.order())
    broker.submit(spy(**changes))
    body = session.calls[0][2]
    assert {k: body[k] for k in expected} == expected
    assert body["client_order_id"] == CID


def test_duplicate_submit_returns_the_existing_order(
    broker: AlpacaBroker, session: Any, canned: Any
) -> None:
    duplicate = {"code": 40010001, "message": "client_order_id must be unique"}
    session.reply("POST", "/orders", 422, duplicate)
    session.reply(
        "GET",
        ORDER_PATH,
        200,
        canned.order(status="filled", filled_qty="1", filled_avg_price="471.23"),
    )
    again = broker.submit(spy())
    assert [c[0] for c in session.calls] == ["POST", "GET"]
    assert session.calls[1][2] == {"client_order_id": CID}
    assert again.status == OrderStatus.FILLED
    assert again.filled_avg_price == pytest.approx(471.23) and again.filled_qty == 1.0


def test_order_lookup_of_an_unknown_id_is_none(broker: AlpacaBroker, session: Any) -> None:
    session.reply("GET", ORDER_PATH, 404, {"code": 40410000, "message": "order not found"})
    assert broker.order("hv-nope") is None


def test_cancel_an_open_order(broker: AlpacaBroker, session: Any, canned: Any) -> None:
    session.reply("GET", ORDER_PATH, 200, canned.order(status="new"))
    session.reply("DELETE", f"/orders/{BROKER_ID}", 204, None)
    session.reply("GET", ORDER_PATH, 200, canned.order(status="canceled"))
    assert broker.cancel(CID).status == OrderStatus.CANCELED


def test_cancel_a_filled_order_returns_it_unchanged(
    broker: AlpacaBroker, session: Any, canned: Any
) -> None:
    session.reply(
        "GET",
        ORDER_PATH,
        200,
        canned.order(status="filled", filled_qty="1", filled_avg_price="470"),
    )
    assert broker.cancel(CID).status == OrderStatus.FILLED
    assert len(session.calls) == 1  # no DELETE sent


def test_cancel_loses_the_race_to_a_fill(broker: AlpacaBroker, session: Any, canned: Any) -> None:
    session.reply("GET", ORDER_PATH, 200, canned.order(status="new"))
    session.reply(
        "DELETE",
        f"/orders/{BROKER_ID}",
        422,
        {"code": 42210000, "message": "order is not cancelable"},
    )
    session.reply(
        "GET",
        ORDER_PATH,
        200,
        canned.order(status="filled", filled_qty="1", filled_avg_price="470"),
    )
    assert broker.cancel(CID).status == OrderStatus.FILLED


def test_positions_long_and_short(broker: AlpacaBroker, session: Any, canned: Any) -> None:
    session.reply("GET", "/positions", 200, canned.load("positions.json"))
    longs, shorts = broker.positions()
    assert (longs.symbol, longs.qty, longs.avg_price, longs.market_value) == (
        "AAPL",
        10.0,
        180.25,
        1850.0,
    )
    assert (shorts.symbol, shorts.qty, shorts.avg_price) == ("TSLA", -4.0, 250.0)


def test_account(broker: AlpacaBroker, session: Any, canned: Any) -> None:
    session.reply("GET", "/account", 200, canned.load("account.json"))
    account = broker.account()
    assert (account.equity, account.cash, account.buying_power, account.currency) == (
        101234.56, 100000.25, 200000.5, "USD",
    )  # fmt: skip


def test_clock(broker: AlpacaBroker, session: Any, canned: Any) -> None:
    session.reply("GET", "/clock", 200, canned.load("clock.json"))
    clock = broker.clock()
    assert clock.is_open
    assert clock.timestamp == datetime(2024, 1, 2, 15, 15, tzinfo=UTC)
    assert clock.next_close == datetime(2024, 1, 2, 21, 0, tzinfo=UTC)
    assert clock.next_open == datetime(2024, 1, 3, 14, 30, tzinfo=UTC)


def test_asset_symbols_are_the_tradable_ones(
    broker: AlpacaBroker, session: Any, canned: Any
) -> None:
    session.reply("GET", "/assets", 200, canned.load("assets.json"))
    assert broker.asset_symbols() == ["AAPL", "BRK.B", "TSLA"]
    assert session.calls[0][2] == {"status": "active", "asset_class": "us_equity"}


@pytest.mark.parametrize(
    ("status", "body", "error", "words"),
    [
        (
            401,
            {"code": 40110000, "message": "request is not authorized"},
            ConfigError,
            "ALPACA_API_KEY",
        ),
        (403, {"message": "forbidden."}, ConfigError, "ALPACA_SECRET_KEY"),
        (
            403,
            {"code": 40310000, "message": "insufficient buying power"},
            BrokerRejection,
            "insufficient buying power",
        ),
        (422, {"code": 40010001, "message": "qty must be > 0"}, BrokerRejection, "qty must be > 0"),
        (429, {"message": "too many requests."}, TransientError, "429"),
        (500, {"message": "internal server error"}, TransientError, "500"),
        (503, None, TransientError, "503"),
    ],
)
def test_error_mapping_on_submit(
    broker: AlpacaBroker, session: Any, status: int, body: Any, error: type[Exception], words: str
) -> None:
    session.reply("POST", "/orders", status, body)
    with pytest.raises(error, match=words):
        broker.submit(spy())


@pytest.mark.parametrize("failure", [requests.Timeout, requests.ConnectionError])
def test_timeouts_and_dropped_connections_are_transient(
    broker: AlpacaBroker, session: Any, failure: type[Exception]
) -> None:
    session.fail("GET", "/account", failure)
    with pytest.raises(TransientError, match="retry"):
        broker.account()


def test_auth_errors_never_show_the_secret(broker: AlpacaBroker, session: Any) -> None:
    session.reply("GET", "/clock", 401, {"message": "unauthorized."})
    with pytest.raises(ConfigError) as info:
        broker.clock()
    assert "test-secret" not in str(info.value) and "PKTESTKEY" not in str(info.value)


@pytest.mark.parametrize(
    ("status", "qty", "filled", "expected"),
    [
        ("pending_new", 10, 0, OrderStatus.NEW),
        ("new", 10, 0, OrderStatus.ACCEPTED),
        ("accepted", 10, 0, OrderStatus.ACCEPTED),
        ("new", 10, 3, OrderStatus.PARTIALLY_FILLED),
        ("pending_cancel", 10, 0, OrderStatus.ACCEPTED),
        ("done_for_day", 10, 4, OrderStatus.PARTIALLY_FILLED),
        ("partially_filled", 10, 4, OrderStatus.PARTIALLY_FILLED),
        ("filled", 10, 10, OrderStatus.FILLED),
        ("calculated", 10, 10, OrderStatus.FILLED),
        ("calculated", 10, 6, OrderStatus.PARTIALLY_FILLED),
        ("canceled", 10, 0, OrderStatus.CANCELED),
        ("canceled", 10, 4, OrderStatus.CANCELED),
        ("replaced", 10, 0, OrderStatus.CANCELED),
        ("expired", 10, 0, OrderStatus.EXPIRED),
        ("rejected", 10, 0, OrderStatus.REJECTED),
        ("some_future_status", 10, 0, OrderStatus.ACCEPTED),
    ],
)
def test_status_mapping(status: str, qty: float, filled: float, expected: OrderStatus) -> None:
    assert map_status(status, qty=qty, filled_qty=filled) == expected


def test_every_alpaca_status_is_mapped() -> None:
    from alpaca.trading.enums import OrderStatus as AlpacaStatus

    assert {s.value for s in AlpacaStatus} <= set(STATUS_MAP)


def test_credentials_come_from_the_environment_and_are_required() -> None:
    assert alpaca_credentials({"ALPACA_API_KEY": "k", "ALPACA_SECRET_KEY": "s"}) == ("k", "s")
    assert alpaca_credentials({"ALPACA_API_KEY_ID": "k", "ALPACA_API_SECRET_KEY": "s"}) == (
        "k",
        "s",
    )
    with pytest.raises(ConfigError, match="ALPACA_API_KEY and ALPACA_SECRET_KEY"):
        alpaca_credentials({"ALPACA_API_KEY": "k"})


def test_open_alpaca_is_paper_unless_asked() -> None:
    made: list[dict[str, Any]] = []

    def factory(**kwargs: Any) -> TradingClient:
        made.append(kwargs)
        return TradingClient(kwargs["api_key"], kwargs["secret_key"], paper=kwargs["paper"])

    env = {"ALPACA_API_KEY": "k", "ALPACA_SECRET_KEY": "s"}
    paper = open_alpaca(environ=env, client_factory=factory)
    live = open_alpaca(environ=env, paper=False, client_factory=factory)
    assert (paper.name, live.name) == ("alpaca", "alpaca-live")
    assert [m["paper"] for m in made] == [True, False]
