"""The soak test of the stream brain: 1,000,000 events over a changing active-symbol set.

Synthetic events (40 symbols) are fed in-process through the consumer's ``Processor`` to the
full brain with paper orders on a SQLite store, in batches of 500, while the screener's
active-symbols file is rewritten every 50,000 events with a different subset of 8 symbols.
The symbol caches must stay within the active set (plus open positions) and the process's
resident memory must stay flat after warm-up.

The RSS bound: from the middle (500,000 events) to the end, growth below 16 MiB. A leak of
one small object per event (a float in a list: 8 bytes + 24-byte float) would add ~16 MiB
over those 500,000 events, so any per-event leak shows; allocator noise (arenas, SQLite page
cache, the store's connection pool) stays within a few MiB once warm. The event source and
the in-memory ledger are bounded (a generator; the last 10,000 events).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import psutil

from harvester.config.models import HarvesterConfig
from harvester.live.brain import Brain
from harvester.live.consume import Processor
from harvester.live.ledger import MemoryLedger
from harvester.live.paper import PaperBroker
from harvester.live.replay import synthetic_lines
from harvester.store import open_store

EVENTS = 1_000_000
SYMBOLS = 40
ACTIVE = 8
EVERY = 50_000
BATCH = 500
GROWTH_BOUND = 16 * 2**20


def _rss() -> int:
    return int(psutil.Process().memory_info().rss)


def _write_active(path: Path, part: int, symbols: list[str]) -> frozenset[str]:
    """Eight symbols, a different subset each part (a stride through the universe)."""
    chosen = [symbols[(part * 5 + 7 * k) % len(symbols)] for k in range(ACTIVE)]
    path.write_text("\n".join(chosen) + "\n")
    os.utime(path, ns=(part * 10**9, part * 10**9))  # a new stamp, however fast we are
    return frozenset(chosen)


def _batches(lines: Iterator[bytes], start: int, count: int) -> Iterator[list[tuple[str, bytes]]]:
    for offset in range(0, count, BATCH):
        chunk = list(islice(lines, BATCH))
        yield [(f"e{start + offset + k}", line) for k, line in enumerate(chunk)]


def test_a_million_events_over_a_changing_active_set_keep_memory_flat(tmp_path: Path) -> None:
    active = tmp_path / "active.txt"
    config = HarvesterConfig.model_validate(
        {"brain": {"active_symbols_file": str(active), "active_check_seconds": 3600.0}}
    )
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}", environ={})
    try:
        broker = PaperBroker(store, account="stream-paper", name="stream-paper")
        brain = Brain(config, broker=broker)
        processor = Processor(brain, MemoryLedger(capacity=10_000))
        symbols = [f"SYN{k:03d}" for k in range(SYMBOLS)]
        lines = iter(synthetic_lines(EVENTS, seed=5, symbols=SYMBOLS))
        rss: dict[str, int] = {}
        started = time.monotonic()
        for part in range(EVENTS // EVERY):
            chosen = _write_active(active, part, symbols)
            for batch in _batches(lines, part * EVERY, EVERY):
                processor.process(batch)
            _assert_bounded(brain, chosen, config.risk_management.max_open_positions)
            done = (part + 1) * EVERY
            if done in (200_000, 500_000, EVENTS):
                rss[{200_000: "start", 500_000: "middle", EVENTS: "end"}[done]] = _rss()
        elapsed = time.monotonic() - started
    finally:
        store.close()
    assert processor.stats.processed == EVENTS and processor.stats.dead_lettered == 0
    assert brain.counts["buy"] > 0 and brain.counts["hold"] > 0
    mib = {k: round(v / 2**20, 1) for k, v in rss.items()}
    print(f"soak: {EVENTS:,} events in {elapsed:.1f} s; RSS MiB {mib}; {dict(brain.counts)}")
    assert rss["end"] - rss["middle"] < GROWTH_BOUND


def _assert_bounded(brain: Brain, chosen: frozenset[str], max_positions: int) -> None:
    assert brain.active.symbols == chosen
    sizes = brain.cache_sizes()
    held = sizes.pop("positions")
    assert held <= max_positions
    for name in ("indicators", "momentum", "news"):
        assert sizes[name] <= ACTIVE, (name, sizes)
    for name in ("last_price", "cooldown"):
        assert sizes[name] <= ACTIVE + held, (name, sizes)
