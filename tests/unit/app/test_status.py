"""Status: drawdown and kill-switches by hand, CRI against pandas, the G-Score's points, the
cache's freshness and a report read from a filled store.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harvester.app.context import AppContext, open_context
from harvester.app.status import (
    cache_health,
    g_score_meaning,
    macro,
    risk_metrics,
    run_status,
    tradable_universe,
)
from harvester.config.loader import ConfigRequest
from harvester.data.cache import ParquetCache
from harvester.data.panel import Panel
from harvester.store import Store
from harvester.store.repository import (
    EquitySnapshot,
    Position,
    finish_run,
    record_run,
    snapshot_equity,
    upsert_position,
)

DAYS = pd.bdate_range("2024-01-01", periods=60)


def test_drawdown_and_the_two_kill_switches_by_hand() -> None:
    # peak 110; 95 is 13.6 % below it: under a 15 % limit, over a 10 % one
    equity = pd.Series([100.0, 110.0, 104.5, 95.0])
    calm = risk_metrics(equity, max_drawdown_pct=15.0, max_daily_loss_pct=10.0)
    assert calm.drawdown == pytest.approx(1 - 95 / 110)
    assert calm.max_drawdown == pytest.approx(1 - 95 / 110)
    assert calm.daily_loss == pytest.approx(1 - 95 / 104.5)  # 9.09 %
    assert not calm.drawdown_tripped and not calm.daily_loss_tripped and not calm.kill_switch
    strict = risk_metrics(equity, max_drawdown_pct=10.0, max_daily_loss_pct=2.0)
    assert strict.drawdown_tripped and strict.daily_loss_tripped and strict.kill_switch
    # the drawdown switch stays tripped after a recovery; the daily one looks at the last day
    recovered = risk_metrics(pd.Series([100.0, 80.0, 101.0]), max_drawdown_pct=15.0,
                             max_daily_loss_pct=2.0)  # fmt: skip
    assert recovered.drawdown == 0.0 and recovered.drawdown_tripped
    assert not recovered.daily_loss_tripped
    off = risk_metrics(equity, max_drawdown_pct=0.0, max_daily_loss_pct=0.0)
    assert not off.kill_switch
    empty = risk_metrics(pd.Series([], dtype=float), max_drawdown_pct=15, max_daily_loss_pct=2)
    assert empty.drawdown is None and not empty.kill_switch


def _panel(aux: dict[str, np.ndarray] | None = None) -> Panel:
    rng = np.random.default_rng(7)
    frames = {}
    for symbol in ("AAA", "BBB", "CCC"):
        close = 100 * np.cumprod(1 + rng.normal(0, 0.02, len(DAYS)))
        volume = rng.uniform(1e5, 1e6, len(DAYS))
        frames[symbol] = pd.DataFrame(
            {"open": close, "high": close * 1.01, "low": close * 0.99, "close": close,
             "volume": volume}, index=DAYS,
        )  # fmt: skip
    series = {k: pd.Series(v, index=DAYS) for k, v in (aux or {}).items()}
    return Panel.from_frames(frames, aux=series)


def test_the_tradable_universe_is_cri_above_the_threshold_on_the_last_session() -> None:
    panel = _panel()
    close, volume = panel.frame("close"), panel.frame("volume")
    abnormal = volume / volume.rolling(20).mean()
    expected = close.pct_change().abs().rolling(20).corr(abnormal.diff()).iloc[-1]
    low, middle, _ = sorted(expected)
    threshold = (low + middle) / 2  # two pass, one does not
    tradable = tradable_universe(panel, threshold=threshold)
    assert tradable.cri == pytest.approx(expected.to_dict())
    passing = expected[expected >= threshold].sort_values(ascending=False)
    assert tradable.symbols == tuple(passing.index)
    assert tradable.as_of == DAYS[-1].date() and len(tradable.symbols) == 2


def test_the_g_score_counts_its_three_points() -> None:
    flat = np.full(len(DAYS), 100.0)
    falling = flat.copy()
    falling[-1] = 94.0  # -6 % over 7 sessions: a point
    rising = flat.copy()
    rising[-1] = 109.0  # +9 %: no point (needs > 10 %)
    vix = np.full(len(DAYS), 30.0)  # above 25: a point
    state = macro(_panel({"vix": vix, "benchmark": falling, "oil": rising}))
    assert state.g_score == 2.0 and state.size_multiplier == 0.5
    assert state.benchmark_return == pytest.approx(-0.06)
    assert state.oil_return == pytest.approx(0.09)
    assert "halved" in state.meaning
    calm = macro(_panel({"vix": np.full(len(DAYS), 12.0), "benchmark": flat, "oil": flat}))
    assert calm.g_score == 0.0 and calm.size_multiplier == 1.0
    missing = macro(_panel({"vix": vix}))
    assert missing.g_score is None and "benchmark, oil" in (missing.note or "")
    assert g_score_meaning(1.0)[1] == 1.0 and g_score_meaning(3.0)[1] == 0.5


def test_cache_freshness_counts_stale_symbols(tmp_path: Path) -> None:
    cache = ParquetCache(tmp_path)
    bars = pd.DataFrame(
        {c: [1.0] for c in ("open", "high", "low", "close", "volume")},
        index=pd.DatetimeIndex(["2024-01-02"], name="date"),
    )
    now = datetime(2024, 1, 10, 12, tzinfo=UTC)
    cache.put("yfinance", "AAPL", bars, fetched_at=now - timedelta(hours=2))
    cache.put("yfinance", "MSFT", bars, fetched_at=now - timedelta(hours=30))
    cache.put("alpaca", "SPY", bars, fetched_at=now - timedelta(hours=1))
    health = cache_health(tmp_path, ttl_hours=12, now=now)
    assert (health.symbols, health.stale) == (3, 1)
    assert health.newest == now - timedelta(hours=1)
    assert health.oldest == now - timedelta(hours=30)
    assert cache_health(tmp_path / "none", ttl_hours=12, now=now).symbols == 0


def _context(tmp_path: Path) -> AppContext:
    return open_context(ConfigRequest(), environ=os.environ, cwd=tmp_path, log_to_console=False)


def test_the_report_reads_the_store(store: Store, tmp_path: Path) -> None:
    run_id = record_run(store, "scan", started_at=datetime(2024, 1, 5, 21, tzinfo=UTC))
    finish_run(store, run_id, "ok", finished_at=datetime(2024, 1, 5, 21, 1, tzinfo=UTC))
    for day, equity in ((3, 100_000.0), (4, 101_000.0), (5, 98_000.0)):
        snapshot_equity(store, EquitySnapshot(date(2024, 1, day), equity, 90_000.0, 0.1, 25.0,
                                              account="paper"))  # fmt: skip
    upsert_position(store, Position("AAPL", 1, 10, 180.0, datetime(2024, 1, 3, tzinfo=UTC),
                                    account="paper"))  # fmt: skip
    prices = tmp_path / "prices.csv"
    _panel().to_long().to_csv(prices, index=False)
    report = run_status(_context(tmp_path), data=str(prices), store=store)
    assert report.health.database_state == "ok"
    assert report.health.last_scan == datetime(2024, 1, 5, 21, 1, tzinfo=UTC)
    assert report.portfolio.as_of == date(2024, 1, 5)
    assert report.portfolio.day_pnl == pytest.approx(-3_000.0)
    assert report.portfolio.open_positions == 1
    assert report.risk.drawdown == pytest.approx(1 - 98 / 101)
    # 98,000 is 2.97 % below 101,000: the default 2 % daily-loss switch is tripped
    assert report.risk.daily_loss_tripped and report.risk.kill_switch
    assert report.tradable.threshold == 0.4
    assert report.macro.g_score is None  # the file has no vix/benchmark/oil


def test_no_database_is_reported_and_not_created(tmp_path: Path, isolated_home: Path) -> None:
    report = run_status(_context(tmp_path), data="sample")
    assert report.health.database_state == "missing"
    assert report.portfolio.as_of is None and report.portfolio.open_positions == 0
    assert not (isolated_home / "harvester.db").exists()
    assert report.macro.g_score is not None  # the sample has the three series
