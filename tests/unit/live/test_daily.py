"""The daily step: order ids, idempotence of a rerun, positions and the journal."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import pytest

from harvester.app.daily import daily_plan, replay, run_daily
from harvester.config.models import HarvesterConfig
from harvester.core.errors import DataError
from harvester.data.panel import Panel
from harvester.live.daily import EngineFill, execute_plan, plan_orders
from harvester.live.paper import PaperBroker
from harvester.store import Store
from harvester.store.repository import (
    account_fills,
    account_orders,
    equity_history,
    journal,
    open_positions,
)


def _fill(symbol: str, reason: str, side: str = "buy") -> EngineFill:
    return EngineFill(symbol, "buy" if side == "buy" else "sell", 2.0, 10.0, 0.01, 0.0, reason)


def test_order_ids_follow_run_symbol_day_intent_and_are_unique() -> None:
    fills = [_fill("AAPL", "stop", "sell"), _fill("AAPL", "entry"), _fill("AAPL", "entry")]
    orders = plan_orders(fills, run="paper.composer", day=date(2017, 3, 1))
    assert [o.request.client_order_id for o in orders] == [
        "hv-paper.composer-AAPL-20170301-stop",
        "hv-paper.composer-AAPL-20170301-entry",
        "hv-paper.composer-AAPL-20170301-entry-2",
    ]
    assert [o.request.side for o in orders] == ["sell", "buy", "buy"]


def _busy_days(store: Store, history: Panel, start: pd.Timestamp, days: int) -> None:
    broker = PaperBroker(store)
    for day in history.index[history.index >= start][:days]:
        run_daily(store, broker, history, "composer", HarvesterConfig(), live_start=start,
                  as_of=day)  # fmt: skip


def test_running_the_same_day_twice_adds_nothing(store: Store, history: Panel) -> None:
    start = history.index[-40]
    _busy_days(store, history, start, 20)
    before = (
        len(account_orders(store, account="paper")),
        len(account_fills(store, account="paper")),
        len(journal(store, account="paper")),
        open_positions(store, account="paper"),
        equity_history(store, account="paper"),
    )
    assert before[0] > 0 and before[1] == before[0]
    _busy_days(store, history, start, 20)  # every one of those days again
    after = (
        len(account_orders(store, account="paper")),
        len(account_fills(store, account="paper")),
        len(journal(store, account="paper")),
        open_positions(store, account="paper"),
        equity_history(store, account="paper"),
    )
    assert after[:3] == before[:3]
    assert [(p.symbol, p.qty) for p in after[3]] == [(p.symbol, p.qty) for p in before[3]]
    pd.testing.assert_frame_equal(after[4], before[4])


def test_positions_carry_stop_target_and_equity_is_snapshotted(
    store: Store, history: Panel
) -> None:
    start = history.index[-60]
    _busy_days(store, history, start, 10)
    positions = open_positions(store, account="paper")
    assert positions, "composer holds something after ten sessions"
    for p in positions:
        assert p.stop is not None and p.target is not None
        assert (
            (p.stop < p.avg_price < p.target) if p.side == 1 else (p.target < p.avg_price < p.stop)
        )
    snapshots = equity_history(store, account="paper")
    assert len(snapshots) == 10
    assert snapshots["n_positions"].iloc[-1] == len(positions)


def test_a_live_start_after_the_session_is_refused(store: Store, history: Panel) -> None:
    with pytest.raises(DataError, match="live start"):
        run_daily(store, PaperBroker(store), history, "composer", HarvesterConfig(),
                  live_start="2018-06-01", as_of="2017-06-30")  # fmt: skip


def test_a_same_day_scale_out_and_exit_are_both_journalled_once(
    store: Store, history: Panel
) -> None:
    # The engine's trades of one replay, rewritten so that AAPL, bought on the live start,
    # scales out half and is stopped out of the rest on the session: two journal rows.
    rep = replay(history, "composer", HarvesterConfig(), live_start=history.index[-30])
    session, entry = rep.panel.index[-1], rep.panel.index[1]
    assert len(rep.result.trades) > 0  # a real row supplies every other column
    base = {
        **rep.result.trades.iloc[0].to_dict(),
        "symbol": "AAPL",
        "side": "long",
        "entry_time": entry,
        "exit_time": session,
        "entry_price": 100.0,
        "qty": 5.0,
        "bars_held": 28,
        "mfe": 0.1,
        "mae": -0.01,
    }
    trades = pd.DataFrame([
        {**base, "exit_price": 110.0, "pnl": 50.0, "return": 0.10, "exit_reason": "scale_out"},
        {**base, "exit_price": 104.0, "pnl": 20.0, "return": 0.04, "exit_reason": "stop"},
    ])  # fmt: skip
    crafted = replace(rep, result=replace(rep.result, trades=trades))
    plan = daily_plan(crafted, account="paper")
    assert [(t.exit_reason, t.exit_seq) for t in plan.closed] == [("scale_out", 0), ("stop", 1)]
    for _ in range(2):  # the day, then the same day again
        execute_plan(store, PaperBroker(store), replace(plan, orders=()), account="paper")
    booked = journal(store, account="paper")
    assert list(booked["exit_reason"]) == ["scale_out", "stop"]
    assert booked["pnl"].sum() == 70.0
