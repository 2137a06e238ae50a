"""The market-data port and the helpers every online adapter shares.

An adapter turns one provider's documented HTTP format into the one per-symbol frame the
rest of the package reads: a tz-naive ``DatetimeIndex`` named ``date`` (one row per session,
sorted, unique) and float64 columns ``open``, ``high``, ``low``, ``close``, ``volume``.

Errors are mapped here, once, for every adapter::

    httpx.RequestError (connect, read, timeout, ...)  -> TransientError
    HTTP 429 and 5xx                                   -> RetryLater (a TransientError)
    HTTP 401 / 403                                     -> ConfigError (credentials)
    other HTTP 4xx, a body that is not JSON            -> DataError

Messages never contain a query string or a header, so an API key sent by an adapter cannot
leak into a log record or an exception message.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, runtime_checkable

import httpx
import numpy as np
import pandas as pd

from harvester.core.errors import ConfigError, DataError, TransientError
from harvester.core.types import FloatArray

__all__ = [
    "BAR_COLUMNS",
    "MarketDataProvider",
    "RetryLater",
    "bars_frame",
    "get_json",
    "one_line",
]

BAR_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
_DETAIL_CHARS = 160


@runtime_checkable
class MarketDataProvider(Protocol):
    """A source of daily bars for one symbol at a time (the market-data port)."""

    @property
    def name(self) -> str:
        """The provider's name as used in ``ProviderConfig.order`` and the cache."""
        ...

    async def fetch_daily(
        self, client: httpx.AsyncClient, symbol: str, start: date, end: date
    ) -> pd.DataFrame:
        """Return the daily bars of ``symbol`` from ``start`` to ``end`` inclusive.

        Raises
        ------
        TransientError
            The request may succeed if retried (network, rate limit, server error).
        DataError
            The provider does not know the symbol or answered with a malformed payload.
        ConfigError
            The provider rejected the credentials.
        """
        ...


class RetryLater(TransientError):
    """The server asked us to slow down or failed (HTTP 429 / 5xx).

    ``retry_after_seconds`` or ``retry_at`` carry the server's ``Retry-After`` header when it
    sent one (as a number of seconds or an HTTP date respectively).
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after_seconds: float | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
        self.retry_at = retry_at


def one_line(text: str) -> str:
    """Return ``text`` with every run of whitespace (newlines included) made one space."""
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class _Call:
    provider: str
    symbol: str
    where: str
    redact: Sequence[str]

    def say(self, text: str) -> str:
        for secret in self.redact:
            if secret:
                text = text.replace(secret, "***")
        return one_line(f"{self.provider} request for {self.symbol!r} to {self.where} {text}")


async def get_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    provider: str,
    symbol: str,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    redact: Sequence[str] = (),
) -> Any:
    """GET ``url`` and return the decoded JSON body, mapping failures to project errors.

    Parameters
    ----------
    client
        The HTTP client (its transport decides whether this touches the network).
    url
        The endpoint without query string.
    provider, symbol
        Named in error messages.
    params, headers
        Query parameters and headers; neither ever appears in a message.
    redact
        Secret values to mask should the server echo them in an error body.
    """
    call = _Call(provider, symbol, httpx.URL(url).copy_with(query=None).host, redact)
    try:
        response = await client.get(url, params=params, headers=headers)
    except httpx.RequestError as e:
        raise TransientError(call.say(f"failed: {type(e).__name__}: {e}")) from e
    _raise_for_status(response, call)
    try:
        return response.json()
    except ValueError as e:
        raise DataError(call.say("returned a body that is not JSON; expected JSON")) from e


def _raise_for_status(response: httpx.Response, call: _Call) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = _error_detail(response)
    if status == 429 or status >= 500:
        seconds, at = _parse_retry_after(response.headers.get("Retry-After"))
        raise RetryLater(
            call.say(f"got HTTP {status}{detail}; will retry"),
            retry_after_seconds=seconds,
            retry_at=at,
        )
    if status in (401, 403):
        raise ConfigError(
            call.say(f"was refused (HTTP {status}{detail}); check the provider's API keys")
        )
    raise DataError(call.say(f"got HTTP {status}{detail}; check the symbol and dates"))


def _error_detail(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return ""
    for _ in range(3):
        if not isinstance(body, dict):
            return ""
        for key in ("description", "message", "Error Message"):
            if isinstance(body.get(key), str):
                return f": {body[key][:_DETAIL_CHARS]}"
        body = body.get("error") or body.get("chart") or body.get("finance")
    return ""


def _parse_retry_after(value: str | None) -> tuple[float | None, datetime | None]:
    if value is None:
        return None, None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return (seconds, None) if math.isfinite(seconds) and seconds >= 0 else (None, None)
    try:
        at = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None, None
    return None, at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def bars_frame(
    dates: pd.DatetimeIndex,
    columns: Mapping[str, Any],
    *,
    start: date,
    end: date,
    what: str,
) -> pd.DataFrame:
    """Return the normalised per-symbol bar frame, or raise DataError when it has no bars.

    Dates are made tz-naive midnights (nanosecond unit), rows without a close are dropped,
    rows outside ``start``..``end`` are dropped, a repeated date keeps its last row, and the
    result is sorted.

    Parameters
    ----------
    dates
        Session date of each row (tz-naive or already in the exchange's zone).
    columns
        ``open`` .. ``volume`` values, one per row; None and null become NaN.
    start, end
        The requested range, inclusive.
    what
        Names the provider and symbol in the error message, e.g. ``"yfinance 'AAPL'"``.
    """
    index = pd.DatetimeIndex(dates)
    if index.tz is not None:
        index = index.tz_localize(None)
    index = index.normalize().as_unit("ns").rename("date")
    try:
        frame = pd.DataFrame({name: _floats(columns[name]) for name in BAR_COLUMNS}, index=index)
    except (KeyError, TypeError, ValueError) as e:
        raise DataError(
            f"{what}: bar values are missing, not numeric or of unequal length ({e})"
        ) from e
    frame = frame[frame["close"].notna()]
    frame = frame[(frame.index >= pd.Timestamp(start)) & (frame.index <= pd.Timestamp(end))]
    frame = frame[~frame.index.duplicated(keep="last")].sort_index()
    if frame.empty:
        raise DataError(f"{what}: no bars between {start} and {end}; check the symbol and dates")
    return frame


def _floats(values: Any) -> FloatArray:
    return np.asarray(pd.to_numeric(pd.Series(values, dtype=object)), dtype=np.float64)
