"""Parity: 60 sessions replayed one day at a time through the daily step and the paper
broker book the same trades and fills as one backtest over the same sessions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harvester.app.daily import run_daily
from harvester.backtest.engine import run_backtest
from harvester.backtest.inputs import market_arrays
from harvester.config.models import HarvesterConfig
from harvester.data.panel import Panel
from harvester.live.paper import PaperBroker
from harvester.store import Store
from harvester.store.repository import account_fills, journal, open_positions
from harvester.strategies.registry import STRATEGIES

SESSIONS = 60
TRADE_KEYS = ["symbol", "side", "entry_date", "entry_price", "exit_date", "exit_price", "qty"]


def _one_backtest(history: Panel, start: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reference: signals and engine inputs on the whole history, one engine run from
    ``start`` (what research/walk_forward.py does for a test window)."""
    strategy = STRATEGIES["composer"]
    config = strategy.configure(HarvesterConfig())
    first = int(history.index.searchsorted(start))
    rows = slice(first, len(history.index))
    signals = strategy.generate(history, config).signals
    cut = signals.cut(rows)
    market = market_arrays(history, config).rows(rows)
    result = run_backtest(history.slice(start, None), cut, config, market=market)
    return result.trades, result.fills


def test_daily_replay_books_the_backtest_trades(store: Store, history: Panel) -> None:
    start = history.index[-SESSIONS]
    broker = PaperBroker(store, account="paper")
    for day in history.index[-SESSIONS:]:
        run_daily(store, broker, history, "composer", HarvesterConfig(), live_start=start,
                  as_of=day)  # fmt: skip
    trades, fills = _one_backtest(history, start)
    closed = trades[trades["exit_reason"] != "open"].copy()
    assert len(closed) >= 20, "the window must hold trades for the test to mean something"

    expected = closed.assign(
        side=np.where(closed["side"] == "long", 1, -1),
        entry_date=closed["entry_time"].dt.date,
        exit_date=closed["exit_time"].dt.date,
    )[[*TRADE_KEYS, "exit_reason"]]
    booked = journal(store, account="paper")[[*TRADE_KEYS, "exit_reason"]]
    key = ["exit_date", "symbol", "entry_date"]
    pd.testing.assert_frame_equal(
        booked.sort_values(key).reset_index(drop=True),
        expected.sort_values(key).reset_index(drop=True),
        check_dtype=False,
    )

    paper = account_fills(store, account="paper")
    got = paper.assign(time=pd.to_datetime(paper["filled_at"]).dt.tz_localize(None))
    pd.testing.assert_frame_equal(
        got[["time", "symbol", "side", "qty", "price", "fee"]].reset_index(drop=True),
        fills[["time", "symbol", "side", "qty", "price", "fee"]].reset_index(drop=True),
        check_dtype=False,
    )

    still_open = trades[trades["exit_reason"] == "open"]
    held = {p.symbol: p.side * p.qty for p in open_positions(store, account="paper")}
    sides = np.where(still_open["side"] == "long", 1.0, -1.0)
    assert held == dict(zip(still_open["symbol"], sides * still_open["qty"], strict=True))
    assert {p.symbol: p.qty for p in broker.positions()} == pytest.approx(held)
