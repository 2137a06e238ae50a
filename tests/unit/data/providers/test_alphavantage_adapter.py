"""The Alpha Vantage adapter parses TIME_SERIES_DAILY and maps its in-body errors."""

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

from harvester.core.errors import DataError, TransientError
from harvester.data.providers import AlphaVantageProvider, MarketDataProvider

FIXTURES = Path(__file__).parents[3] / "fixtures" / "providers"
API_KEY = "AV-TEST-KEY-9f3c"
Handler = Callable[[httpx.Request], httpx.Response]


def _payload(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _fetch(handler: Handler, symbol: str, start: date, end: date) -> pd.DataFrame:
    async def go() -> pd.DataFrame:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await AlphaVantageProvider(API_KEY).fetch_daily(client, symbol, start, end)

    return asyncio.run(go())


def _serve(name: str) -> Handler:
    return lambda request: httpx.Response(200, json=_payload(name))


def test_alphavantage_provider_satisfies_the_port_and_hides_the_key() -> None:
    provider = AlphaVantageProvider(API_KEY)

    assert isinstance(provider, MarketDataProvider)
    assert provider.name == "alphavantage"
    assert API_KEY not in repr(provider)


def test_fetch_daily_parses_series_sorted_and_trimmed() -> None:
    frame = _fetch(_serve("alphavantage_daily_ibm.json"), "IBM", date(2024, 1, 2), date(2024, 1, 5))

    # The payload lists newest first and includes 2023-12-29, outside the range.
    expected = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"])
    assert frame.index.equals(expected.rename("date"))
    assert (frame.dtypes == np.float64).all()
    np.testing.assert_array_equal(frame["close"], [161.48, 160.10, 161.53, 160.97])
    np.testing.assert_array_equal(frame["high"], [163.29, 161.73, 162.37, 162.48])
    np.testing.assert_array_equal(frame["volume"], [3734113.0, 4086061.0, 3880005.0, 3155005.0])


def test_fetch_daily_sends_the_documented_query() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=_payload("alphavantage_daily_ibm.json"))

    _fetch(handler, "IBM", date(2024, 1, 2), date(2024, 1, 5))

    params = seen[0].url.params
    assert (seen[0].url.host, seen[0].url.path) == ("www.alphavantage.co", "/query")
    assert params["function"] == "TIME_SERIES_DAILY"
    assert (params["symbol"], params["outputsize"], params["apikey"]) == ("IBM", "full", API_KEY)


@pytest.mark.parametrize("name", ["alphavantage_note.json", "alphavantage_information.json"])
def test_fetch_daily_maps_rate_limit_payloads_to_transient_error(name: str) -> None:
    with pytest.raises(TransientError, match="rate or plan limit: Thank you") as caught:
        _fetch(_serve(name), "IBM", date(2024, 1, 2), date(2024, 1, 5))
    assert "\n" not in str(caught.value)


def test_fetch_daily_maps_error_message_to_data_error() -> None:
    with pytest.raises(DataError, match="does not know this symbol or call: Invalid API call"):
        _fetch(_serve("alphavantage_error.json"), "NOPE", date(2024, 1, 2), date(2024, 1, 5))


def test_fetch_daily_masks_a_key_the_service_echoes_back() -> None:
    echo = {"Error Message": f"the key {API_KEY} is not valid"}

    with pytest.raises(DataError) as caught:
        _fetch(
            lambda request: httpx.Response(200, json=echo),
            "IBM",
            date(2024, 1, 2),
            date(2024, 1, 5),
        )

    assert API_KEY not in str(caught.value)
    assert caught.value.__cause__ is None and "***" in str(caught.value)


def test_fetch_daily_with_a_non_numeric_value_raises_data_error() -> None:
    payload = _payload("alphavantage_daily_ibm.json")
    payload["Time Series (Daily)"]["2024-01-03"]["4. close"] = "n/a"

    with pytest.raises(DataError, match="not numeric"):
        _fetch(
            lambda request: httpx.Response(200, json=payload),
            "IBM",
            date(2024, 1, 2),
            date(2024, 1, 5),
        )


def test_fetch_daily_with_a_missing_field_raises_data_error() -> None:
    payload = _payload("alphavantage_daily_ibm.json")
    del payload["Time Series (Daily)"]["2024-01-03"]["5. volume"]

    with pytest.raises(DataError, match="lacks a field"):
        _fetch(
            lambda request: httpx.Response(200, json=payload),
            "IBM",
            date(2024, 1, 2),
            date(2024, 1, 5),
        )
