"""Crash safety: the daily step is SIGKILLed at random writes while it submits and books
orders, then rerun; the store always ends consistent and equal to an uninterrupted run.

Each kill runs in a forked child (cheap: it inherits the loaded data and compiled engine).
The child wraps the store writes the daily step and the paper broker make so that the k-th
one SIGKILLs the process, right before or right after the write; the hook lives here, in the
test, not in production code.
"""

from __future__ import annotations

import os
import random
import signal
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

import harvester.live.daily as daily_module
import harvester.live.paper as paper_module
from harvester.app.daily import run_daily
from harvester.config.models import HarvesterConfig
from harvester.data.panel import Panel
from harvester.live.paper import PaperBroker
from harvester.store import Store, open_store
from harvester.store.models import FillRow, OrderRow
from harvester.store.repository import account_fills, account_orders, journal, open_positions

KILLS = 20
WRITES = ("record_order", "record_fill", "update_order", "record_trade", "upsert_position",
          "close_position", "snapshot_equity")  # fmt: skip


def _step(store: Store, history: Panel, start: pd.Timestamp, day: pd.Timestamp) -> None:
    run_daily(store, PaperBroker(store), history, "composer", HarvesterConfig(),
              live_start=start, as_of=day)  # fmt: skip


def _killing(function: Callable[..., Any], state: dict[str, int]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        state["n"] += 1
        if state["n"] == state["k"] and state["before"]:
            os.kill(os.getpid(), signal.SIGKILL)
        result = function(*args, **kwargs)
        if state["n"] == state["k"]:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    return wrapper


def _child(url: str, history: Panel, start: pd.Timestamp, day: pd.Timestamp, k: int,
           before: bool) -> None:  # fmt: skip
    """Run in the forked child: never returns."""
    try:
        state = {"n": 0, "k": k, "before": int(before)}
        for module in (daily_module, paper_module):
            for name in WRITES:
                if hasattr(module, name):
                    setattr(module, name, _killing(getattr(module, name), state))
        store = open_store(url, environ={})
        _step(store, history, start, day)
        os._exit(0)
    except BaseException:
        os._exit(3)


def _killed_run(store: Store, history: Panel, start: pd.Timestamp, day: pd.Timestamp,
                k: int, before: bool) -> bool:  # fmt: skip
    url = store.engine.url.render_as_string(hide_password=False)
    pid = os.fork()
    if pid == 0:
        _child(url, history, start, day, k, before)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return True
    assert os.WEXITSTATUS(status) == 0, "the child failed without being killed"
    return False


def _assert_consistent(store: Store) -> None:
    with store.session() as session:
        n_fills = session.scalar(select(func.count()).select_from(FillRow))
        n_orders = session.scalar(select(func.count()).select_from(OrderRow))
    fills = account_fills(store, account="paper")
    orders = account_orders(store, account="paper")
    assert len(fills) == n_fills  # every fill has its order
    assert len(orders) == n_orders == len({o.client_order_id for o in orders})
    assert all(o.status == "filled" for o in orders)
    assert fills["order_id"].is_unique  # one fill per order, never two
    held: dict[str, float] = defaultdict(float)
    signs = np.where(fills["side"] == "buy", 1.0, -1.0)
    for symbol, qty in zip(fills["symbol"], signs * fills["qty"].to_numpy(), strict=True):
        held[str(symbol)] += float(qty)
    summed = {s: q for s, q in held.items() if abs(q) > 1e-9}
    assert {p.symbol: p.side * p.qty for p in open_positions(store, account="paper")} == summed


def test_sigkill_at_random_writes_then_rerun_leaves_the_store_consistent(
    store: Store, history: Panel, tmp_path: Any
) -> None:
    if not hasattr(os, "fork"):
        pytest.skip("needs os.fork")
    rng = random.Random(7)
    start = history.index[-60]
    days = history.index[-60:]
    kills, done = 0, []
    for day in days:
        if kills == KILLS:
            break
        done.append(day)
        if _killed_run(store, history, start, day, rng.randint(1, 12), rng.random() < 0.5):
            kills += 1
        _step(store, history, start, day)  # the rerun
        _assert_consistent(store)
    assert kills == KILLS

    clean = open_store(f"sqlite:///{tmp_path / 'clean.db'}", environ={})
    try:
        for day in done:
            _step(clean, history, start, day)
        columns = ["symbol", "entry_date", "exit_date", "entry_price", "exit_price", "qty",
                   "exit_reason"]  # fmt: skip
        pd.testing.assert_frame_equal(journal(store, account="paper")[columns],
                                      journal(clean, account="paper")[columns])  # fmt: skip
    finally:
        clean.close()
