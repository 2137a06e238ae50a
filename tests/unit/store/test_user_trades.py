"""The bot's per-user book on SQLite and PostgreSQL: capital, lots, FIFO exits, isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, inspect, select

from harvester.core.errors import DataError
from harvester.store import Store
from harvester.store.migrate import current_revision
from harvester.store.models import BotTradeRow
from harvester.store.user_trades import (
    Lot,
    add_lot,
    allocate_fifo,
    close_fifo,
    closed_lots,
    open_lots,
    set_user_capital,
    user_capital,
)

T0 = datetime(2024, 3, 1, 15, 0, tzinfo=UTC)


def _rows(store: Store) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(BotTradeRow)) or 0)


def test_the_migration_creates_the_bot_tables(store: Store) -> None:
    names = set(inspect(store.engine).get_table_names())
    assert {"bot_users", "bot_trades"} <= names
    assert current_revision(store.engine) == "0003"


def test_capital_is_per_user_and_updatable(store: Store) -> None:
    assert user_capital(store, "alice") is None
    set_user_capital(store, "alice", 25_000.0, now=T0)
    set_user_capital(store, "bob", 1_000.0, now=T0)
    set_user_capital(store, "alice", 30_000.0, now=T0 + timedelta(days=1))
    assert user_capital(store, "alice") == 30_000.0
    assert user_capital(store, "bob") == 1_000.0
    with pytest.raises(DataError):
        set_user_capital(store, "bob", -5.0, now=T0)
    assert user_capital(store, "bob") == 1_000.0


def test_fifo_exit_splits_the_partly_sold_lot(store: Store) -> None:
    add_lot(store, Lot("alice", "AAPL", 10.0, 100.0, T0, stop=95.0, target=110.0))
    add_lot(store, Lot("alice", "AAPL", 5.0, 110.0, T0 + timedelta(hours=1)))
    add_lot(store, Lot("bob", "AAPL", 7.0, 90.0, T0))
    closed = close_fifo(store, "alice", "AAPL", qty=12.0, price=120.0, at=T0 + timedelta(days=2))
    # oldest first: all 10 @ 100 (+200), then 2 of the 5 @ 110 (+20)
    assert [(c.qty, c.entry_price, c.pnl) for c in closed] == [
        (10.0, 100.0, 200.0),
        (2.0, 110.0, 20.0),
    ]
    left = open_lots(store, "alice", "AAPL")
    assert [(lot.qty, lot.entry_price) for lot in left] == [(3.0, 110.0)]
    assert [(lot.qty, lot.entry_price) for lot in open_lots(store, "bob")] == [(7.0, 90.0)]
    assert closed_lots(store, "bob") == []
    assert _rows(store) == 4  # 3 lots + the split-off closed part


def test_an_exit_larger_than_the_holding_changes_nothing(store: Store) -> None:
    add_lot(store, Lot("alice", "MSFT", 4.0, 300.0, T0))
    with pytest.raises(DataError, match="only 4 open"):
        close_fifo(store, "alice", "MSFT", qty=5.0, price=310.0, at=T0)
    assert [lot.qty for lot in open_lots(store, "alice")] == [4.0]
    assert _rows(store) == 1


def test_closed_lots_are_newest_first_and_limited(store: Store) -> None:
    for day, price in enumerate((101.0, 102.0, 103.0)):
        add_lot(store, Lot("alice", "AAPL", 1.0, 100.0, T0))
        close_fifo(store, "alice", "AAPL", qty=1.0, price=price, at=T0 + timedelta(days=day + 1))
    assert [lot.exit_price for lot in closed_lots(store, "alice", limit=2)] == [103.0, 102.0]


@given(
    lots=st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=8),
    share=st.floats(min_value=0.0, max_value=1.0),
)
def test_allocate_fifo_takes_the_oldest_lots_first(lots: list[int], share: float) -> None:
    qty = float(round(sum(lots) * share))
    taken = allocate_fifo([float(q) for q in lots], qty)
    assert sum(taken) == pytest.approx(qty)
    assert all(0.0 <= t <= q for t, q in zip(taken, lots, strict=True))
    partial = [i for i, (t, q) in enumerate(zip(taken, lots, strict=True)) if t < q]
    if partial:  # every lot after the first not fully taken is untouched
        assert all(t == 0.0 for t in taken[partial[0] + 1 :])


def test_allocate_fifo_refuses_more_than_open() -> None:
    with pytest.raises(DataError):
        allocate_fifo([1.0, 2.0], 3.5)
