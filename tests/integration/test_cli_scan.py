"""``harvester scan`` end to end: sections, storage, skipped symbols and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from harvester.cli.main import main
from harvester.data.bundled import load_sample
from harvester.store import open_store
from harvester.store.repository import account_fills, equity_history

SESSION = "2017-06-30"
TICKERS = "AAPL,BA,INTC,JPM,GE"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


def test_scan_json_has_every_section_and_is_stored(
    capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    code, out, _ = run_cli(capsys, "scan", "--data", "sample", "--as-of", SESSION,
                           "--tickers", TICKERS, "--positions", "--format", "json")  # fmt: skip
    assert code == 0
    report = json.loads(out)
    assert report["as_of"] == SESSION
    assert set(report) >= {"breadth", "signals", "watchlist", "ranking", "positions", "skipped"}
    breadth = report["breadth"]
    assert breadth["symbols"] == 5 and breadth["vix_regime"] == "calm"
    assert breadth["vix"] == pytest.approx(11.18)  # the sample's VIX close on 2017-06-30
    # 2 of the 5 closes are above their 50-day average, 3 above their 200-day one
    close = load_sample().select(TICKERS.split(",")).slice(None, SESSION).frame("close")
    above_50 = (close.iloc[-1] > close.tail(50).mean()).mean() * 100
    assert breadth["above_50"] == pytest.approx(above_50)
    assert [r["rank"] for r in report["ranking"]] == [1, 2, 3, 4, 5]
    assert {r["symbol"] for r in report["ranking"]} == set(TICKERS.split(","))
    assert all({"symbol", "direction", "score", "size", "stop", "target"} <= set(s)
               for s in report["signals"])  # fmt: skip
    assert report["positions"] and all(p["stop"] is not None for p in report["positions"])

    store = open_store(None, home=None, environ={"HARVESTER_HOME": str(isolated_home)})
    try:
        assert len(equity_history(store, account="paper")) == 1
        assert len(account_fills(store, account="paper")) == report["orders"]
    finally:
        store.close()


def test_scan_table_prints_the_sections(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "scan", "--data", "sample", "--as-of", SESSION,
                           "--tickers", TICKERS)  # fmt: skip
    assert code == 0
    for section in ("breadth:", "new signals", "watchlist", "ranking"):
        assert section in out


def test_a_symbol_without_enough_history_is_skipped_and_listed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    frame = load_sample().select(["AAPL", "BA"]).slice("2016-01-01", SESSION).to_long()
    young = frame[frame["symbol"] == "BA"].tail(60).assign(symbol="NEWCO")
    path = tmp_path / "prices.csv"
    pd.concat([frame, young]).to_csv(path, index=False)
    code, out, err = run_cli(capsys, "scan", "--data", str(path), "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["skipped"] == [
        {"symbol": "NEWCO", "reason": "only 60 sessions of history (needs 200)"}
    ]
    assert {r["symbol"] for r in report["ranking"]} == {"AAPL", "BA"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--config", "nope"), "unknown name 'nope'"),
        (("--tickers", "AAPL,ZZZZ"), "unknown ticker(s) ZZZZ"),
        (("--strategy", "foo"), "unknown strategy 'foo'"),
    ],
)
def test_bad_input_fails_with_one_line(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, _, err = run_cli(capsys, "scan", "--data", "sample", *args)
    assert code != 0
    assert message in error_line(err)
