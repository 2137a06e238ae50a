"""The dashboard reads the store and renders hand-checkable numbers."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from rich.console import Console

from harvester.app.dashboard import dashboard_data, sparkline
from harvester.cli.dashboard_cmd import render_dashboard
from harvester.cli.main import main
from harvester.core.errors import ConfigError
from harvester.store import Store, open_store
from harvester.store.repository import (
    EquitySnapshot,
    Position,
    Trade,
    record_trade,
    snapshot_equity,
    upsert_position,
)

# (day, equity, cash, exposure, unrealised) in January 2024
SNAPSHOTS = (
    (2, 100_000.0, 50_000.0, 0.50, 0.0),
    (3, 102_000.0, 51_000.0, 0.50, 100.0),
    (4, 99_960.0, 55_000.0, 0.45, -80.0),
    (5, 101_000.0, 60_000.0, 0.40, 250.0),
)


def _trade(symbol: str, exit_day: int, pnl: float) -> Trade:
    return Trade(
        symbol=symbol, side=1, entry_date=date(2024, 1, 2), entry_price=100.0,
        exit_date=date(2024, 1, exit_day), exit_price=100.0 + pnl / 10, qty=10.0, pnl=pnl,
        trade_return=pnl / 1000, exit_reason="target" if pnl > 0 else "stop",
        bars_held=exit_day - 2, account="paper",
    )  # fmt: skip


def _seed(store: Store) -> None:
    record_trade(store, _trade("NVDA", 3, -20.0))
    record_trade(store, _trade("AMZN", 5, 50.0))
    record_trade(store, _trade("META", 9, 10.0))
    opened = datetime(2024, 1, 2, tzinfo=UTC)
    upsert_position(store, Position("MSFT", -1, 5, 400.0, opened, stop=410.0, account="paper"))
    upsert_position(store, Position("AAPL", 1, 10, 180.0, opened, target=200.0, account="paper"))
    for day, equity, cash, exposure, unrealised in SNAPSHOTS:
        snapshot_equity(store, EquitySnapshot(date(2024, 1, day), equity, cash, exposure,
                                              unrealised, account="paper"))  # fmt: skip


def _text(store: Store, *, journal: int = 10, equity_days: int = 30) -> str:
    console = Console(record=True, width=120)
    data = dashboard_data(store, account="paper", journal=journal, equity_days=equity_days)
    console.print(render_dashboard(data))
    return console.export_text()


def test_the_summary_holds_the_hand_computed_numbers(store: Store) -> None:
    _seed(store)
    summary = dashboard_data(store, account="paper").summary
    assert summary.as_of == date(2024, 1, 5)
    assert summary.day_pnl == pytest.approx(1_040.0)  # 101,000 - 99,960
    assert summary.day_return == pytest.approx(1_040.0 / 99_960.0)
    assert summary.drawdown == pytest.approx(1 - 101_000 / 102_000)
    assert summary.max_drawdown == pytest.approx(1 - 99_960 / 102_000)
    assert summary.realised_pnl == pytest.approx(40.0)  # -20 + 50 + 10
    assert summary.win_rate == pytest.approx(2 / 3)


def test_the_rendered_dashboard_shows_portfolio_positions_trades_and_equity(
    store: Store,
) -> None:
    _seed(store)
    text = _text(store, journal=2, equity_days=3)
    for expected in (
        "101,000.00",  # equity
        "60,000.00",  # cash
        "40.00%",  # exposure
        "+250.00",  # unrealised
        "+1,040.00 (+1.04%)",  # day P&L: 1,040 / 99,960 = 1.0404 %
        "0.98% (max 2.00%)",  # 1 - 101,000/102,000; 1 - 99,960/102,000
        "+40.00",  # realised
        "3 (win rate 66.67%)",
        "open positions (2)",
        "2,000.00",  # MSFT cost: 5 x 400
        "1,800.00",  # AAPL cost: 10 x 180
        "recent trades (last 2)",
        "█▁▅",  # 102,000 top, 99,960 bottom, 101,000: (1,040/2,040) x 7 = 3.57 -> level 4
        "low 99,960.00  high 102,000.00  change -0.98%",
    ):
        assert expected in text, expected
    trades = text.split("recent trades")[1]
    assert "AMZN" in trades and "META" in trades and "NVDA" not in trades


def test_an_empty_store_renders_without_numbers(store: Store) -> None:
    text = _text(store)
    assert "no open position" in text and "no closed trade" in text
    assert "no equity snapshot yet" in text


def test_sparkline_levels() -> None:
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█"
    assert sparkline([5.0, 5.0]) == "▄▄"
    assert sparkline([1.0, math.nan, 3.0]) == "▁ █"
    assert sparkline([]) == ""


def test_bad_counts_are_refused(store: Store) -> None:
    with pytest.raises(ConfigError):
        dashboard_data(store, journal=0)


def test_the_command_prints_the_dashboard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'dash.db'}"
    monkeypatch.setenv("HARVESTER_DATABASE_URL", url)
    assert main(["dashboard"]) == 0
    assert "no database yet" in capsys.readouterr().out
    seeded = open_store(url, environ={})
    _seed(seeded)
    seeded.close()
    assert main(["dashboard", "--journal", "1", "--equity", "2"]) == 0
    out = capsys.readouterr().out
    assert "recent trades (last 1)" in out and "equity (last 2)" in out
    assert "101,000.00" in out
