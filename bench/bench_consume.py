"""Benchmark: the stream consumer with the full decision loop — stdin and Redis end to end.

Every part runs the decision function ``harvester consume`` runs (``app.consume.open_brain``):
online indicators, VADER news, the consensus rules decided once per batch, the benchmark
filter, cooldown, daily cap, the learning loop (experience buffer, shadows, conviction) and
paper orders booked in a SQLite store — in a fresh ``HARVESTER_HOME`` per part.

1. **stdin, batches of 500**: 1,000,000 synthetic events (``harvester replay synthetic``,
   seed 1) as NDJSON bytes in memory through ``consume_lines`` with the in-memory ledger, on
   one core. Target ≥ 100,000 events/s.
2. **stdin, line by line** (``consume --stdin``'s latency mode): every event timed from its
   line to its recorded decision. Target p99 decision latency < 1 ms. The events that placed
   a paper order give the **decision → paper order submitted** latency (the store's
   transactions included; there is no broker round trip): target p99 ≤ 250 ms.
3. **Redis**: the events XADDed to a fresh stream (pipelined; the publish rate is printed),
   then one consumer of a group reads batches of 1,000, decides, records every batch in a
   SQLite ledger (WAL, ``synchronous=FULL``) and acks, until the stream is drained.
   Target ≥ 50,000 events/s; p99 per-batch read → ack latency is printed.

Needs Redis at ``HARVESTER_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) for part 3.
Run: ``.venv/bin/python bench/bench_consume.py [--events 1000000] [--redis-events 300000]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from _machine import machine_line
from harvester.app.consume import learning_hooks, open_brain, publish
from harvester.app.context import open_context
from harvester.config.loader import ConfigRequest
from harvester.live.brain import Brain
from harvester.live.consume import Processor, RedisConsumer, RedisSettings, consume_lines
from harvester.live.ledger import MemoryLedger, SqliteLedger
from harvester.live.replay import synthetic_lines

REDIS_URL = os.environ.get("HARVESTER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _line_stream(lines: list[bytes]) -> io.BytesIO:
    return io.BytesIO(b"\n".join(lines) + b"\n")


@contextlib.contextmanager
def full_brain() -> Iterator[Brain]:
    """``harvester consume``'s decision function in a fresh home: paper orders and learning."""
    with tempfile.TemporaryDirectory() as home:
        environ = {**os.environ, "HARVESTER_HOME": home}
        environ.pop("HARVESTER_DATABASE_URL", None)
        ctx = open_context(ConfigRequest(), environ=environ, cwd=Path(home), log_to_console=False)
        with open_brain(ctx, orders=True, hooks=learning_hooks(ctx)) as brain:
            yield brain


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "NOT MET"


def bench_stdin(lines: list[bytes]) -> None:
    with full_brain() as brain:
        processor = Processor(brain, MemoryLedger())
        start = time.perf_counter()
        stats = consume_lines(
            _line_stream(lines), processor, dead_sink=lambda i, d: None, batch_size=500
        )
        seconds = time.perf_counter() - start
        rate = stats.processed / seconds
        print(
            f"stdin batch=500: {stats.processed:,} events in {seconds:.2f} s = {rate:,.0f} "
            f"events/s (dead {stats.dead_lettered}; decisions {dict(brain.counts)}); "
            f"target >= 100,000: {_verdict(rate >= 100_000)}"
        )
    with full_brain() as brain:
        processor = Processor(brain, MemoryLedger())
        timings = np.empty(len(lines), dtype=np.int64)
        ordered = np.zeros(len(lines), dtype=bool)
        clock = time.perf_counter_ns
        start = time.perf_counter()
        for number, line in enumerate(_line_stream(lines)):
            orders = brain.counts["buy"] + brain.counts["sell"]
            began = clock()
            processor.process([(f"line:{number}", line)])
            timings[number] = clock() - began
            ordered[number] = brain.counts["buy"] + brain.counts["sell"] > orders
        seconds = time.perf_counter() - start
    p50, p99 = np.percentile(timings, [50, 99]) / 1000
    print(
        f"stdin batch=1:   {len(lines):,} events in {seconds:.2f} s = "
        f"{len(lines) / seconds:,.0f} events/s; decision latency p50 {p50:.1f} µs, "
        f"p99 {p99:.1f} µs; target p99 < 1,000 µs: {_verdict(p99 < 1000)}"
    )
    if ordered.any():
        o50, o99 = np.percentile(timings[ordered], [50, 99]) / 1e6
        print(
            f"order latency:   {int(ordered.sum()):,} events placed a paper order; event → "
            f"order submitted p50 {o50:.1f} ms, p99 {o99:.1f} ms; target p99 <= 250 ms: "
            f"{_verdict(o99 <= 250)}"
        )


class _TimedClient:
    """Wraps the Redis client to time each batch from XREADGROUP to the XACK pipeline."""

    def __init__(self, client: object) -> None:
        self.client, self.began, self.batches = client, 0, []  # type: ignore[var-annotated]

    def __getattr__(self, name: str) -> object:
        return getattr(self.client, name)

    def xreadgroup(self, *args: object, **kwargs: object) -> object:
        self.began = time.perf_counter_ns()
        return self.client.xreadgroup(*args, **kwargs)  # type: ignore[attr-defined]

    def pipeline(self, transaction: bool = True) -> object:
        outer = self

        class _Pipe:
            def __init__(self) -> None:
                self.pipe = outer.client.pipeline(transaction=transaction)  # type: ignore[attr-defined]

            def __getattr__(self, name: str) -> object:
                return getattr(self.pipe, name)

            def execute(self) -> object:
                result = self.pipe.execute()
                outer.batches.append(time.perf_counter_ns() - outer.began)
                return result

        return _Pipe()


def bench_redis(lines: list[bytes]) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    stream = f"bench:consume:{uuid.uuid4().hex}"
    try:
        start = time.perf_counter()
        publish(client, stream, iter(lines), batch_size=1000)
        seconds = time.perf_counter() - start
        print(
            f"redis publish:   {len(lines):,} events in {seconds:.2f} s = "
            f"{len(lines) / seconds:,.0f} events/s"
        )
        with tempfile.TemporaryDirectory() as folder, full_brain() as brain:
            ledger = SqliteLedger(Path(folder) / "ledger.sqlite")
            timed = _TimedClient(client)
            settings = RedisSettings(stream, "bench", "c1", batch_size=1000, block_ms=50)
            consumer = RedisConsumer(
                timed,  # type: ignore[arg-type]
                settings,
                Processor(brain, ledger),
            )
            start = time.perf_counter()
            stats = consumer.run(idle_reads=1)
            seconds = time.perf_counter() - start - 0.05  # the final empty read's block
            ledger.close()
        p99 = np.percentile(timed.batches, 99) / 1e6
        rate = stats.processed / seconds
        print(
            f"redis consume:   {stats.processed:,} events in {seconds:.2f} s = {rate:,.0f} "
            f"events/s (read → decide → record → ack, batches of 1,000; p99 batch read → ack "
            f"{p99:.1f} ms); target >= 50,000: {_verdict(rate >= 50_000)}"
        )
    finally:
        client.delete(stream, f"{stream}:dead")
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--redis-events", type=int, default=300_000)
    parser.add_argument("--no-redis", action="store_true")
    args = parser.parse_args()
    print(machine_line())
    lines = list(synthetic_lines(args.events, seed=1))
    bench_stdin(lines)
    if not args.no_redis:
        bench_redis(lines[: args.redis_events])


if __name__ == "__main__":
    main()
