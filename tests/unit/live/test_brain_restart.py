"""The stream brain's durable book: restore after a restart, redelivery, crash repair."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.unit.live.test_brain import T0, config, entry_events, trade
from tests.unit.live.test_brain_replay import LIVELY, events

from harvester.live.brain import Brain
from harvester.live.brain_book import STRATEGY, exit_seq
from harvester.live.ledger import Decision
from harvester.live.paper import PaperBroker, PaperFill
from harvester.store import Store
from harvester.store.repository import Position as StoredPosition
from harvester.store.repository import account_fills, journal, open_positions, upsert_position

pytest_plugins = ["harvester.testing.stores"]

ACCOUNT = "stream-paper"


def _broker(store: Store) -> PaperBroker:
    return PaperBroker(store, account=ACCOUNT, name=ACCOUNT)


def test_an_entry_is_an_open_position_and_its_exit_a_journal_trade(store: Store) -> None:
    brain = Brain(config(), broker=_broker(store))
    brain.decide_batch(entry_events())
    (row,) = open_positions(store, account=ACCOUNT)
    # The worked example: 99 @ 101.0505, ATR 3 → stop 98.0505, target 107.0505.
    assert (row.symbol, row.strategy, row.qty) == ("A", STRATEGY, 99.0)
    assert (row.avg_price, row.stop, row.target) == pytest.approx((101.0505, 98.0505, 107.0505))
    assert row.opened_at == T0 + timedelta(minutes=1)
    brain.decide_batch([trade("A", 98.05, T0 + timedelta(minutes=2), id="e4")])
    assert open_positions(store, account=ACCOUNT) == []
    (trade_row,) = journal(store, account=ACCOUNT).to_dict("records")
    exit_price = 98.05 * (1 - 5e-4)
    fees = 99 * 101.0505 * 1e-4 + 99 * exit_price * 1e-4
    pnl = (exit_price - 101.0505) * 99 - fees
    assert trade_row["exit_reason"] == "stop" and trade_row["qty"] == 99.0
    assert trade_row["pnl"] == pytest.approx(pnl)
    assert trade_row["trade_return"] == pytest.approx(pnl / (101.0505 * 99))
    assert trade_row["entry_date"] == trade_row["exit_date"] == T0.date()
    assert trade_row["exit_seq"] == (15 * 3600 + 60) * 1000  # the entry's ms of the day


def test_a_restarted_brain_resumes_with_the_same_book(store: Store) -> None:
    stream = events()
    first = Brain(LIVELY, broker=_broker(store))
    first.decide_batch(stream[:1700], [f"line:{k}" for k in range(1700)])
    assert first.desk.book.positions, "the scenario needs open positions"
    again = Brain(LIVELY, broker=_broker(store))
    assert again.desk.book.cash == pytest.approx(first.desk.book.cash, abs=1e-6)
    for symbol, held in first.desk.book.positions.items():
        restored = again.desk.book.positions[symbol]
        assert (restored.qty, restored.entered_at) == (held.qty, held.entered_at)
        assert (restored.entry_price, restored.entry_fee) == pytest.approx(
            (held.entry_price, held.entry_fee)
        )
        if math.isnan(held.stop):
            assert math.isnan(restored.stop)
        else:
            assert restored.stop == pytest.approx(held.stop)
    assert set(again.desk.book.positions) == set(first.desk.book.positions)


def _orders(out: list[list[Decision]]) -> list[Decision]:
    return [d for row in out for d in row if d.client_order_id is not None]


def test_a_redelivered_batch_reports_the_booked_orders_once(store: Store) -> None:
    stream = events()
    ids = [f"line:{k}" for k in range(len(stream))]
    first = Brain(LIVELY, broker=_broker(store))
    recorded = _orders(first.decide_batch(stream[:1500], ids[:1500]))  # in the ledger
    crashed = _orders(first.decide_batch(stream[1500:2200], ids[1500:2200]))  # not acked
    assert crashed, "the scenario needs orders in the lost batch"
    booked = len(account_fills(store, account=ACCOUNT))
    # The restarted brain's indicators are cold; it still reports what was booked.
    again = Brain(LIVELY, broker=_broker(store))
    cids = {str(d.client_order_id) for d in recorded}
    assert again.expect_redelivery(cids) == len(crashed)
    redelivered = _orders(again.decide_batch(stream[1500:2200], ids[1500:2200]))
    # Every booked order is reported again, in order; events that booked nothing may be
    # decided anew by the cold brain once their symbol's booked orders are behind it.
    lost = iter(redelivered)
    assert all(any(d == again_d for again_d in lost) for d in _same_reasons(crashed))
    fills = account_fills(store, account=ACCOUNT)
    assert fills.iloc[:booked]["client_order_id"].is_unique
    assert fills["client_order_id"].is_unique and len(fills) >= booked
    again.decide_batch(stream[2200:], ids[2200:])
    _assert_book_matches_fills(store)


def _same_reasons(decisions: list[Decision]) -> list[Decision]:
    """The decisions as a replay reports them (an entry's reason is ``booked``)."""
    return [
        Decision(d.symbol, d.action, "booked" if d.action == "buy" else d.reason,
                 d.client_order_id)
        for d in decisions
    ]  # fmt: skip


def _assert_book_matches_fills(store: Store) -> None:
    fills = account_fills(store, account=ACCOUNT)
    held: dict[str, float] = defaultdict(float)
    last: dict[str, str] = {}
    for symbol, side, qty in fills[["symbol", "side", "qty"]].itertuples(index=False):
        assert last.get(symbol) != side, f"two {side}s of {symbol} in a row"
        last[symbol] = side
        held[symbol] += qty if side == "buy" else -qty
    rows = {p.symbol: p.qty for p in open_positions(store, account=ACCOUNT)}
    assert rows == {s: q for s, q in held.items() if abs(q) > 1e-9}
    assert len(journal(store, account=ACCOUNT)) == int((fills["side"] == "sell").sum())


def _book(broker: PaperBroker, cid: str, symbol: str, side: str, fill: PaperFill) -> None:
    from harvester.domain.orders import OrderRequest

    broker.session(T0.date(), {cid: fill})
    broker.submit(OrderRequest(cid, symbol, "buy" if side == "buy" else "sell", fill.qty))


def _row(symbol: str, qty: float, at: datetime, stop: float | None = None) -> StoredPosition:
    return StoredPosition(
        symbol=symbol, side=1, qty=qty, avg_price=50.0, opened_at=at, stop=stop, target=None,
        strategy=STRATEGY, account=ACCOUNT,
    )  # fmt: skip


def test_restore_repairs_what_a_crash_between_two_writes_left(store: Store) -> None:
    broker = _broker(store)
    at = datetime(2026, 1, 5, 21, tzinfo=UTC)
    # B: marker written, order never booked → dropped.
    upsert_position(store, _row("B", 0.0, at))
    # C: marker written and the order booked → the row gets the broker's qty, keeps its stop.
    upsert_position(store, _row("C", 0.0, at, stop=45.0))
    _book(broker, "hv-sx1-C-20260105-entry", "C", "buy", PaperFill(10, 50.0, 0.5))
    # D: bought and sold, the exit's journal trade never written → journaled from the fill.
    upsert_position(store, _row("D", 4.0, at))
    _book(broker, "hv-sx2-D-20260105-entry", "D", "buy", PaperFill(4, 50.0, 0.2))
    _book(broker, "hv-sx3-D-20260105-exit-target", "D", "sell", PaperFill(4, 60.0, 0.24))
    # E: booked, no row at all → a row from the broker (no stop or target known).
    _book(broker, "hv-sx4-E-20260105-entry", "E", "buy", PaperFill(2, 30.0, 0.1))
    brain = Brain(config(), broker=broker)
    positions = brain.desk.book.positions
    assert sorted(positions) == ["C", "E"]
    assert (positions["C"].qty, positions["C"].stop) == (10, 45.0)
    assert positions["E"].qty == 2 and math.isnan(positions["E"].stop)
    assert {p.symbol: p.qty for p in open_positions(store, account=ACCOUNT)} == {"C": 10, "E": 2}
    (done,) = journal(store, account=ACCOUNT).to_dict("records")
    assert (done["symbol"], done["exit_reason"], done["exit_price"]) == ("D", "target", 60.0)
    assert done["pnl"] == pytest.approx(4 * 10.0 - 0.2 - 0.24)
    assert done["exit_seq"] == exit_seq(at.timestamp())
    # cash = 100,000 − 500.5 (C) − 200.2 (D) + 239.76 (D sold) − 60.1 (E)
    assert brain.desk.book.cash == pytest.approx(100_000 - 500.5 - 200.2 + 239.76 - 60.1)


def test_no_broker_keeps_the_book_in_memory_only(store: Store) -> None:
    brain = Brain(config())
    brain.decide_batch(entry_events())
    assert "A" in brain.desk.book.positions
    assert open_positions(store, account=ACCOUNT) == []


def test_ledger_orders_reads_the_client_order_ids_of_recorded_decisions(tmp_path: Path) -> None:
    from harvester.app.consume import ledger_orders
    from harvester.live.ledger import LedgerEntry, SqliteLedger

    path = tmp_path / "ledger.sqlite"
    ledger = SqliteLedger(path)
    ledger.record([
        LedgerEntry("1-0", "ok", (Decision("A", "buy", "consensus 1+/0-", "hv-s10-A-x-entry"),)),
        LedgerEntry("2-0", "ok", (Decision("A", "skip", "cooldown"),)),
        LedgerEntry("3-0", "ok", ()),
        LedgerEntry("4-0", "ok", (Decision("A", "sell", "stop", "hv-s40-A-x-exit-stop"),)),
    ])  # fmt: skip
    ledger.close()
    assert ledger_orders(path) == {"hv-s10-A-x-entry", "hv-s40-A-x-exit-stop"}


def test_an_entry_and_its_row_are_booked_together_or_not_at_all(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harvester.store.repository as repository

    def crash(*args: object) -> None:
        raise KeyboardInterrupt  # a kill between the fill and the position row

    monkeypatch.setattr(repository, "_apply_writes", crash)
    with pytest.raises(KeyboardInterrupt):
        Brain(config(), broker=_broker(store)).decide_batch(entry_events())
    assert len(account_fills(store, account=ACCOUNT)) == 0
    assert open_positions(store, account=ACCOUNT) == []


def test_an_entry_booked_after_the_brain_started_is_adopted_not_paid_twice(store: Store) -> None:
    late = Brain(config(), broker=_broker(store))  # knows of no booked orders
    first = Brain(config(), broker=_broker(store))
    (booked,) = first.decide_batch(entry_events())[1]
    (adopted,) = late.decide_batch(entry_events())[1]
    assert adopted == Decision("A", "buy", "booked", booked.client_order_id)
    assert late.desk.book.cash == 100_000.0  # the booked order's cash is the broker's
    assert late.desk.book.positions["A"].qty == 99.0
    assert len(account_fills(store, account=ACCOUNT)) == 1
