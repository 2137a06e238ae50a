"""fetch_daily_bars rejects bad arguments before it makes any request."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from harvester.config.models import ProviderConfig
from harvester.core.errors import ConfigError
from harvester.data.cache import ParquetCache
from harvester.data.providers import MarketDataProvider, YahooProvider, fetch_daily_bars_sync

START, END = date(2024, 1, 2), date(2024, 1, 5)


def _refuse(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no request expected, got {request.url}")


def _fetch(
    tmp_path: Path,
    *,
    providers: Sequence[MarketDataProvider] = (YahooProvider(),),
    start: date = START,
    now: Callable[[], datetime] = lambda: datetime(2024, 1, 6, tzinfo=UTC),
) -> None:
    fetch_daily_bars_sync(
        ["AAPL"],
        start,
        END,
        providers=providers,
        config=ProviderConfig(),
        cache=ParquetCache(tmp_path),
        now=now,
        transport=httpx.MockTransport(_refuse),
    )


def test_start_after_end_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="start 2024-02-01 is after end 2024-01-05"):
        _fetch(tmp_path, start=date(2024, 2, 1))


@pytest.mark.parametrize("count", [0, 2])
def test_no_provider_or_a_repeated_one_raises_config_error(tmp_path: Path, count: int) -> None:
    with pytest.raises(ConfigError, match="each once"):
        _fetch(tmp_path, providers=tuple(YahooProvider() for _ in range(count)))


def test_a_naive_clock_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        _fetch(tmp_path, now=lambda: datetime(2024, 1, 6, 12))
