"""``harvester backtest`` end to end on the bundled sample with a signals file."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from harvester.backtest.result import TRADE_CSV_COLUMNS
from harvester.cli.main import main


def signals_file(tmp_path: Path) -> Path:
    rows = [
        ("2016-01-04", "AAPL", 1),
        ("2016-01-04", "XOM", -1),
        ("2016-03-01", "AAPL", 0),
        ("2016-03-01", "XOM", 0),
        ("2016-04-01", "MSFT", 1),
        ("2016-04-01", "NOPE", 1),  # unknown symbol: skipped and counted
    ]
    path = tmp_path / "signals.csv"
    pd.DataFrame(rows, columns=["date", "symbol", "signal"]).to_csv(path, index=False)
    return path


def test_backtest_writes_every_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    code = main(
        [
            "backtest", "--data", "sample", "--strategy", "signals",
            "--signals", str(signals_file(tmp_path)), "--fraction", "0.2",
            "--commission-bps", "2", "--slippage-bps", "3", "--max-positions", "3",
            "--set", "risk_params.max_position_size=0.5", "--set", "risk_params.max_drawdown_pct=0",
            "--set", "risk_management.stop_loss_atr=0",
            "--set", "risk_management.take_profit_atr=0",
            "--set", "risk_management.trailing_stops.enabled=false",
            "--start", "2016-01-01", "--end", "2016-12-31", "--out", str(out),
        ]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "sharpe" in printed
    assert "signals_unknown_symbol: 1" in printed
    trades = pd.read_csv(out / "trades.csv")
    # Every trade carries the rule regime (trend / chop / volatile / neutral) at its entry.
    assert tuple(trades.columns) == (*TRADE_CSV_COLUMNS, "regime")
    assert set(trades["regime"]) <= {"trend", "chop", "volatile", "neutral", "unknown"}
    assert set(trades["symbol"]) == {"AAPL", "XOM", "MSFT"}
    assert set(pd.read_csv(out / "equity.csv").columns) >= {"date", "equity", "cash", "exposure"}
    metrics = json.loads((out / "metrics.json").read_text())
    # Without stops, AAPL and XOM close on the 0 signals; MSFT is still open at the end.
    assert metrics["number_of_trades"] == 2
    assert trades.set_index("symbol").loc["MSFT", "exit_reason"] == "open"
    first = trades.set_index("symbol").loc["AAPL"]
    assert (first["entry_time"], first["exit_time"]) == ("2016-01-05", "2016-03-02")
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["execution"]["commission_bps"] == 2
    assert (out / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_backtest_without_signals_file_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["backtest", "--data", "sample"]) == 2
    assert "--signals FILE" in capsys.readouterr().err


def test_backtest_with_a_negative_fraction_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["backtest", "--signals", str(signals_file(tmp_path)), "--fraction", "-0.1"])
    assert code == 2
    assert "base_position_fraction" in capsys.readouterr().err
