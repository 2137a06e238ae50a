"""The stream brain on synthetic replays: batch independence, redelivery, bounded memory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.config.models import HarvesterConfig
from harvester.domain.event_codec import decode_event
from harvester.domain.events import Bar, DeadLetter, Event
from harvester.live.brain import Brain
from harvester.live.consume import Processor
from harvester.live.ledger import Decision, MemoryLedger
from harvester.live.paper import PaperBroker, PaperFill
from harvester.live.replay import synthetic_lines
from harvester.store import Store
from harvester.store.repository import account_fills

pytest_plugins = ["harvester.testing.stores"]

LIVELY = HarvesterConfig.model_validate(
    {
        "strategies": {"consensus": {"min_sources": 1}},
        "risk_params": {"daily_profit_cap_pct": 0.01},
        "brain": {"cooldown_seconds": 3 * 86_400.0},
    }
)
"""One agreeing source is enough: many entries, stops, targets, caps and cooldowns."""


@cache
def replay_lines() -> tuple[bytes, ...]:
    return tuple(synthetic_lines(3000, seed=11, symbols=6))


def decoded(lines: Any) -> list[Event]:
    out = [decode_event(line) for line in lines]
    return [e for e in out if not isinstance(e, DeadLetter)]


def events() -> list[Event]:
    return decoded(replay_lines())


class RecordingBroker:
    """Records the planned fill of every submitted order (a paper broker without a store)."""

    def __init__(self) -> None:
        self.planned: dict[str, PaperFill] = {}
        self.orders: list[tuple[str, str, str, float, PaperFill]] = []

    def session(self, day: date, fills: Mapping[str, PaperFill]) -> None:
        del day
        self.planned = dict(fills)

    def submit(self, request: Any) -> None:
        cid = request.client_order_id
        fill = self.planned[cid]
        self.orders.append((cid, request.symbol, request.side, request.qty, fill))


def run(batch: int) -> tuple[list[list[Decision]], list[Any], dict[str, int]]:
    broker = RecordingBroker()
    brain = Brain(LIVELY, broker=broker)
    stream = events()
    ids = [f"line:{k}" for k in range(len(stream))]
    out: list[list[Decision]] = []
    for start in range(0, len(stream), batch):
        out += brain.decide_batch(stream[start : start + batch], ids[start : start + batch])
    return out, broker.orders, dict(brain.counts)


@cache
def one_by_one() -> tuple[list[list[Decision]], list[Any], dict[str, int]]:
    return run(1)


def test_the_replay_trades_and_batch_500_equals_batch_1() -> None:
    decisions, orders, counts = one_by_one()
    assert counts["buy"] >= 5 and counts["sell"] >= 5
    reasons = {d.reason for row in decisions for d in row if d.action == "skip"}
    assert {"cooldown", "daily_cap"} <= reasons
    assert len(orders) == counts["buy"] + counts["sell"]
    assert run(500) == (decisions, orders, counts)


@settings(max_examples=8, deadline=None)
@given(st.integers(min_value=2, max_value=700))
def test_decisions_do_not_depend_on_the_batch_size(batch: int) -> None:
    assert run(batch) == one_by_one()


def test_a_redelivered_event_never_submits_a_second_order(store: Store) -> None:
    lines = list(replay_lines())
    batch = [(f"line:{k}", line) for k, line in enumerate(lines)]
    broker = PaperBroker(store, account="stream-paper")
    first = Processor(Brain(LIVELY, broker=broker), MemoryLedger())
    first.process(batch)
    first.process(batch[:1500])  # redelivered: the ledger skips them
    assert first.stats.duplicates == 1500
    fills = account_fills(store, account="stream-paper")
    assert len(fills) > 0
    # A restarted consumer without the ledger gets the tail again: its booked orders are
    # reported, never filled twice (its cold indicators may decide other events anew).
    again = Processor(Brain(LIVELY, broker=broker), MemoryLedger())
    again.process(batch[-400:])
    after = account_fills(store, account="stream-paper")
    assert after.iloc[: len(fills)].equals(fills)
    assert after["client_order_id"].is_unique and after["order_id"].is_unique


def test_symbol_caches_stay_bounded_as_the_active_set_changes(tmp_path: Path) -> None:
    active = tmp_path / "active.txt"
    config = LIVELY.model_copy(
        update={"brain": LIVELY.brain.model_copy(update={"active_symbols_file": str(active)})}
    )
    brain = Brain(config)
    stream = decoded(synthetic_lines(12_000, seed=2, symbols=30))
    symbols = sorted({e.symbol for e in stream if isinstance(e, Bar)})
    largest = 0
    for part in range(10):
        chosen = symbols[3 * part : 3 * part + 3]  # three new symbols every part
        active.write_text("\n".join(chosen) + "\n")
        os.utime(active, ns=(part * 10**9, part * 10**9))  # a new stamp, however fast we are
        brain.decide_batch(stream[part * 1200 : (part + 1) * 1200])
        sizes = brain.cache_sizes()
        held = sizes.pop("positions")
        assert sizes["indicators"] <= 3 and sizes["momentum"] <= 3 and sizes["news"] <= 3
        assert sizes["last_price"] <= 3 + held and sizes["cooldown"] <= 3 + held
        largest = max(largest, *sizes.values())
    assert brain.active.symbols == frozenset(symbols[27:30]) and largest <= 3 + 4
