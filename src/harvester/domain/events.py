"""Market events as the consumers read them: one JSON object per line (NDJSON).

Six event types share a ``type`` tag, a source timestamp ``ts`` (RFC 3339 with a UTC offset)
and an optional ``id`` (the producer's event id; the consumers fall back to the Redis entry
id or the line number). ``received_ns`` is our receive time (Unix nanoseconds): the decoder
stamps it when asked, and a producer never needs to send it.

=============  ==========================================================================
``type``       fields besides ``ts`` / ``id`` / ``received_ns``
=============  ==========================================================================
bar            symbol, open, high, low, close, volume
trade          symbol, price, size, bid?, ask? (the quote at the print, for OFI)
quote          symbol, bid, ask, bid_size?, ask_size?
news           symbols, headline, summary?, source?
volatility     symbol, zscore, volume_ratio, price?
control        kind (``heartbeat``, ``start`` or ``stop``), source?
=============  ==========================================================================

The types are frozen :class:`msgspec.Struct` records (immutable, compared by value, like
frozen dataclasses, but decoded several times faster). :data:`EVENT_SCHEMA_PATH` is the JSON
Schema of one line, generated from these types
(:func:`harvester.domain.event_codec.event_schema`) and shipped with the package; a test
keeps the two in step. ``docs/events.md`` has an example of every type.

Examples
--------
>>> from harvester.domain.events import Trade
>>> from datetime import datetime, UTC
>>> Trade("AAPL", 190.0, 100.0, ts=datetime(2026, 1, 2, 14, 30, tzinfo=UTC)).type
'trade'
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

import msgspec

__all__ = [
    "EVENT_SCHEMA_PATH",
    "EVENT_TYPES",
    "Bar",
    "Control",
    "DeadLetter",
    "Event",
    "News",
    "Quote",
    "Trade",
    "Volatility",
]

EVENT_SCHEMA_PATH = Path(__file__).with_name("events.schema.json")

Symbol = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9.^:/_-]+$")]
Price = Annotated[float, msgspec.Meta(gt=0.0, lt=1e12)]
Size = Annotated[float, msgspec.Meta(ge=0.0, lt=1e15)]
Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]
EventId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class _Base(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", omit_defaults=True):
    ts: Timestamp
    id: EventId | None = None
    received_ns: int | None = None


class Bar(_Base, frozen=True, tag="bar"):
    """One OHLCV bar of ``symbol`` ending at ``ts``."""

    symbol: Symbol
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Size

    def __post_init__(self) -> None:
        if not self.low <= min(self.open, self.close) <= max(self.open, self.close) <= self.high:
            raise ValueError("bar needs low <= open, close <= high")

    @property
    def type(self) -> Literal["bar"]:
        return "bar"


class Trade(_Base, frozen=True, tag="trade"):
    """One print: ``size`` shares at ``price``, with the quote at that moment when known."""

    symbol: Symbol
    price: Price
    size: Size
    bid: Price | None = None
    ask: Price | None = None

    def __post_init__(self) -> None:
        if self.bid is not None and self.ask is not None and self.bid > self.ask:
            raise ValueError("trade quote has bid > ask")

    @property
    def type(self) -> Literal["trade"]:
        return "trade"


class Quote(_Base, frozen=True, tag="quote"):
    """The best bid and ask of ``symbol``."""

    symbol: Symbol
    bid: Price
    ask: Price
    bid_size: Size | None = None
    ask_size: Size | None = None

    def __post_init__(self) -> None:
        if self.bid > self.ask:
            raise ValueError("quote has bid > ask")

    @property
    def type(self) -> Literal["quote"]:
        return "quote"


class News(_Base, frozen=True, tag="news"):
    """A headline (and summary) about one or more symbols."""

    symbols: Annotated[tuple[Symbol, ...], msgspec.Meta(min_length=1, max_length=64)]
    headline: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    summary: Annotated[str, msgspec.Meta(max_length=20000)] = ""
    source: str | None = None

    @property
    def type(self) -> Literal["news"]:
        return "news"


class Volatility(_Base, frozen=True, tag="volatility"):
    """An unusual move flagged by the bridge: the price z-score and volume over its mean."""

    symbol: Symbol
    zscore: float
    volume_ratio: Annotated[float, msgspec.Meta(ge=0.0)]
    price: Price | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.zscore) and math.isfinite(self.volume_ratio)):
            raise ValueError("volatility needs finite zscore and volume_ratio")

    @property
    def type(self) -> Literal["volatility"]:
        return "volatility"


class Control(_Base, frozen=True, tag="control"):
    """A message about the stream itself; ``heartbeat`` says the producer is alive."""

    kind: Literal["heartbeat", "start", "stop"] = "heartbeat"
    source: str | None = None

    @property
    def type(self) -> Literal["control"]:
        return "control"


Event = Bar | Trade | Quote | News | Volatility | Control
EVENT_TYPES: dict[str, type[Event]] = {
    "bar": Bar,
    "trade": Trade,
    "quote": Quote,
    "news": News,
    "volatility": Volatility,
    "control": Control,
}


class DeadLetter(msgspec.Struct, frozen=True):
    """A line that is not a valid event, and why (one line, for people)."""

    line: bytes
    reason: str
