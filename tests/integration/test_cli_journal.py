"""``harvester journal`` and ``harvester positions`` read back what paper scans stored."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from harvester.cli.main import main
from harvester.store import open_store
from harvester.store.repository import equity_history, journal, open_positions

SESSIONS = ("2017-06-28", "2017-06-29", "2017-06-30")
TICKERS = "AAPL,BA,INTC,JPM,GE"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _fill(capsys: pytest.CaptureFixture[str]) -> None:
    for session in SESSIONS:
        code, _, err = run_cli(capsys, "scan", "--data", "sample", "--as-of", session,
                               "--tickers", TICKERS, "--format", "json")  # fmt: skip
        assert code == 0, err


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_views_and_csv_match_the_store(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, isolated_home: Path
) -> None:
    _fill(capsys)
    store = open_store(None, home=None, environ={"HARVESTER_HOME": str(isolated_home)})
    try:
        trades = journal(store, account="paper")
        positions = open_positions(store, account="paper")
        history = equity_history(store, account="paper")
    finally:
        store.close()
    assert len(trades) and positions and len(history) == len(SESSIONS)

    code, out, _ = run_cli(capsys, "journal", "--csv", str(tmp_path / "j.csv"))
    assert code == 0 and f"journal (paper, {len(trades)} row(s))" in out
    rows = _rows(tmp_path / "j.csv")
    assert [r["symbol"] for r in rows] == list(trades["symbol"])
    assert [r["exit_reason"] for r in rows] == list(trades["exit_reason"])

    code, out, _ = run_cli(capsys, "journal", "--limit", "1", "--csv", str(tmp_path / "l.csv"))
    assert [r["symbol"] for r in _rows(tmp_path / "l.csv")] == [trades["symbol"].iloc[-1]]

    code, out, _ = run_cli(capsys, "positions", "--csv", str(tmp_path / "p.csv"))
    assert code == 0 and "open positions (paper" in out
    assert [r["symbol"] for r in _rows(tmp_path / "p.csv")] == [p.symbol for p in positions]

    code, out, _ = run_cli(capsys, "journal", "--equity", "--csv", str(tmp_path / "e.csv"))
    assert code == 0 and "equity snapshots" in out
    equity = _rows(tmp_path / "e.csv")
    assert [r["date"] for r in equity] == list(SESSIONS)
    day_pnl = history["equity"].iloc[2] - history["equity"].iloc[1]
    assert float(equity[2]["day_pnl"]) == pytest.approx(day_pnl)
    assert equity[0]["day_pnl"] == ""


def test_empty_database_and_no_database_say_so(
    capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    code, out, _ = run_cli(capsys, "positions")
    assert code == 0 and "no database at" in out
    assert not (isolated_home / "harvester.db").exists()
    assert run_cli(capsys, "db", "upgrade")[0] == 0
    code, out, _ = run_cli(capsys, "journal", "--strategy", "panic")
    assert code == 0 and "no closed trade for account 'paper'" in out
    code, out, _ = run_cli(capsys, "journal", "--equity", "--account", "live")
    assert "no equity snapshot for account 'live'" in out


def test_a_bad_date_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "journal", "--since", "soon")
    assert code == 2 and "error: --since 'soon' is not a date" in err
