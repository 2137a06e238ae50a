"""Alpha Vantage daily bars (``TIME_SERIES_DAILY``), the backup source of Harvester II.

``GET https://www.alphavantage.co/query?function=TIME_SERIES_DAILY&symbol=IBM
&outputsize=full&apikey=...`` answers with JSON::

    {"Meta Data": {...},
     "Time Series (Daily)": {"2024-01-03": {"1. open": "161.0000", "2. high": ...,
                                            "3. low": ..., "4. close": ...,
                                            "5. volume": "4254227"}, ...}}

Errors come back with HTTP 200: ``"Note"`` or ``"Information"`` (rate limit or plan limit)
becomes a ``TransientError``; ``"Error Message"`` (unknown symbol, bad call) a ``DataError``.
Prices are unadjusted. The API key (``ALPHA_VANTAGE_API_KEY``) travels as a query parameter;
it is passed in, never read from the environment here, and never written to a message.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final

import httpx
import pandas as pd

from harvester.core.errors import DataError, TransientError
from harvester.data.providers.base import bars_frame, get_json, one_line

__all__ = ["AlphaVantageProvider", "parse_time_series_daily"]

_SERIES_KEY = "Time Series (Daily)"
_FIELD_KEYS = {
    "open": "1. open",
    "high": "2. high",
    "low": "3. low",
    "close": "4. close",
    "volume": "5. volume",
}


class AlphaVantageProvider:
    """Daily bars from Alpha Vantage; needs an API key.

    Parameters
    ----------
    api_key
        The ``ALPHA_VANTAGE_API_KEY`` value; kept out of ``repr``, logs and messages.
    base_url
        Scheme and host of the API.
    outputsize
        ``"full"`` (20+ years) or ``"compact"`` (latest 100 sessions).
    """

    name: Final = "alphavantage"

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = "https://www.alphavantage.co",
        outputsize: str = "full",
    ) -> None:
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._outputsize = outputsize

    def __repr__(self) -> str:
        return f"AlphaVantageProvider(base_url={self._base_url!r}, api_key=***)"

    async def fetch_daily(
        self, client: httpx.AsyncClient, symbol: str, start: date, end: date
    ) -> pd.DataFrame:
        """Return the daily bars of ``symbol`` from ``start`` to ``end`` inclusive."""
        params = {
            "function": "TIME_SERIES_DAILY",
            "symbol": symbol,
            "outputsize": self._outputsize,
            "datatype": "json",
            "apikey": self._api_key,
        }
        payload = await get_json(
            client,
            f"{self._base_url}/query",
            provider=self.name,
            symbol=symbol,
            params=params,
            redact=(self._api_key,),
        )
        try:
            return parse_time_series_daily(payload, symbol=symbol, start=start, end=end)
        except (DataError, TransientError) as e:
            # Should the service ever echo the key, mask it and drop the original message.
            if self._api_key and self._api_key in str(e):
                raise type(e)(str(e).replace(self._api_key, "***")) from None
            raise


def parse_time_series_daily(payload: Any, *, symbol: str, start: date, end: date) -> pd.DataFrame:
    """Return the bar frame held in a ``TIME_SERIES_DAILY`` ``payload``.

    Raises
    ------
    TransientError
        The payload is a ``Note`` or ``Information`` message (rate or plan limit).
    DataError
        The payload is an ``Error Message``, lacks the series, or has no bars in range.
    """
    what = f"alphavantage {symbol!r}"
    series = _series(payload, what=what)
    try:
        dates = pd.to_datetime(list(series), format="%Y-%m-%d")
        columns = {name: [row[key] for row in series.values()] for name, key in _FIELD_KEYS.items()}
    except (KeyError, TypeError, ValueError) as e:
        raise DataError(f"{what}: a daily row lacks a field or has a bad date ({e})") from e
    return bars_frame(dates, columns, start=start, end=end, what=what)


def _series(payload: Any, *, what: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise DataError(f"{what}: response is not a JSON object")
    for key in ("Note", "Information"):
        if key in payload:
            raise TransientError(f"{what}: rate or plan limit: {one_line(str(payload[key]))}")
    if "Error Message" in payload:
        raise DataError(
            f"{what}: Alpha Vantage does not know this symbol or call: "
            f"{one_line(str(payload['Error Message']))}"
        )
    series = payload.get(_SERIES_KEY)
    if not isinstance(series, dict):
        raise DataError(f"{what}: response lacks {_SERIES_KEY!r}; expected TIME_SERIES_DAILY")
    return series
