"""Event consumers: NDJSON lines from a pipe, or a Redis stream read by a consumer group.

Both feed batches of ``(event id, raw line)`` through one :class:`Processor`:

1. skip ids the ledger already holds (an event redelivered after a crash);
2. decode each line (:func:`~harvester.domain.event_codec.decode_event`); a bad line, or an
   event the handler raises on, becomes a dead letter with its reason;
3. call the decision function ``handle(event) -> list[Decision]`` — or, when it has one, its
   batch entry point ``decide_batch(events, ids) -> list[list[Decision]]`` once for the
   batch's valid events (if that raises, the batch is decided again event by event, so an
   event the handler fails on is dead-lettered alone);
4. record every outcome durably in the :class:`~harvester.live.ledger.Ledger`;
5. only then acknowledge (Redis ``XACK``) — so each event takes effect exactly once even
   when a consumer dies at any point.

:class:`RedisConsumer` first re-reads the entries this consumer name was given but never
acknowledged (resume where it stopped), then reads new entries with ``XREADGROUP`` in
batches, and every ``reclaim_every_batches`` batches (and whenever the stream is idle)
takes over entries that another consumer left pending longer than ``min_idle_ms`` with
``XAUTOCLAIM``. Dead letters go to the stream ``<stream>:dead`` (fields ``data``,
``reason``, ``id``) and are acknowledged. See ``docs/consume.md``.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any, Protocol

from harvester.domain.event_codec import decode_events
from harvester.domain.events import DeadLetter, Event
from harvester.live.ledger import Decision, Ledger, LedgerEntry

__all__ = [
    "BatchHandler",
    "ConsumeStats",
    "Handler",
    "Processor",
    "RedisConsumer",
    "RedisSettings",
    "consume_lines",
    "consume_stream",
]

logger = logging.getLogger(__name__)

Handler = Callable[[Event], list[Decision]]
DeadSink = Callable[[str, DeadLetter], None]


class BatchHandler(Protocol):
    """A decision function that can also decide a batch at once (same results, in order)."""

    def __call__(self, event: Event) -> list[Decision]:
        """Decide one event."""

    def decide_batch(
        self, events: Sequence[Event], ids: Sequence[str] | None = None
    ) -> list[list[Decision]]:
        """Decide ``events`` in order (``ids``: their event ids); one list per event."""


StatsSink = Callable[["ConsumeStats"], None]


@dataclass(slots=True)
class ConsumeStats:
    """Counters of one consumer run."""

    processed: int = 0
    dead_lettered: int = 0
    reclaimed: int = 0
    duplicates: int = 0
    decisions: int = 0
    batches: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters by name."""
        return {name: getattr(self, name) for name in self.__slots__}


def no_decisions(event: Event) -> list[Decision]:
    """The default decision function: decide nothing."""
    del event
    return []


class Processor:
    """Decode, decide, record: the part every consumer shares (see the module docstring)."""

    def __init__(
        self, handler: Handler, ledger: Ledger, *, stats: ConsumeStats | None = None
    ) -> None:
        self.handler, self.ledger = handler, ledger
        self.stats = ConsumeStats() if stats is None else stats

    def process(self, batch: Sequence[tuple[str, bytes]]) -> list[tuple[str, DeadLetter]]:
        """Handle and durably record ``batch``; return its dead letters (already recorded)."""
        stats = self.stats
        ids = [event_id for event_id, _ in batch]
        seen = self.ledger.recorded(ids)
        if seen or len(set(ids)) < len(ids):
            ids, lines = _new_events(batch, seen, stats)
        else:  # the usual case: every event is new
            lines = [line for _, line in batch]
        events = decode_events(lines, received_ns=time.time_ns())
        outcomes = self._decide_all(ids, lines, events)
        entries: list[LedgerEntry] = []
        dead: list[tuple[str, DeadLetter]] = []
        decisions = 0
        for event_id, outcome in zip(ids, outcomes, strict=True):
            if outcome == []:  # the usual case: decided, nothing to do
                entries.append(LedgerEntry(event_id, "ok"))
            elif isinstance(outcome, DeadLetter):
                dead.append((event_id, outcome))
                entries.append(LedgerEntry(event_id, "dead"))
            else:
                entries.append(LedgerEntry(event_id, "ok", tuple(outcome)))
                decisions += len(outcome)
        self.ledger.record(entries)
        stats.decisions += decisions
        stats.processed += len(entries) - len(dead)
        stats.dead_lettered += len(dead)
        stats.batches += 1
        return dead

    def _decide_all(
        self, ids: list[str], lines: list[bytes], events: list[Event | DeadLetter]
    ) -> list[list[Decision] | DeadLetter]:
        decide_batch = getattr(self.handler, "decide_batch", None)
        if decide_batch is None:
            return [
                self._decide_one(line, event) for line, event in zip(lines, events, strict=True)
            ]
        valid: Sequence[int] = range(len(events))
        if DeadLetter in map(type, events):
            valid = [k for k, e in enumerate(events) if not isinstance(e, DeadLetter)]
        every = len(valid) == len(events)  # the usual case: no copies
        outcomes: list[list[Decision] | DeadLetter] = list(events)  # type: ignore[arg-type]
        try:
            if every:
                decided = decide_batch(events, ids)
            else:
                decided = decide_batch([events[k] for k in valid], [ids[k] for k in valid])
        except Exception:
            logger.exception("batch decision failed; deciding its events one by one")
            for k in valid:
                one = _one_of_batch(decide_batch, ids[k])
                outcomes[k] = self._decide_one(lines[k], events[k], one)
            return outcomes
        if len(decided) != len(valid):
            raise ValueError(f"decide_batch returned {len(decided)} lists for {len(valid)}")
        if every:
            return list(decided)
        for k, decisions in zip(valid, decided, strict=True):
            outcomes[k] = decisions
        return outcomes

    def _decide_one(
        self, line: bytes, event: Event | DeadLetter, handler: Handler | None = None
    ) -> list[Decision] | DeadLetter:
        if isinstance(event, DeadLetter):
            return event
        try:
            return (handler or self.handler)(event)
        except Exception as error:  # the consumer keeps running; the event is dead-lettered
            logger.exception("decision function failed on %s", type(event).__name__)
            return DeadLetter(line, f"handler error: {type(error).__name__}: {error}"[:200])


def _new_events(
    batch: Sequence[tuple[str, bytes]], seen: set[str], stats: ConsumeStats
) -> tuple[list[str], list[bytes]]:
    """The ids and lines of ``batch`` not in ``seen`` (the ledger), each id once."""
    ids: list[str] = []
    lines: list[bytes] = []
    for event_id, line in batch:
        if event_id in seen:
            stats.duplicates += 1
            continue
        seen.add(event_id)
        ids.append(event_id)
        lines.append(line)
    return ids, lines


def _one_of_batch(decide_batch: Callable[..., list[list[Decision]]], event_id: str) -> Handler:
    def handle(event: Event) -> list[Decision]:
        return decide_batch([event], [event_id])[0]

    return handle


_frozen = False


def _freeze_startup() -> None:
    """Once per process, before a consumer's loop: collect, then move every object start-up
    made (modules, classes, the brain's state) out of the collector's sight, so the full
    collections that event-rate allocation triggers scan little (as the service does)."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()


class _Ticker:
    """Calls ``sink`` with the stats at most every ``every_seconds`` (on an injected clock)."""

    def __init__(
        self, sink: StatsSink | None, every_seconds: float, clock: Callable[[], float]
    ) -> None:
        self.sink, self.every, self.clock = sink, every_seconds, clock
        self.last = clock()

    def tick(self, stats: ConsumeStats) -> None:
        if self.sink is None or self.every <= 0:
            return
        now = self.clock()
        if now - self.last >= self.every:
            self.last = now
            self.sink(stats)


def consume_lines(
    lines: Iterable[bytes],
    processor: Processor,
    *,
    dead_sink: DeadSink,
    stop: Callable[[], bool] = lambda: False,
    batch_size: int = 1,
    stats_sink: StatsSink | None = None,
    stats_every_seconds: float = 0.0,
    clock: Callable[[], float] = time.monotonic,
) -> ConsumeStats:
    """Consume NDJSON ``lines`` (e.g. ``sys.stdin.buffer``) until they end or ``stop()``.

    An event's id is ``line:<number>`` (1-based, so a replayed file deduplicates against
    its own ledger); blank lines are ignored. Lines are decided and recorded in batches of
    ``batch_size`` (1, the default, decides each line as it arrives).
    """
    _freeze_startup()
    ticker = _Ticker(stats_sink, stats_every_seconds, clock)
    batch: list[tuple[str, bytes]] = []
    for number, line in enumerate(lines, start=1):
        if stop():
            break
        text = line.rstrip(b"\r\n")
        if not text or text.isspace():  # a blank line
            continue
        batch.append((f"line:{number}", text))
        if len(batch) >= batch_size:
            _flush(processor, batch, dead_sink)
            ticker.tick(processor.stats)
    _flush(processor, batch, dead_sink)
    return processor.stats


def consume_stream(
    source: IO[bytes],
    processor: Processor,
    *,
    dead_sink: DeadSink,
    stop: Callable[[], bool] = lambda: False,
    batch_size: int = 500,
    stats_sink: StatsSink | None = None,
    stats_every_seconds: float = 0.0,
    clock: Callable[[], float] = time.monotonic,
) -> ConsumeStats:
    """Consume NDJSON from a binary stream (a pipe) until it ends or ``stop()``.

    Reads whatever bytes are waiting (``read1``: one system call, blocking only while the
    pipe is empty) and decides their complete lines in batches of up to ``batch_size``: a
    busy pipe is decided in full batches, a quiet one line by line, with no added latency.
    Event ids and blank lines as in :func:`consume_lines`.
    """
    _freeze_startup()
    ticker = _Ticker(stats_sink, stats_every_seconds, clock)
    for batch in _stream_batches(source, batch_size):
        _flush(processor, batch, dead_sink)
        ticker.tick(processor.stats)
        if stop():
            break
    return processor.stats


def _stream_batches(source: IO[bytes], batch_size: int) -> Iterator[list[tuple[str, bytes]]]:
    read = getattr(source, "read1", source.read)
    number, tail = 0, b""
    batch: list[tuple[str, bytes]] = []
    while True:
        data = read(1 << 16)
        if not data:
            break
        parts = (tail + data).split(b"\n")
        tail = parts.pop()
        for part in parts:
            number += 1
            line = part.rstrip(b"\r")
            if line.strip():
                batch.append((f"line:{number}", line))
                if len(batch) >= batch_size:
                    yield batch
                    batch = []
        if batch:  # nothing more is waiting: decide what arrived
            yield batch
            batch = []
    if tail.strip():
        yield [(f"line:{number + 1}", tail.rstrip(b"\r"))]


def _flush(processor: Processor, batch: list[tuple[str, bytes]], dead_sink: DeadSink) -> None:
    if batch:
        for event_id, letter in processor.process(batch):
            dead_sink(event_id, letter)
        batch.clear()


class RedisClient(Protocol):
    """The part of ``redis.Redis`` (bytes responses) the consumer uses."""

    def xgroup_create(self, name: Any, groupname: Any, id: Any = ..., mkstream: bool = ...) -> Any:
        """Create a consumer group."""

    def xreadgroup(self, groupname: Any, consumername: Any, streams: Any, **kwargs: Any) -> Any:
        """Read entries for a consumer of a group."""

    def xautoclaim(self, name: Any, groupname: Any, consumername: Any, **kwargs: Any) -> Any:
        """Claim entries idle longer than a minimum time."""

    def pipeline(self, transaction: bool = ...) -> Any:
        """Start a pipeline."""


@dataclass(frozen=True, slots=True)
class RedisSettings:
    """Where and how a Redis consumer reads."""

    stream: str = "market:updates"
    group: str = "harvester"
    consumer: str = "consumer-1"
    field: str = "data"
    batch_size: int = 500
    block_ms: int = 1000
    min_idle_ms: int = 30_000
    reclaim_every_batches: int = 100
    dead_maxlen: int = 100_000

    @property
    def dead_stream(self) -> str:
        """The dead-letter stream, ``<stream>:dead``."""
        return f"{self.stream}:dead"


Entry = tuple[bytes, dict[bytes, bytes] | None]


class RedisConsumer:
    """One consumer of a Redis consumer group (see the module docstring)."""

    def __init__(self, client: RedisClient, settings: RedisSettings, processor: Processor) -> None:
        self.client, self.settings, self.processor = client, settings, processor
        self._field = settings.field.encode()
        self._claim_cursor = "0-0"
        self._steps = 0

    def ensure_group(self) -> None:
        """Create the stream and the group (reading from the start) unless they exist."""
        try:
            self.client.xgroup_create(self.settings.stream, self.settings.group, "0", True)
        except Exception as error:
            if "BUSYGROUP" not in str(error):
                raise

    def run(
        self,
        *,
        stop: Callable[[], bool] = lambda: False,
        idle_reads: int | None = None,
        stats_sink: StatsSink | None = None,
        stats_every_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> ConsumeStats:
        """Consume until ``stop()`` or, when ``idle_reads`` is set, that many empty reads."""
        self.ensure_group()
        _freeze_startup()
        ticker = _Ticker(stats_sink, stats_every_seconds, clock)
        self.resume(stop)
        empty = 0
        while not stop() and (idle_reads is None or empty < idle_reads):
            empty = 0 if self.step(reclaim=empty > 0) else empty + 1
            ticker.tick(self.processor.stats)
        return self.processor.stats

    def step(self, *, reclaim: bool = False) -> int:
        """Handle one batch: reclaimed entries (every ``reclaim_every_batches`` steps, or
        when ``reclaim``) or else new ones; return how many entries were handled."""
        self._steps += 1
        if reclaim or self._steps % self.settings.reclaim_every_batches == 0:
            handled = self.reclaim()
            if handled:
                return handled
        return self._handle(self._read(">"))

    def resume(self, stop: Callable[[], bool] = lambda: False) -> None:
        """Handle the entries delivered to this consumer name but never acknowledged."""
        cursor = "0"
        while not stop():
            entries = self._read(cursor, block=False)
            if not entries:
                return
            self._handle(entries)
            cursor = entries[-1][0].decode()

    def _read(self, cursor: str, *, block: bool = True) -> list[Entry]:
        s = self.settings
        reply = self.client.xreadgroup(
            s.group,
            s.consumer,
            {s.stream: cursor},
            count=s.batch_size,
            block=s.block_ms if block and cursor == ">" else None,
        )
        if not reply:
            return []
        entries: list[Entry] = reply[0][1]
        return entries

    def reclaim(self) -> int:
        """Take over entries idle longer than ``min_idle_ms``; return how many were handled."""
        s = self.settings
        reply = self.client.xautoclaim(
            s.stream,
            s.group,
            s.consumer,
            min_idle_time=s.min_idle_ms,
            start_id=self._claim_cursor,
            count=s.batch_size,
        )
        cursor, entries = reply[0], reply[1]
        self._claim_cursor = cursor.decode() if isinstance(cursor, bytes) else str(cursor)
        deleted = list(reply[2]) if len(reply) > 2 else []
        if deleted:
            self._ack(deleted)
        self.processor.stats.reclaimed += len(entries)
        return self._handle(entries)

    def _handle(self, entries: Sequence[Entry]) -> int:
        if not entries:
            return 0
        batch: list[tuple[str, bytes]] = []
        ids: list[bytes] = []
        for entry_id, fields in entries:
            ids.append(entry_id)
            if fields is None:  # deleted from the stream while pending: nothing to do
                continue
            line = fields.get(self._field)
            batch.append((entry_id.decode(), line if line is not None else b""))
        dead = self.processor.process(batch)
        self._dead_letter_and_ack(dead, ids)
        return len(entries)

    def _dead_letter_and_ack(self, dead: list[tuple[str, DeadLetter]], ids: list[bytes]) -> None:
        s = self.settings
        pipe = self.client.pipeline(transaction=False)
        for event_id, letter in dead:
            fields = {"data": letter.line, "reason": letter.reason, "id": event_id}
            pipe.xadd(s.dead_stream, fields, maxlen=s.dead_maxlen, approximate=True)
        pipe.xack(s.stream, s.group, *ids)
        pipe.execute()

    def _ack(self, ids: list[bytes]) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.xack(self.settings.stream, self.settings.group, *ids)
        pipe.execute()
