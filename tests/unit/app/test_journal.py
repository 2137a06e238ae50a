"""The journal, positions and equity views read the store back, narrowed as asked."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from harvester.app.context import AppContext, open_context
from harvester.app.journal import (
    equity_rows,
    journal_rows,
    journal_view,
    position_rows,
    positions_view,
    write_csv,
)
from harvester.config.loader import ConfigRequest
from harvester.core.errors import ConfigError
from harvester.store import Store
from harvester.store.repository import (
    EquitySnapshot,
    Position,
    Trade,
    record_trade,
    snapshot_equity,
    upsert_position,
)


def _trade(symbol: str, exit_day: int, pnl: float, *, strategy: str = "composer") -> Trade:
    return Trade(
        symbol=symbol, side=1, entry_date=date(2024, 1, 2), entry_price=100.0,
        exit_date=date(2024, 1, exit_day), exit_price=100.0 + pnl / 10, qty=10.0, pnl=pnl,
        trade_return=pnl / 1000, exit_reason="target" if pnl > 0 else "stop", bars_held=exit_day,
        strategy=strategy, account="paper",
    )  # fmt: skip


def _fill(store: Store) -> None:
    record_trade(store, _trade("AAPL", 5, 50.0))
    record_trade(store, _trade("MSFT", 3, -20.0))
    record_trade(store, _trade("AAPL", 9, 10.0, strategy="panic"))
    record_trade(store, replace(_trade("XOM", 4, 5.0), account="live"))


def test_the_journal_is_oldest_exit_first_and_narrows(store: Store) -> None:
    _fill(store)
    rows = journal_rows(store, account="paper")
    assert list(rows["symbol"]) == ["MSFT", "AAPL", "AAPL"]  # exits on the 3rd, 5th, 9th
    assert list(rows["exit_reason"]) == ["stop", "target", "target"]
    assert list(journal_rows(store, account="paper", strategy="panic")["pnl"]) == [10.0]
    since = journal_rows(store, account="paper", since=date(2024, 1, 4))
    assert list(since["exit_date"]) == [date(2024, 1, 5), date(2024, 1, 9)]
    assert list(journal_rows(store, account="paper", limit=1)["exit_date"]) == [date(2024, 1, 9)]
    assert list(journal_rows(store, account="live")["symbol"]) == ["XOM"]


def test_positions_and_equity_history_with_day_pnl_and_drawdown(store: Store) -> None:
    opened = datetime(2024, 1, 2, tzinfo=UTC)
    upsert_position(store, Position("MSFT", -1, 5, 400.0, opened, stop=410.0, strategy="composer",
                                    account="paper"))  # fmt: skip
    upsert_position(store, Position("AAPL", 1, 10, 180.0, opened, target=200.0, account="paper"))
    positions = position_rows(store, account="paper")
    assert list(positions["symbol"]) == ["AAPL", "MSFT"]
    assert list(positions["side"]) == [1, -1]
    for day, equity in ((2, 100_000.0), (3, 102_000.0), (4, 99_960.0), (5, 101_000.0)):
        snapshot = EquitySnapshot(
            date(2024, 1, day), equity, equity / 2, 0.25, 10.0, n_signals=day, n_positions=2,
            account="paper",
        )  # fmt: skip
        snapshot_equity(store, snapshot)
    rows = equity_rows(store, account="paper")
    assert rows["day_pnl"].iloc[1:].tolist() == pytest.approx([2_000.0, -2_040.0, 1_040.0])
    assert pd.isna(rows["day_pnl"].iloc[0])
    # the peak is 102,000 from the 3rd: 99,960 is 2 % below it, 101,000 about 0.98 %
    assert rows["drawdown"].tolist() == pytest.approx([0.0, 0.0, 0.02, 1 - 101_000 / 102_000])
    assert rows["n_signals"].tolist() == [2, 3, 4, 5]
    late = equity_rows(store, account="paper", since=date(2024, 1, 4), limit=1)
    assert late["date"].tolist() == [date(2024, 1, 5)]
    assert late["day_pnl"].tolist() == pytest.approx([1_040.0])  # computed before the cut


def _context(tmp_path: Path) -> AppContext:
    return open_context(ConfigRequest(), environ=os.environ, cwd=tmp_path, log_to_console=False)


def test_a_missing_database_is_reported_not_created(tmp_path: Path, isolated_home: Path) -> None:
    view = positions_view(_context(tmp_path))
    assert view.database_missing and view.empty
    assert not (isolated_home / "harvester.db").exists()
    with pytest.raises(ConfigError, match="--since"):
        journal_view(_context(tmp_path), since="yesterday-ish")


def test_csv_is_written_whole(tmp_path: Path) -> None:
    frame = pd.DataFrame({"symbol": ["AAPL"], "pnl": [1.5]})
    target = write_csv(frame, tmp_path / "out" / "journal.csv")
    assert target.read_text(encoding="utf-8").splitlines() == ["symbol,pnl", "AAPL,1.5"]
    assert [p.name for p in target.parent.iterdir()] == ["journal.csv"]
