"""Replay events for end-to-end runs without market hours (the brain spec's replay_e2e).

:func:`synthetic_events` turns a deterministic synthetic market
(:mod:`harvester.data.synthetic`, 24/7 calendar) into an event stream: every session opens
with a ``control`` heartbeat, then for each symbol a ``quote``, two ``trade`` prints (at the
bid or the ask, so the order-flow imbalance has something to measure) and the session's
``bar``; every fifth session adds a ``volatility`` event and a ``news`` item. The same seed
gives the same lines, byte for byte.

:func:`paced` spaces any stream at ``rate`` events per second on an injected clock (tests
pass a fake one and never sleep); :func:`file_lines` replays a recorded NDJSON file as is.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np

from harvester.data.synthetic import generate_market, parse_synthetic_spec
from harvester.domain.event_codec import encode_event
from harvester.domain.events import Bar, Control, Event, News, Quote, Trade, Volatility

__all__ = ["Clock", "SystemClock", "file_lines", "paced", "synthetic_events", "synthetic_lines"]

T = TypeVar("T")

_MAX_SESSIONS = 7000  # the 24/7 calendar covers about 20 years from 2006
_EVENTS_PER_SYMBOL = 4
_HEADLINES = ("{s} beats estimates", "{s} guidance cut", "{s} announces buyback")


class Clock(Protocol):
    """Monotonic seconds and a blocking sleep (tests inject a fake)."""

    def monotonic(self) -> float:
        """Seconds on a monotonic clock."""

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds``."""


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def paced(items: Iterable[T], *, rate: float, clock: Clock | None = None) -> Iterator[T]:
    """Yield ``items`` no faster than ``rate`` per second (0 or less: as fast as possible)."""
    if rate <= 0:
        yield from items
        return
    clock = SystemClock() if clock is None else clock
    start = clock.monotonic()
    for number, item in enumerate(items):
        wait = start + number / rate - clock.monotonic()
        if wait > 0:
            clock.sleep(wait)
        yield item


def file_lines(path: str | Path, *, limit: int | None = None) -> Iterator[bytes]:
    """Yield the non-blank lines of a recorded NDJSON file (without newlines)."""
    with Path(path).open("rb") as handle:
        count = 0
        for line in handle:
            if limit is not None and count >= limit:
                return
            stripped = line.strip()
            if stripped:
                count += 1
                yield stripped


@dataclass(frozen=True, slots=True)
class _Session:
    day: datetime
    symbols: tuple[str, ...]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


def _sessions(events: int, *, seed: int, symbols: int) -> Iterator[_Session]:
    per_session = _EVENTS_PER_SYMBOL * symbols + 1
    n_symbols = max(symbols, math.ceil(events / (_MAX_SESSIONS * _EVENTS_PER_SYMBOL)))
    years = min(20, math.ceil(events / per_session / 365) + 1)
    spec = f"symbols={n_symbols},years={years},seed={seed},calendar=24/7,start=2006-01-01"
    panel = generate_market(parse_synthetic_spec(spec)).panel
    fields = [panel.array(f) for f in ("open", "high", "low", "close", "volume")]
    for t, day in enumerate(panel.index):
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        yield _Session(start, panel.symbols, *(f[t] for f in fields))


def synthetic_events(events: int, *, seed: int = 0, symbols: int = 20) -> Iterator[Event]:
    """Yield ``events`` synthetic events (see the module docstring)."""
    rng = np.random.default_rng(seed)
    produced = 0
    for number, session in enumerate(_sessions(events, seed=seed, symbols=symbols)):
        for event in _session_events(session, number, rng):
            if produced >= events:
                return
            produced += 1
            yield event


def _session_events(session: _Session, number: int, rng: np.random.Generator) -> Iterator[Event]:
    day = session.day
    yield Control(ts=day, kind="heartbeat", source="replay")
    sides = rng.random((len(session.symbols), 2)) < 0.5
    sizes = rng.uniform(0.001, 0.01, (len(session.symbols), 2))
    for s, symbol in enumerate(session.symbols):
        o, h, lo, c, v = (
            float(a[s])
            for a in (session.open, session.high, session.low, session.close, session.volume)
        )
        half = 0.0005 * c
        yield Quote(symbol, o - half, o + half, ts=day + timedelta(hours=14, minutes=30))
        for k, price in enumerate((o, c)):
            bid, ask = price - half, price + half
            at = ask if sides[s, k] else bid
            size = float(round(v * sizes[s, k]))
            ts = day + timedelta(hours=15 + 4 * k, seconds=s)
            yield Trade(symbol, at, size, bid, ask, ts=ts)
        yield Bar(symbol, o, h, lo, c, v, ts=day + timedelta(hours=21))
    if number % 5 == 4:
        symbol = session.symbols[number % len(session.symbols)]
        ts = day + timedelta(hours=21, minutes=5)
        yield Volatility(symbol, float(rng.normal()), float(rng.uniform(0.5, 3.0)), ts=ts)
        headline = _HEADLINES[number % len(_HEADLINES)].format(s=symbol)
        yield News((symbol,), headline, "Synthetic news for replay.", "replay", ts=ts)


def synthetic_lines(events: int, *, seed: int = 0, symbols: int = 20) -> Iterator[bytes]:
    """The synthetic events as NDJSON lines (without newlines)."""
    for event in synthetic_events(events, seed=seed, symbols=symbols):
        yield encode_event(event)
