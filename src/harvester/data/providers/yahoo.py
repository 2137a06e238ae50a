"""Yahoo Finance daily bars through the v8 chart API (provider name ``yfinance``).

``GET https://query1.finance.yahoo.com/v8/finance/chart/{symbol}?period1=..&period2=..
&interval=1d&events=div,splits`` answers with JSON::

    {"chart": {"result": [{"meta": {"exchangeTimezoneName": "America/New_York", ...},
                           "timestamp": [1704205800, ...],
                           "indicators": {"quote": [{"open": [...], "high": [...],
                                                     "low": [...], "close": [...],
                                                     "volume": [...]}]}}],
               "error": null}}

Each timestamp is the session's opening instant in UTC; the bar's date is that instant's date
in the exchange's time zone (a Sydney session opening at 10:00 local is 23:00 UTC the day
before). Rows with a null close are dropped. Prices are split-adjusted, not dividend-adjusted.

This is the endpoint the ``yfinance`` library calls. We call it directly with httpx because
the ``yfinance`` package writes a time-zone cache into the user's home directory and cannot
be driven through an injected transport, so it could be neither sandboxed nor tested offline.
Yahoo's endpoint is unofficial and may change; it needs no API key.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from urllib.parse import quote

import httpx
import pandas as pd

from harvester.core.errors import DataError
from harvester.data.providers.base import BAR_COLUMNS, bars_frame, get_json

__all__ = ["YahooProvider"]

_DEFAULT_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) harvester"


class YahooProvider:
    """Daily bars from Yahoo Finance's chart API; no API key needed.

    Parameters
    ----------
    base_url
        Scheme and host of the API.
    user_agent
        Sent as ``User-Agent``; Yahoo answers HTTP 429 to clients that send none.
    """

    name: Final = "yfinance"

    def __init__(
        self,
        *,
        base_url: str = "https://query1.finance.yahoo.com",
        user_agent: str = _DEFAULT_USER_AGENT,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._user_agent = user_agent

    def __repr__(self) -> str:
        return f"YahooProvider(base_url={self._base_url!r})"

    async def fetch_daily(
        self, client: httpx.AsyncClient, symbol: str, start: date, end: date
    ) -> pd.DataFrame:
        """Return the daily bars of ``symbol`` from ``start`` to ``end`` inclusive."""
        # A day of slack each side: a session's opening instant in UTC can fall on the
        # calendar day before or after its local date.
        params = {
            "period1": str(_unix_seconds(start - timedelta(days=1))),
            "period2": str(_unix_seconds(end + timedelta(days=2))),
            "interval": "1d",
            "events": "div,splits",
        }
        payload = await get_json(
            client,
            f"{self._base_url}/v8/finance/chart/{quote(symbol, safe='')}",
            provider=self.name,
            symbol=symbol,
            params=params,
            headers={"User-Agent": self._user_agent},
        )
        return parse_chart(payload, symbol=symbol, start=start, end=end)


def _unix_seconds(day: date) -> int:
    return int(datetime.combine(day, time(), tzinfo=UTC).timestamp())


def parse_chart(payload: Any, *, symbol: str, start: date, end: date) -> pd.DataFrame:
    """Return the bar frame held in a chart-API ``payload`` (see the module docstring).

    Raises
    ------
    DataError
        The payload carries ``chart.error``, lacks the expected keys, or has no bars.
    """
    what = f"yfinance {symbol!r}"
    result = _chart_result(payload, what=what)
    try:
        timestamps = result.get("timestamp") or []
        zone = result["meta"].get("exchangeTimezoneName") or "UTC"
        quote_block = result["indicators"]["quote"][0] if timestamps else {}
        dates = pd.to_datetime(timestamps, unit="s", utc=True).tz_convert(zone)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
        raise DataError(f"{what}: chart payload lacks timestamps, meta or quotes ({e})") from e
    columns = {name: quote_block.get(name, [None] * len(timestamps)) for name in BAR_COLUMNS}
    return bars_frame(dates, columns, start=start, end=end, what=what)


def _chart_result(payload: Any, *, what: str) -> dict[str, Any]:
    chart = payload.get("chart") if isinstance(payload, dict) else None
    if not isinstance(chart, dict):
        raise DataError(f"{what}: response has no 'chart' object; expected the v8 chart format")
    error = chart.get("error")
    if error:
        detail = error.get("description") if isinstance(error, dict) else error
        raise DataError(f"{what}: Yahoo reported an error: {detail}")
    results = chart.get("result")
    if not isinstance(results, list) or not results or not isinstance(results[0], dict):
        raise DataError(f"{what}: 'chart.result' is empty; the symbol may be unknown")
    return results[0]
