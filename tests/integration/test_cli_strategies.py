"""The strategy commands end to end on the bundled sample: list, backtest, explain, run."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from harvester.cli.main import main
from harvester.strategies.registry import STRATEGIES


def test_strategies_list_shows_every_strategy_and_its_parameters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["strategies", "list", "--set", "strategies.panic.contrarian=false"]) == 0
    printed = capsys.readouterr().out
    for name in ("panic", "composer", "rally", "consensus"):
        assert name in printed
    assert "contrarian=false" in printed  # the value the config gives, not just the default


def test_backtest_a_strategy_writes_its_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "panic"
    assert main(["backtest", "--strategy", "panic", "--data", "sample", "--out", str(out)]) == 0
    assert "panic on sample" in capsys.readouterr().out
    trades = pd.read_csv(out / "trades.csv")
    assert len(trades) > 0
    assert (out / "report.html").stat().st_size > 10_000
    run = json.loads((out / "run.json").read_text())
    # The shipped Harvester II config is the base layer: its 0.5 % fraction and 4 slots.
    config = run["config"]
    assert config["risk_management"]["base_position_fraction"] == 0.005
    assert config["risk_management"]["max_open_positions"] == 4


def test_explain_shows_inputs_signal_risk_and_trade(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["explain", "--strategy", "panic", "--symbol", "AAPL", "--date", "2016-06-24"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    for part in ("panic_score", "conviction", "direction", "stop_loss_atr", "rule regime"):
        assert part in printed


@pytest.mark.parametrize(
    ("symbol", "date", "message"),
    [
        ("NOPE", "2016-06-24", "not in the data"),
        ("AAPL", "2016-06-25", "next session is 2016-06-27"),
    ],
)
def test_explain_rejects_an_unknown_symbol_or_day(
    symbol: str, date: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["explain", "--strategy", "panic", "--symbol", symbol, "--date", date]
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_run_backtests_every_strategy_and_compares_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--data", "sample", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "every strategy on sample" in printed
    for name in STRATEGIES:
        assert (tmp_path / name / "report.html").is_file()
        assert (tmp_path / name / "trades.csv").is_file()
