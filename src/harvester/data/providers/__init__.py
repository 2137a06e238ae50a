"""Online market-data adapters (Yahoo chart API, Alpha Vantage, Alpaca) and the fetcher.

See ``docs/data-providers.md`` for the formats, the secrets each needs and how fetching
retries, paces and falls back.
"""

from __future__ import annotations

from harvester.data.providers.alpaca import AlpacaProvider
from harvester.data.providers.alphavantage import AlphaVantageProvider
from harvester.data.providers.base import MarketDataProvider, RetryLater
from harvester.data.providers.fetch import FetchResult, fetch_daily_bars, fetch_daily_bars_sync
from harvester.data.providers.ratelimit import TokenBucket
from harvester.data.providers.registry import PROVIDER_NAMES, SECRET_KEYS, make_providers
from harvester.data.providers.yahoo import YahooProvider

__all__ = [
    "PROVIDER_NAMES",
    "SECRET_KEYS",
    "AlpacaProvider",
    "AlphaVantageProvider",
    "FetchResult",
    "MarketDataProvider",
    "RetryLater",
    "TokenBucket",
    "YahooProvider",
    "fetch_daily_bars",
    "fetch_daily_bars_sync",
    "make_providers",
]
