"""The Alpaca adapter follows pagination, sends its keys as headers and maps errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from harvester.core.errors import ConfigError, DataError
from harvester.data.providers import AlpacaProvider, MarketDataProvider

FIXTURES = Path(__file__).parents[3] / "fixtures" / "providers"
KEY_ID = "PKTESTKEYID0001"
SECRET_KEY = "alpaca-secret-7d1e"
Handler = Callable[[httpx.Request], httpx.Response]


def _payload(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _fetch(handler: Handler, symbol: str = "AAPL") -> pd.DataFrame:
    async def go() -> pd.DataFrame:
        provider = AlpacaProvider(KEY_ID, SECRET_KEY)
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await provider.fetch_daily(client, symbol, date(2024, 1, 1), date(2024, 7, 31))

    return asyncio.run(go())


def _two_pages(seen: list[httpx.Request]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        token = request.url.params.get("page_token")
        name = "alpaca_bars_aapl_page2.json" if token else "alpaca_bars_aapl_page1.json"
        return httpx.Response(200, json=_payload(name))

    return handler


def test_alpaca_provider_satisfies_the_port_and_hides_the_keys() -> None:
    provider = AlpacaProvider(KEY_ID, SECRET_KEY)

    assert isinstance(provider, MarketDataProvider)
    assert provider.name == "alpaca"
    assert KEY_ID not in repr(provider) and SECRET_KEY not in repr(provider)


def test_fetch_daily_follows_next_page_token_and_parses_bars() -> None:
    seen: list[httpx.Request] = []

    frame = _fetch(_two_pages(seen))

    assert len(seen) == 2
    assert "page_token" not in seen[0].url.params
    assert (
        seen[1].url.params["page_token"]
        == _payload("alpaca_bars_aapl_page1.json")["next_page_token"]
    )
    # Midnight New York in UTC: 05:00Z in winter, 04:00Z in summer.
    expected = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-07-01"], name="date")
    assert frame.index.equals(expected)
    np.testing.assert_array_equal(frame["low"], [183.885, 183.43, 211.92])
    np.testing.assert_array_equal(frame["close"], [185.64, 184.25, 216.75])
    np.testing.assert_array_equal(frame["volume"], [82488674.0, 58418916.0, 60402929.0])


def test_fetch_daily_sends_keys_as_headers_and_the_documented_query() -> None:
    seen: list[httpx.Request] = []

    _fetch(_two_pages(seen))

    request = seen[0]
    assert (request.url.host, request.url.path) == ("data.alpaca.markets", "/v2/stocks/AAPL/bars")
    assert request.headers["APCA-API-KEY-ID"] == KEY_ID
    assert request.headers["APCA-API-SECRET-KEY"] == SECRET_KEY
    params = request.url.params
    assert (params["timeframe"], params["limit"], params["adjustment"]) == (
        "1Day",
        "10000",
        "split",
    )
    assert (params["start"], params["end"]) == ("2024-01-01", "2024-07-31")
    assert SECRET_KEY not in str(request.url)


def test_fetch_daily_with_null_bars_raises_data_error() -> None:
    empty = {"bars": None, "symbol": "AAPL", "next_page_token": None}

    with pytest.raises(DataError, match="no bars between"):
        _fetch(lambda request: httpx.Response(200, json=empty))


def test_fetch_daily_with_a_repeated_page_token_raises_data_error() -> None:
    looping = _payload("alpaca_bars_aapl_page1.json")

    with pytest.raises(DataError, match="repeated a page token"):
        _fetch(lambda request: httpx.Response(200, json=looping))


def test_fetch_daily_maps_422_to_data_error_with_the_server_message() -> None:
    body = _payload("alpaca_invalid_symbol.json")

    with pytest.raises(DataError, match="HTTP 422: invalid symbol: AAPL!"):
        _fetch(lambda request: httpx.Response(422, json=body), symbol="AAPL!")


def test_fetch_daily_maps_403_to_config_error_without_the_keys() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"message": "forbidden."})

    with pytest.raises(ConfigError, match=r"refused \(HTTP 403: forbidden\.\)") as caught:
        _fetch(handler)
    assert KEY_ID not in str(caught.value) and SECRET_KEY not in str(caught.value)


def test_fetch_daily_with_a_bar_missing_a_field_raises_data_error() -> None:
    body = {"bars": [{"t": "2024-01-02T05:00:00Z", "o": 1.0}], "next_page_token": None}

    with pytest.raises(DataError, match="lacks a field"):
        _fetch(lambda request: httpx.Response(200, json=body))
