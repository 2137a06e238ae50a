"""``harvester screen`` end to end: the pool file, JSON and table output, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from harvester.cli.main import main
from harvester.data.bundled import load_sample
from harvester.live.screener import read_active_symbols

SYMBOLS = ("AAPL", "BA", "INTC", "JPM", "GE", "XOM", "EXC", "OXY", "NEM", "DUK")


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _expected(z: float, spike: float) -> list[str]:
    """The active symbols on the sample's last session, ranked, computed with pandas."""
    panel = load_sample().select(SYMBOLS)
    close, volume = panel.frame("close"), panel.frame("volume")
    mean, std = close.rolling(20).mean(), close.rolling(20).std(ddof=0)
    zscore = ((close - mean) / std).iloc[-1]
    ratio = (volume / volume.rolling(20).mean()).iloc[-1]
    score = pd.concat([zscore.abs() / z, ratio / spike], axis=1).max(axis=1)
    active = score[(zscore.abs() > z) | (ratio > spike)]
    frame = active.rename("score").reset_index().rename(columns={"index": "symbol"})
    ordered = frame.sort_values(["score", "symbol"], ascending=[False, True])
    return [str(s) for s in ordered.iloc[:, 0]]


def test_screen_writes_the_pool_the_live_loop_reads(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, isolated_home: Path
) -> None:
    universe = tmp_path / "mine.txt"
    universe.write_text("\n".join(SYMBOLS) + "\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "screen", "--data", "sample", "--universe", f"@{universe}",
                             "--top", "3", "--format", "json")  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    expected = _expected(2.0, 2.0)
    assert len(expected) > 3  # the cut matters
    assert report["symbols"] == expected[:3]
    assert report["screened"] == len(SYMBOLS)
    pool = read_active_symbols(isolated_home / "active_symbols.json")
    assert list(pool.symbols) == expected[:3]
    assert all(pool.reasons[s] for s in pool.symbols)


def test_screen_table_and_out_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "active.json"
    code, out, _ = run_cli(capsys, "screen", "--data", "sample", "--z", "2.5",
                           "--volume-spike", "3", "--out", str(out_file))  # fmt: skip
    assert code == 0
    assert "by activity score" in out and f"to {out_file}" in out.replace("\n", "")
    assert read_active_symbols(out_file).symbols


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--universe", "nope"), "unknown universe 'nope'"),
        (("--data", "yfinance"), "add --universe"),
        (("--universe", "@/no/such/file.txt"), "not found"),
    ],
)
def test_bad_input_fails_with_one_line(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, _, err = run_cli(capsys, "screen", *args)
    assert code != 0
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], err
