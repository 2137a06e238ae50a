"""``harvester backtest-universe``: the same files, byte for byte, whichever executor runs
the symbols (each task writes its symbol's folder: CSVs, JSON, PNG charts, HTML report —
none holds a timestamp); ``--no-charts`` and ``--no-report`` skip the PNGs and the reports."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from harvester.app.portfolio import SYMBOL_COLUMNS
from harvester.cli.main import main

DATA = "synthetic:symbols=2,years=1,seed=7"


def _universe(out: Path, executor: str, capsys: pytest.CaptureFixture[str], *flags: str) -> str:
    code = main(
        [
            "backtest-universe", "--strategy", "composer", "--data", DATA,
            "--set", "execution.fractional_shares=true", "--executor", executor,
            "--out", str(out), *flags,
        ]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    return printed


def test_backtest_universe_is_identical_serial_and_in_local_processes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    printed = _universe(tmp_path / "serial", "serial", capsys)
    assert "each symbol alone" in printed
    assert "composer portfolio of 2 symbols" in printed
    _universe(tmp_path / "local", "local:2", capsys)

    serial = pd.read_csv(tmp_path / "serial" / "symbols.csv")
    assert tuple(serial.columns) == SYMBOL_COLUMNS
    assert len(serial) == 2
    # Each symbol trades half the capital: 100,000 / 2 at the first bar.
    for symbol in serial["symbol"]:
        equity = pd.read_csv(tmp_path / "serial" / symbol / "equity.csv")
        assert equity["equity"].iloc[0] == pytest.approx(50_000.0)
    files = _files(tmp_path / "serial")
    assert files == _files(tmp_path / "local")
    for symbol in serial["symbol"]:
        for name in ("trades.csv", "run.json", "report.html", "equity.png", "drawdown.png"):
            assert f"{symbol}/{name}" in files
    for name in ("symbols.csv", "portfolio_equity.csv", "portfolio_metrics.json", "equity.png"):
        assert name in files
    for name in files:
        written = (tmp_path / "local" / name).read_bytes()
        assert written == (tmp_path / "serial" / name).read_bytes(), name


def _files(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


def test_no_charts_writes_no_png_and_no_report_no_html(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """(``--no-charts`` with the report kept: ``BacktestResult.write``'s test in test_plots.)"""
    _universe(tmp_path / "bare", "serial", capsys, "--no-charts", "--no-report")
    bare = _files(tmp_path / "bare")
    assert not [name for name in bare if name.endswith((".png", ".html"))]
    assert "symbols.csv" in bare
    symbol = str(pd.read_csv(tmp_path / "bare" / "symbols.csv")["symbol"].iloc[0])
    assert f"{symbol}/trades.csv" in bare
    _universe(tmp_path / "charts", "serial", capsys, "--no-report")
    with_charts = _files(tmp_path / "charts")
    assert not [name for name in with_charts if name.endswith(".html")]
    assert {f"{symbol}/equity.png", "equity.png"} <= set(with_charts)
    # The results do not depend on what else is drawn.
    for name in bare:
        assert (tmp_path / "charts" / name).read_bytes() == (tmp_path / "bare" / name).read_bytes()


def test_a_single_backtest_without_charts_or_report(tmp_path: Path) -> None:
    args = ["backtest", "--strategy", "consensus", "--data", DATA, "--out", str(tmp_path)]
    assert main([*args, "--no-charts", "--no-report"]) == 0
    written = {p.name for p in tmp_path.iterdir()}
    assert "trades.csv" in written and "metrics.json" in written
    assert not any(name.endswith((".png", ".html")) for name in written)


def test_backtest_universe_rejects_a_bad_executor(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["backtest-universe", "--data", DATA, "--executor", "threads"])
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown executor 'threads'" in err
    assert "dask://HOST:PORT" in err
