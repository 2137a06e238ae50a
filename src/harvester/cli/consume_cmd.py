"""``harvester consume`` and ``harvester replay``: the event consumers and their test feed.

``consume --stdin`` reads NDJSON from a pipe; ``consume --redis URL`` joins a Redis consumer
group. Each event goes through the stream brain (the consensus rules, paper orders on the
project store, the learning loop; ``--no-orders`` decides without ordering,
``--no-learning`` without the learning loop, ``--indicators-only`` decides nothing).
Counters (processed, dead-lettered, reclaimed, duplicates, and the brain's decisions by
action) go to stderr as one JSON line on exit and every ``--stats-every`` seconds.
``replay`` writes events to stdout or a Redis stream. See ``docs/consume.md`` and
``docs/events.md``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from harvester.cli.options import ConfigFileOption, ProfileOption, SetOption, context_from
from harvester.core.errors import ConfigError

if TYPE_CHECKING:
    from harvester.app.consume import StopFlag
    from harvester.live.consume import ConsumeStats, Handler, StatsSink

__all__ = ["register"]


def _stats_printer(decisions: Mapping[str, int] | None) -> StatsSink:
    def show(stats: ConsumeStats) -> None:
        line: dict[str, object] = {"consume": stats.as_dict()}
        if decisions is not None:
            line["decisions"] = dict(sorted(decisions.items()))
        print(json.dumps(line), file=sys.stderr, flush=True)

    return show


@contextmanager
def _handler(
    indicators_only: bool,
    orders: bool,
    learning: bool,
    config_file: Path | None,
    profile: str | None,
    assignments: list[str] | None,
) -> Iterator[tuple[Handler | None, Mapping[str, int] | None]]:
    from harvester.app.consume import learning_hooks, open_brain

    if indicators_only:
        yield None, None
        return
    ctx = context_from(config_file=config_file, profile=profile, assignments=assignments)
    hooks = learning_hooks(ctx) if learning else None
    with open_brain(ctx, orders=orders, hooks=hooks) as brain:
        yield brain, brain.counts


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
        typer.Option(min=1, help="Most events per decision batch and ledger write (500)."),
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
    no_orders: Annotated[
        bool, typer.Option("--no-orders", help="Decide, but place no paper orders.")
    ] = False,
    no_learning: Annotated[
        bool,
        typer.Option("--no-learning", help="No experience buffer, rules, shadows, conviction."),
    ] = False,
    indicators_only: Annotated[
        bool,
        typer.Option("--indicators-only", help="Only keep the indicators current; no brain."),
    ] = False,
    config_file: ConfigFileOption = None,
    profile: ProfileOption = None,
    assignments: SetOption = None,
) -> None:
    """Consume market events from stdin (NDJSON) or a Redis stream (consumer group)."""
    from harvester.app.consume import StopFlag, run_consume_redis
    from harvester.live.consume import RedisSettings

    if stdin == (redis is not None):
        raise ConfigError("consume needs exactly one source: --stdin or --redis URL")
    flag = StopFlag()
    brain = _handler(
        indicators_only, not no_orders, not no_learning, config_file, profile, assignments
    )
    with brain as (handler, decisions), flag.installed():
        show = _stats_printer(decisions)
        if stdin:
            stats = _consume_stdin(
                flag, ledger, dead_letter, batch or 500, stats_every, handler, show
            )
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
                handler=handler,
                idle_reads=idle_exit,
                stop=flag,
                stats_sink=show,
                stats_every_seconds=stats_every,
            )
        show(stats)


def _consume_stdin(
    flag: StopFlag,
    ledger: Path | None,
    dead: Path | None,
    batch: int,
    every: float,
    handler: Handler | None,
    show: StatsSink,
) -> ConsumeStats:
    from harvester.app.consume import run_consume_stdin

    if dead is None:
        return run_consume_stdin(
            sys.stdin.buffer,
            dead_out=sys.stderr,
            ledger_path=ledger,
            handler=handler,
            batch_size=batch,
            stop=flag,
            stats_sink=show,
            stats_every_seconds=every,
        )
    with dead.open("a", encoding="utf-8") as out:
        return run_consume_stdin(
            sys.stdin.buffer,
            dead_out=out,
            ledger_path=ledger,
            handler=handler,
            batch_size=batch,
            stop=flag,
            stats_sink=show,
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
    from harvester.app.consume import run_replay

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
