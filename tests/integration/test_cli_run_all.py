"""``harvester backtest --run-all`` and ``--strategy rally --validate`` on the bundled sample."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from harvester.app.portfolio import SYMBOL_COLUMNS
from harvester.cli.main import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_run_all_backtests_each_symbol_alone_and_sums_a_portfolio(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "universe"
    code = main(
        [
            "backtest", "--run-all", "--strategy", "panic", "--data", "sample",
            "--start", "2017-01-01", "--set", "execution.fractional_shares=true",
            "--out", str(out), "--no-report",
        ]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "each symbol alone" in printed
    assert "panic portfolio of 33 symbols on sample" in printed

    symbols = pd.read_csv(out / "symbols.csv")
    assert tuple(symbols.columns) == SYMBOL_COLUMNS
    assert len(symbols) == 33
    returns = symbols["total_return"].to_numpy()
    assert (returns[:-1] >= returns[1:]).all()  # best total return first

    traded: set[str] = set()
    finals = 0.0
    for symbol in symbols["symbol"]:
        folder = out / symbol
        trades = pd.read_csv(folder / "trades.csv")
        if len(trades):
            traded.add(symbol)
            assert symbol in printed
        equity = pd.read_csv(folder / "equity.csv")
        # Each symbol trades its own slice of the capital.
        assert equity["equity"].iloc[0] == pytest.approx(100_000 / 33, rel=1e-3)
        finals += float(equity["equity"].iloc[-1])
        assert (folder / "equity.png").read_bytes()[:8] == PNG_MAGIC
        assert not (folder / "report.html").exists()  # --no-report
    assert traded, "panic should trade on the sample"
    assert set(symbols.loc[symbols["trades"] > 0, "symbol"]) <= traded

    portfolio = pd.read_csv(out / "portfolio_equity.csv")
    assert {"date", "equity", "cash", "gross", "exposure"} <= set(portfolio.columns)
    assert portfolio["equity"].iloc[-1] == pytest.approx(finals, rel=1e-9)
    metrics = json.loads((out / "portfolio_metrics.json").read_text())
    assert metrics["end_equity"] == pytest.approx(finals, rel=1e-9)
    assert metrics["number_of_trades"] == symbols["trades"].sum()
    for name in ("equity.png", "drawdown.png"):
        assert (out / name).read_bytes()[:8] == PNG_MAGIC


def test_run_all_needs_a_registered_strategy(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--run-all", "--strategy", "signals", "--data", "sample"]) == 2
    assert "--run-all needs a registered strategy" in capsys.readouterr().err


def test_validate_compares_auto_and_hand_thresholds_and_writes_fold_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "validate"
    code = main(
        ["backtest", "--strategy", "rally", "--validate", "--data", "sample", "--out", str(out)]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "auto-calibrated vs hand-set" in printed
    assert "Brier" in printed
    comparison = json.loads((out / "validation.json").read_text())
    assert set(comparison) == {"auto", "hand"}
    folds = pd.read_csv(out / "folds.csv")
    assert len(folds) == len(comparison["auto"]["brier"]) > 0
    assert "brier" in folds.columns
    for fold in folds["fold"]:
        assert (out / f"reliability_fold{fold}.csv").is_file()
    assert all(r == pytest.approx(2.0) for r in comparison["hand"]["r_up"])


def test_validate_is_for_rally_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--strategy", "panic", "--validate", "--data", "sample"]) == 2
    assert "--strategy rally" in capsys.readouterr().err
