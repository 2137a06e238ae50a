"""Use cases ``consume`` and ``replay``: wire the event consumers to a decision function.

The decision function of ``harvester consume`` is the stream brain
(:class:`~harvester.live.brain.Brain`, :func:`open_brain`): the consensus rules of the daily
strategy on every bar of an active symbol, with paper orders on the project store's paper
broker (account ``brain.account``) unless orders are switched off.
:func:`indicator_handler` only keeps the online indicators current and decides nothing.
See ``docs/consume.md``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import IO, Any

from harvester.app.context import AppContext
from harvester.core.errors import ConfigError
from harvester.core.paths import resolve_home
from harvester.domain.events import Bar, DeadLetter, Event, Trade
from harvester.features.online import OnlineIndicators
from harvester.live.brain import Brain
from harvester.live.consume import (
    ConsumeStats,
    Handler,
    Processor,
    RedisConsumer,
    RedisSettings,
    StatsSink,
    consume_lines,
    consume_stream,
)
from harvester.live.learning.hooks import LearningHooks, NoLearning
from harvester.live.ledger import Decision, Ledger, MemoryLedger, SqliteLedger
from harvester.live.paper import PaperBroker
from harvester.live.replay import Clock, file_lines, paced, synthetic_lines
from harvester.store import Store
from harvester.store.database import ENCRYPTION_KEY_ENV, open_store
from harvester.store.errors import StoreUnavailableError

__all__ = [
    "StopFlag",
    "default_ledger_path",
    "indicator_handler",
    "learning_hooks",
    "ledger_orders",
    "open_brain",
    "run_consume_redis",
    "run_consume_stdin",
    "run_replay",
]

REDIS_URL_ENV = "HARVESTER_REDIS_URL"


def indicator_handler(indicators: OnlineIndicators) -> Handler:
    """Return a decision function that updates ``indicators`` and decides nothing."""

    def handle(event: Event) -> list[Decision]:
        kind = type(event)
        if kind is Bar:
            bar: Bar = event  # type: ignore[assignment]
            indicators.update_bar(
                bar.symbol, high=bar.high, low=bar.low, close=bar.close, volume=bar.volume
            )
        elif kind is Trade:
            trade: Trade = event  # type: ignore[assignment]
            indicators.update_trade(
                trade.symbol, price=trade.price, size=trade.size, bid=trade.bid, ask=trade.ask
            )
        return []

    return handle


def learning_hooks(ctx: AppContext) -> LearningHooks:
    """The learning loop in ``$HARVESTER_HOME/learning`` with the parts ``brain`` enables
    (active filter rules always apply), or no learning when all three are off."""
    b = ctx.config.brain
    if not (
        b.experience_buffer_enabled or b.shadow_strategy_enabled or b.conviction_sizing_enabled
    ):
        return NoLearning()
    from harvester.live.learning.experience import default_learning_dir
    from harvester.live.learning.loop import LearningConfig, LearningLoop

    parts = LearningConfig(
        experience_buffer=b.experience_buffer_enabled, shadow=b.shadow_strategy_enabled,
        conviction=b.conviction_sizing_enabled,
    )  # fmt: skip
    return LearningLoop(default_learning_dir(ctx.environ), parts)


@contextmanager
def open_brain(
    ctx: AppContext, *, orders: bool = True, hooks: LearningHooks | None = None
) -> Iterator[Brain]:
    """The stream brain of ``ctx``'s config (``hooks``: default no learning); with
    ``orders`` (and ``brain.paper_orders``) it places paper orders on the project store
    (closed when the block ends) and resumes the book it left there (restart safety)."""
    config = ctx.config
    if not (orders and config.brain.paper_orders):
        yield Brain(config, hooks=hooks)
        return
    store = _open_store(ctx)
    try:
        broker = PaperBroker(
            store, account=config.brain.account, initial_cash=config.initial_capital,
            name=config.brain.account,
        )  # fmt: skip
        yield Brain(config, broker=broker, hooks=hooks)
    finally:
        store.close()


def _open_store(ctx: AppContext, attempts: int = 5) -> Store:
    """The project store; retried a few times, because consumers started together race to
    migrate a new database (the loser sees the tables the winner just created)."""
    for attempt in range(1, attempts + 1):
        try:
            return open_store(
                None, home=ctx.home, environ=ctx.environ,
                encryption_key=ctx.secrets.get(ENCRYPTION_KEY_ENV),
            )  # fmt: skip
        except StoreUnavailableError:
            if attempt == attempts:
                raise
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


class StopFlag:
    """Set by SIGTERM / SIGINT while :meth:`installed`; consumers poll it between batches."""

    def __init__(self) -> None:
        self.stopped = False

    def __call__(self) -> bool:
        return self.stopped

    def _set(self, signum: int, frame: FrameType | None) -> None:
        del signum, frame
        self.stopped = True

    @contextmanager
    def installed(self) -> Iterator[StopFlag]:
        """Handle SIGTERM and SIGINT by setting the flag, restoring the old handlers after."""
        previous = {s: signal.signal(s, self._set) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield self
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


def default_ledger_path(stream: str, group: str) -> Path:
    """``$HARVESTER_HOME/ledger/<stream>-<group>.sqlite`` (unsafe characters become ``_``)."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", f"{stream}-{group}")
    return resolve_home(os.environ) / "ledger" / f"{name}.sqlite"


def _ledger(path: Path | None) -> Ledger:
    return MemoryLedger() if path is None else SqliteLedger(path)


def _dead_writer(out: IO[str]) -> Callable[[str, DeadLetter], None]:
    def write(event_id: str, letter: DeadLetter) -> None:
        line = letter.line.decode("utf-8", "replace")
        out.write(json.dumps({"id": event_id, "reason": letter.reason, "line": line}) + "\n")
        out.flush()

    return write


def run_consume_stdin(
    source: IO[bytes],
    *,
    dead_out: IO[str],
    ledger_path: Path | None = None,
    handler: Handler | None = None,
    batch_size: int = 1,
    stop: Callable[[], bool] = lambda: False,
    stats_sink: StatsSink | None = None,
    stats_every_seconds: float = 0.0,
) -> ConsumeStats:
    """Consume NDJSON from ``source``; dead letters go to ``dead_out`` as JSON lines."""
    ledger = _ledger(ledger_path)
    try:
        processor = Processor(handler or indicator_handler(OnlineIndicators()), ledger)
        if hasattr(source, "read1"):  # a binary stream: read what is there, decide in batches
            return consume_stream(
                source,
                processor,
                dead_sink=_dead_writer(dead_out),
                stop=stop,
                batch_size=max(1, batch_size),
                stats_sink=stats_sink,
                stats_every_seconds=stats_every_seconds,
            )
        return consume_lines(
            source,
            processor,
            dead_sink=_dead_writer(dead_out),
            stop=stop,
            batch_size=max(1, batch_size),
            stats_sink=stats_sink,
            stats_every_seconds=stats_every_seconds,
        )
    finally:
        ledger.close()


def redis_client(url: str | None) -> Any:
    """A ``redis.Redis`` client (bytes responses) for ``url`` or ``$HARVESTER_REDIS_URL``."""
    url = url or os.environ.get(REDIS_URL_ENV)
    if not url:
        raise ConfigError(f"no Redis URL: pass --redis URL or set {REDIS_URL_ENV}")
    import redis

    return redis.Redis.from_url(url, decode_responses=False)


def run_consume_redis(
    url: str | None,
    settings: RedisSettings,
    *,
    ledger_path: Path | None = None,
    handler: Handler | None = None,
    idle_reads: int | None = None,
    stop: Callable[[], bool] = lambda: False,
    stats_sink: StatsSink | None = None,
    stats_every_seconds: float = 0.0,
) -> ConsumeStats:
    """Consume ``settings.stream`` as one consumer of ``settings.group`` (see live.consume)."""
    client = redis_client(url)
    path = ledger_path or default_ledger_path(settings.stream, settings.group)
    ledger = SqliteLedger(path)
    try:
        expect = getattr(handler, "expect_redelivery", None)
        if callable(expect):  # a restarted brain: which of its orders the ledger holds
            expect(ledger_orders(path))
        processor = Processor(handler or indicator_handler(OnlineIndicators()), ledger)
        consumer = RedisConsumer(client, settings, processor)
        return consumer.run(
            stop=stop,
            idle_reads=idle_reads,
            stats_sink=stats_sink,
            stats_every_seconds=stats_every_seconds,
        )
    finally:
        ledger.close()
        client.close()


def ledger_orders(path: Path) -> set[str]:
    """The client order ids in the decisions of the ledger at ``path`` (a scan of the rows
    that hold one; done once when a consumer starts)."""
    db = sqlite3.connect(path, timeout=30.0)
    try:
        rows = db.execute(
            'SELECT decisions FROM processed WHERE decisions LIKE \'%"client_order_id": "%\''
        ).fetchall()
    finally:
        db.close()
    return {
        str(d["client_order_id"])
        for (decisions,) in rows
        for d in json.loads(decisions)
        if d.get("client_order_id")
    }


def replay_lines(source: str, *, events: int | None, seed: int, symbols: int) -> Iterator[bytes]:
    """The lines of a recorded file, or ``synthetic`` events (``events`` defaults to 10,000)."""
    if source == "synthetic":
        return synthetic_lines(10_000 if events is None else events, seed=seed, symbols=symbols)
    path = Path(source)
    if not path.is_file():
        raise ConfigError(f"replay: no such file {source!r}; give an NDJSON file or 'synthetic'")
    return file_lines(path, limit=events)


def run_replay(
    source: str,
    *,
    events: int | None = None,
    rate: float = 0.0,
    seed: int = 0,
    symbols: int = 20,
    out: IO[bytes] | None = None,
    redis_url: str | None = None,
    stream: str = "market:updates",
    clock: Clock | None = None,
    batch_size: int = 1000,
) -> int:
    """Emit events to ``out`` (one per line) or, with ``redis_url``, XADD them to ``stream``.

    Returns the number of events emitted.
    """
    lines = paced(
        replay_lines(source, events=events, seed=seed, symbols=symbols), rate=rate, clock=clock
    )
    if redis_url is not None:
        client = redis_client(redis_url)
        try:
            return publish(client, stream, lines, batch_size=1 if rate > 0 else batch_size)
        finally:
            client.close()
    if out is None:
        raise ConfigError("replay needs an output stream or a Redis URL")
    count = 0
    for line in lines:
        out.write(line + b"\n")
        count += 1
        if rate > 0:
            out.flush()
    out.flush()
    return count


def publish(client: Any, stream: str, lines: Iterator[bytes], *, batch_size: int = 1000) -> int:
    """XADD every line to ``stream`` (field ``data``) in pipelined batches; return the count."""
    count = 0
    pipe = client.pipeline(transaction=False)
    for line in lines:
        pipe.xadd(stream, {"data": line})
        count += 1
        if count % batch_size == 0:
            pipe.execute()
    pipe.execute()
    return count
