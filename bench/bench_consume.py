"""Benchmark: the event consumers — decode + online indicators, and Redis end to end.

1. **stdin-like**: 1,000,000 synthetic events (``harvester replay synthetic``, seed 1) as
   NDJSON bytes in memory, consumed by ``consume_lines`` with the indicator decision function
   (every bar and trade updates the online indicators) and the in-memory ledger, on one
   core: once in batches of 500 (throughput) and once line by line (``consume --stdin``'s
   default), timing every event for the p99 per-event latency. Target ≥ 100,000 events/s.
2. **Redis**: the events XADDed to a fresh stream (pipelined; the publish rate is printed),
   then one consumer of a group reads batches of 1,000, decides, records every batch in a
   SQLite ledger (WAL, ``synchronous=FULL``) and acks, until the stream is drained.
   Target ≥ 50,000 events/s; p99 per-batch read → ack latency is printed.

Needs Redis at ``HARVESTER_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) for part 2.
Run: ``.venv/bin/python bench/bench_consume.py [--events 1000000] [--redis-events 300000]``.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from _machine import machine_line
from harvester.app.consume import indicator_handler, publish
from harvester.features.online import OnlineIndicators
from harvester.live.consume import Processor, RedisConsumer, RedisSettings, consume_lines
from harvester.live.ledger import MemoryLedger, SqliteLedger
from harvester.live.replay import synthetic_lines

REDIS_URL = os.environ.get("HARVESTER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _line_stream(lines: list[bytes]) -> io.BytesIO:
    return io.BytesIO(b"\n".join(lines) + b"\n")


def bench_stdin(lines: list[bytes]) -> None:
    processor = Processor(indicator_handler(OnlineIndicators()), MemoryLedger())
    start = time.perf_counter()
    stats = consume_lines(
        _line_stream(lines), processor, dead_sink=lambda i, d: None, batch_size=500
    )
    seconds = time.perf_counter() - start
    print(
        f"stdin batch=500: {stats.processed:,} events in {seconds:.2f} s = "
        f"{stats.processed / seconds:,.0f} events/s (dead {stats.dead_lettered})"
    )
    processor = Processor(indicator_handler(OnlineIndicators()), MemoryLedger())
    timings = np.empty(len(lines), dtype=np.int64)
    clock = time.perf_counter_ns
    start = time.perf_counter()
    for number, line in enumerate(_line_stream(lines)):
        began = clock()
        processor.process([(f"line:{number}", line)])
        timings[number] = clock() - began
    seconds = time.perf_counter() - start
    p50, p99 = np.percentile(timings, [50, 99]) / 1000
    print(
        f"stdin batch=1:   {len(lines):,} events in {seconds:.2f} s = "
        f"{len(lines) / seconds:,.0f} events/s; per event p50 {p50:.1f} µs, p99 {p99:.1f} µs"
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
        with tempfile.TemporaryDirectory() as folder:
            ledger = SqliteLedger(Path(folder) / "ledger.sqlite")
            timed = _TimedClient(client)
            settings = RedisSettings(stream, "bench", "c1", batch_size=1000, block_ms=50)
            consumer = RedisConsumer(
                timed,  # type: ignore[arg-type]
                settings,
                Processor(indicator_handler(OnlineIndicators()), ledger),
            )
            start = time.perf_counter()
            stats = consumer.run(idle_reads=1)
            seconds = time.perf_counter() - start - 0.05  # the final empty read's block
            ledger.close()
        p99 = np.percentile(timed.batches, 99) / 1e6
        print(
            f"redis consume:   {stats.processed:,} events in {seconds:.2f} s = "
            f"{stats.processed / seconds:,.0f} events/s (read → decide → record → ack, "
            f"batches of 1,000; p99 batch read → ack {p99:.1f} ms)"
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
