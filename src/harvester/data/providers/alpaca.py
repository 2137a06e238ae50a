"""Alpaca market data v2 daily bars, following ``next_page_token`` pagination.

``GET https://data.alpaca.markets/v2/stocks/{symbol}/bars?timeframe=1Day&start=..&end=..
&limit=10000&adjustment=split&page_token=..`` with the headers ``APCA-API-KEY-ID`` and
``APCA-API-SECRET-KEY`` answers with JSON::

    {"bars": [{"t": "2024-01-02T05:00:00Z", "o": 187.15, "h": 188.44, "l": 183.885,
               "c": 185.64, "v": 82488674, "n": 1009074, "vw": 185.9465}, ...],
     "symbol": "AAPL",
     "next_page_token": "QUFQTHxE..."}

A daily bar's ``t`` is midnight New York time expressed in UTC; its date is taken in
``America/New_York``. ``bars`` is null when there are none. Both keys are passed in, never
read from the environment here, and never written to a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Final
from urllib.parse import quote

import httpx
import pandas as pd

from harvester.core.errors import DataError
from harvester.data.providers.base import bars_frame, get_json

__all__ = ["AlpacaProvider", "parse_bars"]

_MAX_PAGES = 1000
_PAGE_LIMIT = 10_000
_FIELD_KEYS = {"open": "o", "high": "h", "low": "l", "close": "c", "volume": "v"}


class AlpacaProvider:
    """Daily bars from Alpaca's market data API; needs a key id and a secret key.

    Parameters
    ----------
    key_id, secret_key
        ``ALPACA_API_KEY_ID`` and ``ALPACA_API_SECRET_KEY``; kept out of ``repr``, logs and
        messages.
    base_url
        Scheme and host of the market data API.
    feed
        ``"iex"``, ``"sip"`` or None for the account's default.
    adjustment
        ``"raw"``, ``"split"``, ``"dividend"`` or ``"all"``.
    """

    name: Final = "alpaca"

    def __init__(
        self,
        key_id: str,
        secret_key: str,
        *,
        base_url: str = "https://data.alpaca.markets",
        feed: str | None = None,
        adjustment: str = "split",
    ) -> None:
        self._headers = {"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": secret_key}
        self._base_url = base_url.rstrip("/")
        self._feed = feed
        self._adjustment = adjustment

    def __repr__(self) -> str:
        return f"AlpacaProvider(base_url={self._base_url!r}, feed={self._feed!r}, keys=***)"

    async def fetch_daily(
        self, client: httpx.AsyncClient, symbol: str, start: date, end: date
    ) -> pd.DataFrame:
        """Return the daily bars of ``symbol`` from ``start`` to ``end`` inclusive."""
        bars: list[Any] = []
        token: str | None = None
        seen: set[str] = set()
        for _ in range(_MAX_PAGES):
            payload = await self._page(client, symbol, self._params(start, end, token))
            page, token = _page_content(payload, symbol=symbol)
            bars.extend(page)
            if token is None:
                return parse_bars(bars, symbol=symbol, start=start, end=end)
            if token in seen:
                raise DataError(f"alpaca {symbol!r}: the server repeated a page token")
            seen.add(token)
        raise DataError(f"alpaca {symbol!r}: more than {_MAX_PAGES} pages; narrow the dates")

    def _params(self, start: date, end: date, token: str | None) -> dict[str, str]:
        params = {
            "timeframe": "1Day",
            "start": start.isoformat(),
            "end": end.isoformat(),
            "limit": str(_PAGE_LIMIT),
            "adjustment": self._adjustment,
        }
        if self._feed is not None:
            params["feed"] = self._feed
        if token is not None:
            params["page_token"] = token
        return params

    async def _page(self, client: httpx.AsyncClient, symbol: str, params: Mapping[str, str]) -> Any:
        return await get_json(
            client,
            f"{self._base_url}/v2/stocks/{quote(symbol, safe='')}/bars",
            provider=self.name,
            symbol=symbol,
            params=params,
            headers=self._headers,
            redact=tuple(self._headers.values()),
        )


def _page_content(payload: Any, *, symbol: str) -> tuple[list[Any], str | None]:
    if not isinstance(payload, dict) or "bars" not in payload:
        raise DataError(f"alpaca {symbol!r}: response lacks 'bars'; expected the v2 bars format")
    bars = payload["bars"] or []
    token = payload.get("next_page_token") or None
    if not isinstance(bars, list) or not (token is None or isinstance(token, str)):
        raise DataError(f"alpaca {symbol!r}: 'bars' is not a list or the page token not a string")
    return bars, token


def parse_bars(bars: list[Any], *, symbol: str, start: date, end: date) -> pd.DataFrame:
    """Return the bar frame for a list of Alpaca bar objects (``t``, ``o`` .. ``v``).

    Raises
    ------
    DataError
        A bar lacks a field or has a bad time, or there are no bars in range.
    """
    what = f"alpaca {symbol!r}"
    try:
        times = pd.to_datetime([bar["t"] for bar in bars], utc=True, format="ISO8601")
        columns = {name: [bar[key] for bar in bars] for name, key in _FIELD_KEYS.items()}
    except (KeyError, TypeError, ValueError) as e:
        raise DataError(f"{what}: a bar lacks a field or has a bad time ({e})") from e
    dates = times.tz_convert("America/New_York")
    return bars_frame(dates, columns, start=start, end=end, what=what)
