"""``harvester status`` after a few paper scans: health, portfolio, risk, universe, G-Score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harvester.cli.main import main
from harvester.store import open_store
from harvester.store.repository import equity_history, open_positions

TICKERS = "AAPL,BA,INTC,JPM,GE"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_status_json_after_scans(capsys: pytest.CaptureFixture[str], isolated_home: Path) -> None:
    for session in ("2017-06-29", "2017-06-30"):
        assert run_cli(capsys, "scan", "--data", "sample", "--as-of", session,
                       "--tickers", TICKERS, "--format", "json")[0] == 0  # fmt: skip
    code, out, err = run_cli(capsys, "status", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    store = open_store(None, home=None, environ={"HARVESTER_HOME": str(isolated_home)})
    try:
        history = equity_history(store, account="paper")
        held = len(open_positions(store, account="paper"))
    finally:
        store.close()
    assert report["health"]["database_state"] == "ok"
    assert report["health"]["last_scan_status"] == "ok"
    portfolio = report["portfolio"]
    assert portfolio["as_of"] == "2017-06-30" and portfolio["open_positions"] == held
    assert portfolio["equity"] == pytest.approx(history["equity"].iloc[-1])
    day = history["equity"].iloc[-1] - history["equity"].iloc[-2]
    assert portfolio["day_pnl"] == pytest.approx(day)
    peak = history["equity"].max()
    assert report["risk"]["drawdown"] == pytest.approx(1 - history["equity"].iloc[-1] / peak)
    assert report["risk"]["kill_switch"] is False
    tradable = report["tradable"]
    assert tradable["threshold"] == 0.4 and tradable["as_of"] == "2018-02-07"
    assert all(tradable["cri"][s] >= 0.4 for s in tradable["symbols"])
    # on 2018-02-07 the sample's VIX closed above 25 and SPY fell more than 5 % in 7 sessions
    assert report["macro"]["g_score"] == 2 and report["macro"]["size_multiplier"] == 0.5


def test_status_table_without_a_database(
    capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    code, out, _ = run_cli(capsys, "status")
    assert code == 0
    out = " ".join(out.split())  # the console wraps long lines
    for part in ("system health", "no database yet", "portfolio", "kill-switch",
                 "tradable universe", "macro G-Score"):  # fmt: skip
        assert part in out
    assert not (isolated_home / "harvester.db").exists()
