"""The repository API on SQLite and PostgreSQL: idempotent writes, round trips, references."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from harvester.core.errors import DataError
from harvester.store import Store, StoreConflictError
from harvester.store import repository as repo
from harvester.store.models import (
    EquitySnapshotRow,
    FillRow,
    OrderRow,
    RunRow,
    ScanResultRow,
    SignalRow,
)

T0 = datetime(2024, 1, 2, 21, 0, tzinfo=UTC)


def _count(store: Store, table: type[object]) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_runs_start_and_finish(store: Store) -> None:
    run_id = repo.record_run(store, "scan", config_hash="abc", started_at=T0)
    repo.finish_run(store, run_id, "ok", finished_at=T0.replace(hour=22))
    with store.session() as session:
        row = session.get(RunRow, run_id)
        assert row is not None
        assert (row.kind, row.status, row.config_hash) == ("scan", "ok", "abc")
        assert row.finished_at == datetime(2024, 1, 2, 22, 0, tzinfo=UTC)
    with pytest.raises(DataError, match="run 999"):
        repo.finish_run(store, 999)


def test_a_repeated_order_returns_the_first_one(store: Store) -> None:
    first = repo.record_order(
        store, client_order_id="run1-AAPL-2024-01-02-entry", symbol="AAPL", side="buy", qty=10
    )
    again = repo.record_order(
        store, client_order_id="run1-AAPL-2024-01-02-entry", symbol="AAPL", side="buy", qty=25
    )
    assert again == first
    assert again.qty == 10.0
    assert _count(store, OrderRow) == 1
    updated = repo.update_order(
        store, "run1-AAPL-2024-01-02-entry", status="filled", broker_order_id="b-1"
    )
    assert (updated.status, updated.broker_order_id, updated.id) == ("filled", "b-1", first.id)


def test_an_order_with_a_bad_side_is_refused(store: Store) -> None:
    with pytest.raises(DataError, match="side 'long'"):
        repo.record_order(store, client_order_id="x", symbol="AAPL", side="long", qty=1)


def test_fills_reference_their_order_and_repeat_harmlessly(store: Store) -> None:
    order = repo.record_order(store, client_order_id="o-1", symbol="MSFT", side="buy", qty=3)
    fill = repo.record_fill(store, order.id, qty=3, price=101.5, fee=0.3, broker_fill_id="f-1")
    assert repo.record_fill(store, order.id, qty=3, price=101.5, broker_fill_id="f-1") == fill
    assert (fill.qty, fill.price, fill.fee) == (3.0, 101.5, 0.3)
    assert _count(store, FillRow) == 1


def test_a_fill_without_its_order_is_rejected(store: Store) -> None:
    with pytest.raises(StoreConflictError, match="refused"):
        repo.record_fill(store, 12345, qty=1, price=10.0, filled_at=T0)
    assert _count(store, FillRow) == 0


def test_one_equity_snapshot_per_day_the_last_one_wins(store: Store) -> None:
    day = date(2024, 1, 2)
    repo.snapshot_equity(store, repo.EquitySnapshot(day, 100_000.0, 60_000.0, 0.4, 150.0, 3, 2))
    repo.snapshot_equity(store, repo.EquitySnapshot(day, 100_250.0, 60_000.0, 0.4, 400.0, 3, 2))
    repo.snapshot_equity(store, repo.EquitySnapshot(date(2024, 1, 3), 99_900.0, 99_900.0, 0.0, 0))
    assert _count(store, EquitySnapshotRow) == 2
    history = repo.equity_history(store)
    assert list(history.index) == [date(2024, 1, 2), date(2024, 1, 3)]
    assert history["equity"].tolist() == [100_250.0, 99_900.0]
    assert history["unrealised_pnl"].tolist() == [400.0, 0.0]


def test_positions_round_trip_update_and_close_into_the_journal(store: Store) -> None:
    aapl = repo.Position(
        "AAPL", 1, 10.0, 150.25, T0, stop=140.0, target=170.0, strategy="rally", updated_at=T0
    )
    msft = repo.Position("MSFT", -1, 5.0, 300.0, T0, strategy="rally", updated_at=T0)
    repo.upsert_position(store, aapl)
    repo.upsert_position(store, msft)
    assert repo.open_positions(store) == [aapl, msft]
    repo.upsert_position(
        store,
        repo.Position("AAPL", 1, 10.0, 150.25, T0, stop=145.0, strategy="rally", updated_at=T0),
    )
    (moved,) = [p for p in repo.open_positions(store) if p.symbol == "AAPL"]
    assert (moved.stop, moved.target) == (145.0, None)

    # Long 10 AAPL from 150.25 to 160.25: pnl 10 * 10 = 100, return 10 / 150.25.
    trade = repo.Trade(
        "AAPL",
        1,
        date(2024, 1, 2),
        150.25,
        date(2024, 1, 9),
        160.25,
        10.0,
        100.0,
        10 / 150.25,
        "target",
        5,
        strategy="rally",
        regime="trend",
        mfe=0.08,
        mae=-0.01,
    )
    assert repo.close_position(store, "AAPL", strategy="rally", trade=trade) is True
    assert repo.close_position(store, "AAPL", strategy="rally", trade=trade) is False
    assert [p.symbol for p in repo.open_positions(store)] == ["MSFT"]
    journal = repo.journal(store)
    assert len(journal) == 1
    row = journal.iloc[0]
    assert (row["symbol"], row["exit_reason"], row["bars_held"]) == ("AAPL", "target", 5)
    assert row["pnl"] == 100.0
    assert row["trade_return"] == pytest.approx(0.0665557404)


def test_positions_are_kept_per_account_and_strategy(store: Store) -> None:
    repo.upsert_position(store, repo.Position("XOM", 1, 1.0, 100.0, T0, strategy="a"))
    repo.upsert_position(store, repo.Position("XOM", 1, 2.0, 101.0, T0, strategy="b"))
    repo.upsert_position(store, repo.Position("XOM", 1, 3.0, 102.0, T0, account="live"))
    assert [p.qty for p in repo.open_positions(store)] == [1.0, 2.0]
    assert [p.qty for p in repo.open_positions(store, strategy="b")] == [2.0]
    assert [p.qty for p in repo.open_positions(store, account="live")] == [3.0]


def test_recording_the_same_trade_twice_keeps_one_row(store: Store) -> None:
    trade = repo.Trade(
        "JPM", -1, date(2024, 2, 1), 170.0, date(2024, 2, 5), 165.0, 4.0, 20.0, 5 / 170, "stop", 2
    )
    repo.record_trade(store, trade)
    repo.record_trade(store, trade)
    assert len(repo.journal(store)) == 1


def test_a_same_day_scale_out_and_exit_are_both_journalled_once(store: Store) -> None:
    # Long 10 XOM from 100: 5 scaled out at 110 (pnl 50) and 5 stopped at 104 (pnl 20), one day.
    day, entry = date(2024, 3, 8), date(2024, 3, 4)
    scale_out = repo.Trade(
        "XOM", 1, entry, 100.0, day, 110.0, 5.0, 50.0, 0.10, "scale_out", 4, exit_seq=0
    )
    final = repo.Trade("XOM", 1, entry, 100.0, day, 104.0, 5.0, 20.0, 0.04, "stop", 4, exit_seq=1)
    for _ in range(2):  # the day recorded, then recorded again
        repo.record_trade(store, scale_out)
        repo.record_trade(store, final)
    journal = repo.journal(store)
    assert list(journal["exit_reason"]) == ["scale_out", "stop"]
    assert list(journal["exit_seq"]) == [0, 1]
    assert journal["pnl"].sum() == 70.0


def test_signals_and_scan_results_are_stored(store: Store) -> None:
    run_id = repo.record_run(store, "scan", started_at=T0)
    signals = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-02", "2024-01-02"]),
            "symbol": ["AAPL", "MSFT"],
            "strategy": ["rally", "rally"],
            "direction": [1, -1],
            "score": [0.8, 0.4],
            "stop": [140.0, np.nan],
        }
    )
    assert repo.record_signals(store, run_id, signals) == 2
    with pytest.raises(DataError, match="score"):
        repo.record_signals(store, run_id, signals.drop(columns="score"))
    ranking = pd.DataFrame(
        {"symbol": ["MSFT", "AAPL"], "score": [0.4, 0.8], "p_rally": [0.3, np.nan]}
    )
    assert repo.record_scan_results(store, run_id, date(2024, 1, 2), ranking) == 2
    with store.session() as session:
        stops = {s: v for s, v in session.execute(select(SignalRow.symbol, SignalRow.stop))}
        scans = {r.symbol: (r.rank, r.fields) for r in session.scalars(select(ScanResultRow))}
    assert stops == {"AAPL": 140.0, "MSFT": None}
    assert scans == {"AAPL": (1, {"p_rally": None}), "MSFT": (2, {"p_rally": 0.3})}


def test_latest_models_picks_the_newest_per_symbol_and_strategy(store: Store) -> None:
    for day, symbol, auc in [(2, "AAPL", 0.60), (9, "AAPL", 0.65), (2, "MSFT", 0.55)]:
        repo.record_model(
            store,
            symbol=symbol,
            strategy="rally",
            path=f"models/rally/{symbol}-{day}.joblib",
            trained_at=datetime(2024, 1, day, tzinfo=UTC),
            metrics={"auc": np.float64(auc)},
            data_fingerprint="f" * 16,
        )
    latest = repo.latest_models(store)
    assert list(latest["symbol"]) == ["AAPL", "MSFT"]
    assert list(latest["path"]) == ["models/rally/AAPL-9.joblib", "models/rally/MSFT-2.joblib"]
    assert latest.iloc[0]["metrics"] == {"auc": 0.65}
    assert latest.iloc[0]["trained_at"] == datetime(2024, 1, 9, tzinfo=UTC)
    assert repo.latest_models(store, strategy="other").empty
