"""``harvester analyze`` on a backtest trades file and on the journal, and its errors."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from harvester.app.analyze import analyze, from_backtest, from_journal, read_trades
from harvester.backtest.result import TRADE_CSV_COLUMNS
from harvester.cli.main import main
from harvester.store import Store, open_store
from harvester.store.repository import Trade, journal, record_trade

# 12 trend trades of BTC (each 2 days, +1.5 % of a 3 % MFE), one open position at the end
_ENTRY = pd.Timestamp("2024-01-01")


def backtest_csv(path: Path) -> Path:
    rows = []
    for k in range(12):
        entry = _ENTRY + pd.Timedelta(days=3 * k)
        win = k % 3 != 2  # 8 wins of +15, 4 losses of -10
        rows.append({
            "symbol": "BTC", "side": "long", "qty": 10.0, "entry_time": entry,
            "entry_price": 100.0, "exit_time": entry + pd.Timedelta(days=2),
            "exit_price": 101.5 if win else 99.0, "fees": 0.0, "slippage": 0.0,
            "pnl": 15.0 if win else -10.0, "return": 0.015 if win else -0.01,
            "exit_reason": "target" if win else "stop", "mfe": 0.03 if win else 0.0,
            "mae": -0.01, "bars_held": 2, "regime": "trend",
        })  # fmt: skip
    rows.append({**rows[0], "exit_reason": "open", "exit_time": _ENTRY + pd.Timedelta(days=40)})
    frame = pd.DataFrame(rows)
    assert tuple(frame.columns) == (*TRADE_CSV_COLUMNS, "regime")
    frame.to_csv(path, index=False)
    return path


def test_backtest_file_is_adapted_and_analysed(tmp_path: Path) -> None:
    trades = read_trades(backtest_csv(tmp_path / "trades.csv"))
    assert len(trades) == 12  # the open position is not a closed trade
    assert set(trades["hours_held"]) == {48.0}
    analysis = analyze(trades)
    (g,) = analysis.by_regime.to_dict("records")
    assert g["expectancy"] == pytest.approx((8 * 15 - 4 * 10) / 12)
    assert g["exit_efficiency"] == pytest.approx(8 * 0.5 / 12)  # losers (mfe 0) count 0
    assert g["time_efficiency"] == pytest.approx((80 / 12) / 48)
    # 12 trades: 0.5·12/20 = 0.3, low; trend exit efficiency 0.33 fires nothing → maintain
    assert [(r.rule_name, r.confidence) for r in analysis.recommendations] == [("harvest", 0.3)]
    assert read_trades(tmp_path).equals(trades)  # the output folder works too


def test_cli_prints_tables_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = backtest_csv(tmp_path / "trades.csv")
    assert main(["analyze", "--trades", str(path)]) == 0
    out = capsys.readouterr().out
    assert "by regime" in out and "by exit type" in out and "maintain" in out
    assert main(["analyze", "--trades", str(path), "--json", "--window", "6"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["analysis_window"] == "Last 6 trades"
    assert report["performance_by_regime"]["BTC_trend"]["trades"] == 6
    assert report["recommendations"] == []  # 6 < 10 trades


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "--trades", str(tmp_path / "none.csv")]) == 2
    assert capsys.readouterr().err.strip() == f"error: no trades file at {tmp_path / 'none.csv'}"
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"symbol": ["A"], "pnl": [1.0]}).to_csv(bad, index=False)
    assert main(["analyze", "--trades", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "lacks column(s) entry_time, exit_time, return" in err
    assert main(["analyze"]) == 2
    assert "exactly one of --trades FILE or --journal" in capsys.readouterr().err


def _journal_trade(day: int, pnl: float, regime: str | None) -> Trade:
    return Trade(
        symbol="ETH", side=1, entry_date=date(2024, 3, 1) + timedelta(days=day),
        entry_price=100.0, exit_date=date(2024, 3, 2) + timedelta(days=day),
        exit_price=100.0 + pnl / 10, qty=10.0, pnl=pnl, trade_return=pnl / 1000,
        exit_reason="target" if pnl > 0 else "stop", bars_held=1, account="paper",
        regime=regime, mfe=0.02 if pnl > 0 else None, mae=-0.01 if pnl > 0 else None,
    )  # fmt: skip


def test_journal_is_adapted(store: Store) -> None:
    for day, (pnl, regime) in enumerate([(10.0, "chop"), (-4.0, "chop"), (6.0, None)]):
        record_trade(store, _journal_trade(day, pnl, regime))
    trades = from_journal(journal(store, account="paper"))
    assert list(trades["regime"].fillna("?")) == ["chop", "chop", "?"]
    assert set(trades["hours_held"]) == {24.0}  # one calendar day each
    table = analyze(trades).by_regime.set_index("regime")
    assert table.loc["chop", "expectancy"] == pytest.approx((10 - 4) / 2)
    # only the win has mfe/mae: 0.01/0.02 captured, (0.01 + 0.01)/(0.02 + 0.01) recovered
    assert table.loc["chop", "exit_efficiency"] == pytest.approx(0.5)
    assert table.loc["chop", "adverse_recovery_rate"] == pytest.approx(2 / 3)
    assert table.loc["unknown", "trades"] == 1


def test_cli_on_the_journal(isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "--journal"]) == 2
    assert "no database" in capsys.readouterr().err
    store = open_store(None, home=None, environ={"HARVESTER_HOME": str(isolated_home)})
    try:
        for day in range(10):
            record_trade(store, _journal_trade(day, 5.0 if day % 2 else -5.0, "chop"))
    finally:
        store.close()
    assert main(["analyze", "--journal", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # 10 chop trades of 24 h, expectancy (5·5 − 5·5)/10 = 0; wins capture 0.005/0.02 = 0.25
    # of a 2 % MFE (losses have no mfe): exit efficiency 0.25 < 0.5 with MFE 2 % ≥ 2 %
    partial, time_stop = report["recommendations"]
    assert (partial["rule_name"], partial["action"]) == ("partial_25", "accelerate")
    assert "exit efficiency 0.25 < 0.5" in partial["reason"]
    assert (time_stop["rule_name"], time_stop["action"]) == ("time_stop", "tighten")
    assert "expectancy 0.00 <= 0.0" in time_stop["reason"]
    assert time_stop["confidence_level"] == "low" and time_stop["confidence"] == 0.25


def test_from_backtest_without_regime_column() -> None:
    frame = pd.DataFrame({
        "symbol": ["A"], "entry_time": ["2024-01-01 10:00"], "exit_time": ["2024-01-01 13:30"],
        "pnl": [1.0], "return": [0.01], "exit_reason": ["signal"], "mfe": [0.02], "mae": [0.0],
    })  # fmt: skip
    trades = from_backtest(frame)
    assert trades["hours_held"].tolist() == [3.5] and trades["regime"].isna().all()
