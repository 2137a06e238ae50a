"""Fetching many symbols: cache first, retries, Retry-After, pacing, fallback, failures."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from harvester.config.models import ProviderConfig
from harvester.data.cache import ParquetCache
from harvester.data.panel import OHLCV
from harvester.data.providers import (
    AlpacaProvider,
    AlphaVantageProvider,
    FetchResult,
    MarketDataProvider,
    YahooProvider,
    fetch_daily_bars_sync,
)
from harvester.data.providers.fetch import collect_fetch_results
from harvester.testing import SimClock

FIXTURES = Path(__file__).parents[3] / "fixtures" / "providers"
START, END = date(2024, 1, 2), date(2024, 1, 5)
NOW = datetime(2024, 1, 6, 12, 0, tzinfo=UTC)
AV_KEY = "AV-SECRET-0c5e77"
CONFIG = ProviderConfig(
    order=("yfinance", "alphavantage"),
    max_concurrency=4,
    requests_per_second=1000.0,
    max_retries=3,
    backoff_seconds=1.0,
    cache_ttl_hours=12.0,
)
YAHOO, ALPHA, ALPACA = "query1.finance.yahoo.com", "www.alphavantage.co", "data.alpaca.markets"
DEFAULT_REPLY = {
    YAHOO: (200, "yahoo_chart_aapl.json"),
    ALPHA: (200, "alphavantage_daily_ibm.json"),
    ALPACA: (403, "alpaca_forbidden.json"),
}


ALPACA_PROVIDER = AlpacaProvider("PK-ALPACA-ID-51", "alpaca-secret-e2f9")


def _payload(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@dataclass(frozen=True)
class Reply:
    status_code: int | None = None
    fixture: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    error: bool = False


class FakeMarket:
    """Answers Yahoo and Alpha Vantage requests from scripts; records every call."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.scripts: dict[tuple[str, str], list[Reply]] = {}
        self.calls: list[tuple[str, str, float]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.yield_count = 0

    def script(self, host: str, symbol: str, *replies: Reply) -> None:
        self.scripts[(host, symbol)] = list(replies)

    def calls_to(self, host: str) -> list[tuple[str, str, float]]:
        return [c for c in self.calls if c[0] == host]

    async def handle(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        symbol = request.url.params.get("symbol") or request.url.path.rsplit("/", 1)[-1]
        self.calls.append((host, symbol, self.clock.seconds))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            for _ in range(self.yield_count):
                await asyncio.sleep(0)
            return self._reply(request, host, symbol)
        finally:
            self.in_flight -= 1

    def _reply(self, request: httpx.Request, host: str, symbol: str) -> httpx.Response:
        script = self.scripts.get((host, symbol), [Reply()])
        reply = script.pop(0) if len(script) > 1 else script[0]
        if reply.error:
            raise httpx.ConnectError("connection reset", request=request)
        status_code, fixture = DEFAULT_REPLY[host]
        body = _payload(reply.fixture or fixture)
        return httpx.Response(reply.status_code or status_code, json=body, headers=reply.headers)


@dataclass
class Harness:
    market: FakeMarket
    clock: SimClock
    cache: ParquetCache

    def fetch(
        self,
        symbols: Sequence[str],
        *,
        config: ProviderConfig = CONFIG,
        providers: Sequence[MarketDataProvider] | None = None,
        start: date = START,
    ) -> FetchResult:
        return fetch_daily_bars_sync(
            symbols,
            start,
            END,
            providers=providers or (YahooProvider(), AlphaVantageProvider(AV_KEY)),
            config=config,
            cache=self.cache,
            now=lambda: NOW,
            transport=httpx.MockTransport(self.market.handle),
            sleep=self.clock.sleep,
            monotonic=self.clock.monotonic,
        )


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    clock = SimClock()
    return Harness(FakeMarket(clock), clock, ParquetCache(tmp_path / "cache"))


def _cached_bars(harness: Harness, symbol: str, *, age: timedelta, start: date = START) -> None:
    index = pd.DatetimeIndex(["2024-01-03", "2024-01-04"], name="date")
    bars = pd.DataFrame({name: [1.0, 2.0] for name in OHLCV}, index=index)
    harness.cache.put("yfinance", symbol, bars, fetched_at=NOW - age, start=start, end=END)


def test_fetch_serves_every_symbol_from_the_first_provider_and_caches_it(
    harness: Harness,
) -> None:
    result = harness.fetch(["AAPL", "MSFT"])

    assert list(result.frames) == ["AAPL", "MSFT"]
    assert result.sources == {"AAPL": "yfinance", "MSFT": "yfinance"}
    assert result.failures == {} and result.cached == frozenset()
    assert len(harness.market.calls) == 2
    assert harness.cache.symbols("yfinance") == ["AAPL", "MSFT"]
    np.testing.assert_array_equal(result.frames["AAPL"]["close"], [185.64, 184.25, 181.18])


def test_second_fetch_is_served_from_the_cache_without_requests(harness: Harness) -> None:
    first = harness.fetch(["AAPL", "MSFT"])
    calls_after_first = len(harness.market.calls)

    second = harness.fetch(["AAPL", "MSFT"])

    assert len(harness.market.calls) == calls_after_first == 2
    assert second.cached == {"AAPL", "MSFT"}
    assert second.sources == first.sources
    for symbol in ("AAPL", "MSFT"):
        assert second.frames[symbol].equals(first.frames[symbol])


def test_fresh_cache_entry_means_zero_requests(harness: Harness) -> None:
    _cached_bars(harness, "AAPL", age=timedelta(hours=11))

    result = harness.fetch(["AAPL"])

    assert harness.market.calls == []
    assert result.cached == {"AAPL"} and result.sources == {"AAPL": "yfinance"}
    np.testing.assert_array_equal(result.frames["AAPL"]["close"], [1.0, 2.0])


def test_stale_cache_entry_is_fetched_again_and_restamped(harness: Harness) -> None:
    _cached_bars(harness, "AAPL", age=timedelta(hours=13))

    result = harness.fetch(["AAPL"])

    assert len(harness.market.calls) == 1 and result.cached == frozenset()
    entry = harness.cache.entry("yfinance", "AAPL")
    assert entry is not None and entry.fetched_at == NOW


def test_cache_entry_for_a_narrower_range_is_fetched_again(harness: Harness) -> None:
    _cached_bars(harness, "AAPL", age=timedelta(hours=1), start=date(2024, 1, 3))

    result = harness.fetch(["AAPL"])

    assert len(harness.market.calls) == 1
    assert result.frames["AAPL"].index[0].date() == date(2024, 1, 2)


def test_transient_errors_are_retried_with_exponential_backoff(harness: Harness) -> None:
    harness.market.script(YAHOO, "AAPL", Reply(503), Reply(error=True), Reply(500), Reply())

    result = harness.fetch(["AAPL"])

    assert len(harness.market.calls) == 4
    assert harness.clock.sleeps == [1.0, 2.0, 4.0]
    assert result.sources == {"AAPL": "yfinance"}


@pytest.mark.parametrize(("header", "seconds"), [("7", 7.0), ("3600", 60.0)])
def test_retry_after_seconds_is_honoured_up_to_a_minute(
    harness: Harness, header: str, seconds: float
) -> None:
    harness.market.script(YAHOO, "AAPL", Reply(429, headers={"Retry-After": header}), Reply())

    result = harness.fetch(["AAPL"])

    assert harness.clock.sleeps == [seconds]
    assert "AAPL" in result.frames


def test_retry_after_http_date_is_honoured(harness: Harness) -> None:
    retry_at = format_datetime(NOW + timedelta(seconds=30), usegmt=True)
    harness.market.script(YAHOO, "AAPL", Reply(503, headers={"Retry-After": retry_at}), Reply())

    harness.fetch(["AAPL"])

    assert harness.clock.sleeps == [30.0]


def test_unknown_symbol_on_yahoo_falls_back_to_alphavantage(harness: Harness) -> None:
    harness.market.script(YAHOO, "IBM", Reply(404, "yahoo_chart_not_found.json"))

    result = harness.fetch(["IBM"])

    assert result.sources == {"IBM": "alphavantage"}
    assert len(harness.market.calls_to(YAHOO)) == 1, "a DataError is not retried"
    np.testing.assert_array_equal(result.frames["IBM"]["close"], [161.48, 160.10, 161.53, 160.97])
    assert harness.cache.symbols("alphavantage") == ["IBM"]
    assert harness.cache.symbols("yfinance") == []


def test_exhausted_retries_fall_back_to_the_next_provider(harness: Harness) -> None:
    harness.market.script(YAHOO, "IBM", Reply(503))

    result = harness.fetch(["IBM"])

    assert len(harness.market.calls_to(YAHOO)) == 1 + CONFIG.max_retries
    assert result.sources == {"IBM": "alphavantage"}


def test_symbol_failing_everywhere_lands_in_failures_with_the_last_reason(
    harness: Harness,
) -> None:
    harness.market.script(YAHOO, "NOPE", Reply(404, "yahoo_chart_not_found.json"))
    harness.market.script(ALPHA, "NOPE", Reply(fixture="alphavantage_error.json"))

    result = harness.fetch(["AAPL", "NOPE"])

    assert list(result.frames) == ["AAPL"]
    assert list(result.failures) == ["NOPE"]
    reason = result.failures["NOPE"]
    assert reason.startswith("alphavantage 'NOPE'") and "Invalid API call" in reason
    assert "\n" not in reason


def test_rate_limited_provider_that_never_recovers_reports_attempts(harness: Harness) -> None:
    harness.market.script(YAHOO, "IBM", Reply(404, "yahoo_chart_not_found.json"))
    harness.market.script(ALPHA, "IBM", Reply(fixture="alphavantage_note.json"))

    result = harness.fetch(["IBM"])

    assert "gave up after 4 attempts" in result.failures["IBM"]
    assert len(harness.market.calls_to(ALPHA)) == 4


def test_concurrency_never_exceeds_max_concurrency(harness: Harness) -> None:
    harness.market.yield_count = 3
    symbols = [f"S{i:02d}" for i in range(20)]

    result = harness.fetch(symbols, config=CONFIG.model_copy(update={"max_concurrency": 3}))

    assert len(result.frames) == 20
    assert harness.market.max_in_flight == 3


def test_requests_to_a_provider_are_paced_at_requests_per_second(harness: Harness) -> None:
    config = CONFIG.model_copy(update={"requests_per_second": 2.0})

    harness.fetch(["A", "B", "C", "D"], config=config)

    times = [t for _, _, t in harness.market.calls_to(YAHOO)]
    assert times == [0.0, 0.5, 1.0, 1.5]
    assert harness.clock.sleeps == [0.5, 0.5, 0.5]


def test_each_provider_has_its_own_rate_limit(harness: Harness) -> None:
    harness.market.script(YAHOO, "IBM", Reply(404, "yahoo_chart_not_found.json"))
    config = CONFIG.model_copy(update={"requests_per_second": 0.5})

    harness.fetch(["IBM"], config=config)

    # Yahoo's bucket spent its token; Alpha Vantage's first request does not wait for it.
    assert [t for _, _, t in harness.market.calls] == [0.0, 0.0]


def test_secrets_never_appear_in_logs_or_failures(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    key_id, secret_key = "PK-ALPACA-ID-51", "alpaca-secret-e2f9"
    harness.market.script(YAHOO, "IBM", Reply(404, "yahoo_chart_not_found.json"))
    harness.market.script(ALPHA, "IBM", Reply(500), Reply(fixture="alphavantage_error.json"))
    providers = (YahooProvider(), AlphaVantageProvider(AV_KEY), AlpacaProvider(key_id, secret_key))

    with caplog.at_level(logging.DEBUG):
        result = harness.fetch(["IBM"], providers=providers)

    # httpx itself logs full URLs at INFO; the shells keep that logger quiet (see docs).
    texts = [r.getMessage() for r in caplog.records if r.name.startswith("harvester")]
    texts += list(result.failures.values())
    assert any("alphavantage failed for IBM" in t for t in texts)
    assert "HTTP 403" in result.failures["IBM"]
    for secret in (AV_KEY, key_id, secret_key):
        assert not any(secret in text for text in texts)


def test_a_cache_that_cannot_be_written_still_returns_the_bars(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    clock = SimClock()
    harness = Harness(FakeMarket(clock), clock, ParquetCache(blocker))

    result = harness.fetch(["AAPL"])

    assert result.sources == {"AAPL": "yfinance"}


def test_duplicate_symbols_are_fetched_once(harness: Harness) -> None:
    result = harness.fetch(["AAPL", "AAPL"])

    assert len(harness.market.calls) == 1 and list(result.frames) == ["AAPL"]


def test_to_panel_builds_a_panel_of_the_served_symbols(harness: Harness) -> None:
    harness.market.script(YAHOO, "IBM", Reply(404, "yahoo_chart_not_found.json"))

    panel = harness.fetch(["AAPL", "IBM"]).to_panel()

    assert panel.symbols == ("AAPL", "IBM")
    assert panel.shape == (4, 2)  # union of sessions: AAPL lacks 2024-01-04
    assert panel.frame("close")["AAPL"].isna().tolist() == [False, False, True, False]


def test_providers_are_tried_in_the_order_given(harness: Harness) -> None:
    result = harness.fetch(["IBM"], providers=(AlphaVantageProvider(AV_KEY), YahooProvider()))

    assert result.sources == {"IBM": "alphavantage"}
    assert harness.market.calls_to(YAHOO) == []


def test_a_provider_that_refuses_the_keys_is_not_asked_again(harness: Harness) -> None:
    config = CONFIG.model_copy(update={"max_concurrency": 1})

    result = harness.fetch(["AAPL", "MSFT"], config=config, providers=(ALPACA_PROVIDER,))

    assert len(harness.market.calls_to(ALPACA)) == 1
    assert result.failures["MSFT"] == result.failures["AAPL"]
    assert "HTTP 403" in result.failures["MSFT"]


def test_stale_cache_is_served_and_reported_when_every_provider_fails(
    harness: Harness,
) -> None:
    _cached_bars(harness, "AAPL", age=timedelta(days=3))
    harness.market.script(YAHOO, "AAPL", Reply(error=True))
    harness.market.script(ALPHA, "AAPL", Reply(error=True))
    offline = CONFIG.model_copy(update={"max_retries": 0})

    with collect_fetch_results() as results:
        result = harness.fetch(["AAPL"], config=offline)

    assert list(result.frames["AAPL"]["close"]) == [1.0, 2.0]  # the cached bars
    assert result.failures == {} and result.cached == frozenset()
    assert list(result.stale) == ["AAPL"] and "connection reset" in result.stale["AAPL"]
    assert results == [result]
    entry = harness.cache.entry("yfinance", "AAPL")
    assert entry is not None and entry.fetched_at == NOW - timedelta(days=3)  # not restamped
