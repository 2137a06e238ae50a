"""The Yahoo chart-API adapter parses the documented JSON and maps its errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from harvester.core.errors import DataError, TransientError
from harvester.data.providers import MarketDataProvider, RetryLater, YahooProvider

FIXTURES = Path(__file__).parents[3] / "fixtures" / "providers"
Handler = Callable[[httpx.Request], httpx.Response]


def _payload(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _fetch(handler: Handler, symbol: str, start: date, end: date) -> pd.DataFrame:
    async def go() -> pd.DataFrame:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await YahooProvider().fetch_daily(client, symbol, start, end)

    return asyncio.run(go())


def _serve(name: str, *, status_code: int = 200) -> Handler:
    return lambda request: httpx.Response(status_code, json=_payload(name))


def test_yahoo_provider_satisfies_the_port() -> None:
    assert isinstance(YahooProvider(), MarketDataProvider)
    assert YahooProvider().name == "yfinance"


def test_fetch_daily_parses_chart_and_drops_null_close() -> None:
    frame = _fetch(_serve("yahoo_chart_aapl.json"), "AAPL", date(2024, 1, 2), date(2024, 1, 5))

    # 1704205800 is 2024-01-02 14:30 UTC = 09:30 New York; the 2024-01-04 row has a null close.
    expected_index = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-05"], name="date")
    assert frame.index.equals(expected_index)
    assert frame.index.dtype == np.dtype("datetime64[ns]")
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert (frame.dtypes == np.float64).all()
    np.testing.assert_array_equal(frame["close"], [185.64, 184.25, 181.18])
    np.testing.assert_array_equal(frame["open"], [187.15, 184.22, 181.99])
    np.testing.assert_array_equal(frame["volume"], [82488700.0, 58414500.0, 62303300.0])


def test_fetch_daily_dates_bars_in_the_exchange_time_zone() -> None:
    # 1704150000 is 2024-01-01 23:00 UTC, which is 2024-01-02 10:00 in Sydney.
    frame = _fetch(_serve("yahoo_chart_bhp_ax.json"), "BHP.AX", date(2024, 1, 2), date(2024, 1, 4))

    assert list(pd.DatetimeIndex(frame.index).strftime("%Y-%m-%d")) == [
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
    ]
    np.testing.assert_array_equal(frame["close"], [50.8, 50.4, 50.0])


def test_fetch_daily_trims_to_the_requested_range() -> None:
    frame = _fetch(_serve("yahoo_chart_aapl.json"), "AAPL", date(2024, 1, 3), date(2024, 1, 4))

    assert list(pd.DatetimeIndex(frame.index).strftime("%Y-%m-%d")) == ["2024-01-03"]


def test_fetch_daily_sends_the_documented_query() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=_payload("yahoo_chart_aapl.json"))

    _fetch(handler, "^GSPC", date(2024, 1, 2), date(2024, 1, 5))

    request = seen[0]
    assert request.url.host == "query1.finance.yahoo.com"
    assert request.url.path == "/v8/finance/chart/^GSPC"
    assert request.url.raw_path.startswith(b"/v8/finance/chart/%5EGSPC")
    params = request.url.params
    start_utc = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
    end_utc = datetime(2024, 1, 7, tzinfo=UTC).timestamp()
    assert (params["period1"], params["period2"]) == (str(int(start_utc)), str(int(end_utc)))
    assert (params["interval"], params["events"]) == ("1d", "div,splits")
    assert request.headers["User-Agent"]


def test_fetch_daily_maps_404_chart_error_to_data_error() -> None:
    handler = _serve("yahoo_chart_not_found.json", status_code=404)

    with pytest.raises(DataError, match=r"'ZZZZ'.*HTTP 404: No data found, symbol may be"):
        _fetch(handler, "ZZZZ", date(2024, 1, 2), date(2024, 1, 5))


def test_fetch_daily_maps_chart_error_in_a_200_body_to_data_error() -> None:
    with pytest.raises(DataError, match="Yahoo reported an error: No data found"):
        _fetch(_serve("yahoo_chart_not_found.json"), "ZZZZ", date(2024, 1, 2), date(2024, 1, 5))


def test_fetch_daily_with_no_bars_in_range_raises_data_error() -> None:
    with pytest.raises(DataError, match="no bars between 2023-01-02 and 2023-01-05"):
        _fetch(_serve("yahoo_chart_aapl.json"), "AAPL", date(2023, 1, 2), date(2023, 1, 5))


def test_fetch_daily_with_malformed_payload_raises_data_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"chart": {"result": [{"timestamp": [1704205800]}]}})

    with pytest.raises(DataError, match="lacks timestamps, meta or quotes"):
        _fetch(handler, "AAPL", date(2024, 1, 2), date(2024, 1, 5))


def test_fetch_daily_with_a_non_json_body_raises_data_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>consent</html>")

    with pytest.raises(DataError, match="not JSON"):
        _fetch(handler, "AAPL", date(2024, 1, 2), date(2024, 1, 5))


def test_fetch_daily_maps_429_to_retry_later_with_retry_after() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "12"}, text="Too Many Requests")

    with pytest.raises(RetryLater, match="HTTP 429") as caught:
        _fetch(handler, "AAPL", date(2024, 1, 2), date(2024, 1, 5))
    assert caught.value.retry_after_seconds == 12.0


def test_fetch_daily_maps_transport_errors_to_transient_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(TransientError, match="ConnectError: connection refused") as caught:
        _fetch(handler, "AAPL", date(2024, 1, 2), date(2024, 1, 5))
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
