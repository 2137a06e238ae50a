"""``harvester backtest-universe``: the same files whichever executor runs the symbols."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from harvester.app.portfolio import SYMBOL_COLUMNS
from harvester.cli.main import main

DATA = "synthetic:symbols=2,years=1,seed=7"


def _universe(out: Path, executor: str, capsys: pytest.CaptureFixture[str]) -> str:
    code = main(
        [
            "backtest-universe", "--strategy", "composer", "--data", DATA,
            "--set", "execution.fractional_shares=true", "--executor", executor,
            "--out", str(out),
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
    for name in ("symbols.csv", "portfolio_equity.csv", "portfolio_metrics.json"):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "serial" / name).read_bytes()


def test_backtest_universe_rejects_a_bad_executor(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["backtest-universe", "--data", DATA, "--executor", "threads"])
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown executor 'threads'" in err
    assert "dask://HOST:PORT" in err
