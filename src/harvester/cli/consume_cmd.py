"""``harvester consume`` and ``harvester replay``: the event consumers and their test feed.

``consume --stdin`` reads NDJSON from a pipe; ``consume --redis URL`` joins a Redis consumer
group. Counters (processed, dead-lettered, reclaimed, duplicates) go to stderr as one JSON
line on exit and every ``--stats-every`` seconds. ``replay`` writes events to stdout or a
Redis stream. See ``docs/consume.md`` and ``docs/events.md``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from harvester.app.consume import StopFlag, run_consume_redis, run_consume_stdin, run_replay
from harvester.core.errors import ConfigError
from harvester.live.consume import ConsumeStats, RedisSettings

__all__ = ["register"]


def _print_stats(stats: ConsumeStats) -> None:
    print(json.dumps({"consume": stats.as_dict()}), file=sys.stderr, flush=True)


def consume(
    stdin: Annotated[bool, typer.Option("--stdin", help="Read NDJSON events from stdin.")] = False,
    redis: Annotated[
        str | None,
        typer.Option("--redis", help="Redis URL (default $HARVESTER_REDIS_URL with --stream)."),
    ] = None,
    stream: Annotated[str, typer.Option(help="Redis stream to read.")] = "market:updates",
    group: Annotated[str, typer.Option(help="Consumer group name.")] = "harvester",
    consumer: Annotated[str, typer.Option(help="This consumer's name in the group.")] = (
        "consumer-1"
    ),
    ledger: Annotated[
        Path | None,
        typer.Option(help="SQLite ledger of processed events (Redis default: in HARVESTER_HOME)."),
    ] = None,
    dead_letter: Annotated[
        Path | None,
        typer.Option("--dead-letter", help="stdin: append dead letters here (default stderr)."),
    ] = None,
    batch: Annotated[
        int | None,
        typer.Option(min=1, help="Events per read and ledger write (stdin 1, Redis 500)."),
    ] = None,
    min_idle_ms: Annotated[
        int, typer.Option(min=0, help="Reclaim entries another consumer left this long.")
    ] = 30_000,
    block_ms: Annotated[int, typer.Option(min=1, help="Longest wait per Redis read.")] = 1000,
    idle_exit: Annotated[
        int | None, typer.Option(min=1, help="Exit after this many empty reads in a row.")
    ] = None,
    stats_every: Annotated[
        float, typer.Option(min=0, help="Print the counters every N seconds (0: on exit).")
    ] = 0.0,
) -> None:
    """Consume market events from stdin (NDJSON) or a Redis stream (consumer group)."""
    if stdin == (redis is not None):
        raise ConfigError("consume needs exactly one source: --stdin or --redis URL")
    flag = StopFlag()
    with flag.installed():
        if stdin:
            stats = _consume_stdin(flag, ledger, dead_letter, batch or 1, stats_every)
        else:
            settings = RedisSettings(
                stream,
                group,
                consumer,
                batch_size=batch or 500,
                block_ms=block_ms,
                min_idle_ms=min_idle_ms,
            )
            stats = run_consume_redis(
                redis,
                settings,
                ledger_path=ledger,
                idle_reads=idle_exit,
                stop=flag,
                stats_sink=_print_stats,
                stats_every_seconds=stats_every,
            )
    _print_stats(stats)


def _consume_stdin(
    flag: StopFlag, ledger: Path | None, dead: Path | None, batch: int, every: float
) -> ConsumeStats:
    if dead is None:
        return run_consume_stdin(
            sys.stdin.buffer,
            dead_out=sys.stderr,
            ledger_path=ledger,
            batch_size=batch,
            stop=flag,
            stats_sink=_print_stats,
            stats_every_seconds=every,
        )
    with dead.open("a", encoding="utf-8") as out:
        return run_consume_stdin(
            sys.stdin.buffer,
            dead_out=out,
            ledger_path=ledger,
            batch_size=batch,
            stop=flag,
            stats_sink=_print_stats,
            stats_every_seconds=every,
        )


def replay(
    source: Annotated[str, typer.Argument(help="A recorded NDJSON file, or 'synthetic'.")],
    rate: Annotated[float, typer.Option(min=0, help="Events per second (0: no pacing).")] = 0.0,
    events: Annotated[
        int | None, typer.Option(min=0, help="How many events (synthetic default 10,000).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Synthetic market seed.")] = 0,
    symbols: Annotated[int, typer.Option(min=1, help="Synthetic symbols.")] = 20,
    redis: Annotated[
        str | None, typer.Option("--redis", help="XADD into this Redis instead of stdout.")
    ] = None,
    stream: Annotated[str, typer.Option(help="Redis stream to write.")] = "market:updates",
) -> None:
    """Emit events from a recorded file or the synthetic market, for end-to-end runs."""
    count = run_replay(
        source,
        events=events,
        rate=rate,
        seed=seed,
        symbols=symbols,
        out=sys.stdout.buffer,
        redis_url=redis,
        stream=stream,
    )
    if redis is not None:
        print(json.dumps({"replay": {"events": count, "stream": stream}}), file=sys.stderr)


def register(app: typer.Typer) -> None:
    """Add ``harvester consume`` and ``harvester replay`` to the root app."""
    app.command("consume")(consume)
    app.command("replay")(replay)
