"""The experience buffer trims to the last N lines, survives a torn line, pairs trades."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import pytest

from harvester.live.learning.experience import ExperienceBuffer, pair_trades, read_records
from harvester.live.learning.hooks import Outcome, Snapshot


def _entry(symbol: str, t: int, **context: float) -> Snapshot:
    return Snapshot(symbol, t, "entry", "consensus_long", 100.0, context)


def _exit(symbol: str, t: int, pnl: float, reason: str = "target") -> Snapshot:
    return Snapshot(symbol, t, "exit", "consensus_long", 100.0 + pnl, {}, Outcome(pnl, reason, 60))


def _times(path: Path) -> list[int]:
    return [json.loads(line)["time_ns"] for line in path.read_text().splitlines()]


def test_the_buffer_trims_to_the_last_n_lines_with_a_ten_percent_margin(tmp_path: Path) -> None:
    path = tmp_path / "learning" / "buffer.jsonl"
    buffer = ExperienceBuffer(path, max_records=10)  # limit 10 + 1: trims on the 12th line
    for t in range(1, 12):
        buffer.append(_entry("AAPL", t))
    assert _times(path) == list(range(1, 12))
    buffer.append(_entry("AAPL", 12))
    assert _times(path) == list(range(3, 13))
    for t in range(13, 31):
        buffer.append(_entry("AAPL", t))
        assert buffer.lines == len(_times(path)) <= 11
    assert _times(path)[-1] == 30 and _times(path) == list(range(31 - buffer.lines, 31))


def test_a_reopened_buffer_counts_the_lines_already_there(tmp_path: Path) -> None:
    path = tmp_path / "buffer.jsonl"
    first = ExperienceBuffer(path, max_records=5)
    for t in range(1, 6):
        first.append(_entry("AAPL", t))
    second = ExperienceBuffer(path, max_records=5)
    assert second.lines == 5
    second.append(_entry("AAPL", 6))  # 6 lines: at the limit 5 + 1
    second.append(_entry("AAPL", 7))  # 7 > 6: trimmed to the last 5
    assert _times(path) == [3, 4, 5, 6, 7]


def test_a_torn_last_line_is_skipped_with_a_warning_and_isolated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "buffer.jsonl"
    buffer = ExperienceBuffer(path)
    buffer.append(_entry("AAPL", 1, zscore=1.5))
    buffer.append(_exit("AAPL", 2, -1.0, "stop"))
    with path.open("a") as handle:
        handle.write('{"symbol": "MSFT", "time_ns": 3, "ki')  # the crash
    with caplog.at_level(logging.WARNING):
        assert len(read_records(path)) == 2
    assert "torn" in caplog.text
    ExperienceBuffer(path).append(_entry("MSFT", 4))
    records = read_records(path)
    assert list(records["time_ns"]) == [1, 2, 4]


def test_unknown_context_is_written_as_null_and_read_as_nan(tmp_path: Path) -> None:
    path = tmp_path / "buffer.jsonl"
    ExperienceBuffer(path).append(_entry("AAPL", 1, zscore=math.nan, rsi=30.0), stop=98, target=104)
    line = json.loads(path.read_text())
    assert line["context"] == {"zscore": None, "rsi": 30.0}
    assert (line["stop"], line["target"]) == (98, 104)
    records = read_records(path)
    assert math.isnan(records["ctx.zscore"].iloc[0]) and records["ctx.rsi"].iloc[0] == 30.0


def test_an_entry_without_stop_and_target_writes_null(tmp_path: Path) -> None:
    # Before the ATR is warm an entry has neither level (NaN): the line must still be JSON.
    path = tmp_path / "buffer.jsonl"
    buffer = ExperienceBuffer(path)
    buffer.append(_entry("AAPL", 1), stop=math.nan, target=math.inf)
    buffer.append(_entry("MSFT", 2), stop=95.5)
    first, second = (json.loads(line) for line in path.read_text().splitlines())
    assert (first["stop"], first["target"]) == (None, None)
    assert (second["stop"], second["target"]) == (95.5, None)
    assert list(read_records(path)["symbol"]) == ["AAPL", "MSFT"]


def test_entries_and_exits_pair_into_trades_by_symbol(tmp_path: Path) -> None:
    path = tmp_path / "buffer.jsonl"
    buffer = ExperienceBuffer(path)
    for snapshot in (
        _exit("XOM", 1, 3.0),  # its entry was trimmed away: dropped
        _entry("AAPL", 2, zscore=1.5),
        _entry("MSFT", 3, zscore=-0.5),
        _exit("AAPL", 4, -1.0, "stop"),
        _exit("MSFT", 5, 2.0),
        _entry("NVDA", 6, zscore=0.0),  # still open: dropped
    ):
        buffer.append(snapshot)
    trades = pair_trades(read_records(path))
    assert list(trades["symbol"]) == ["AAPL", "MSFT"]
    assert list(trades["success"]) == [False, True]
    assert list(trades["zscore"]) == [1.5, -0.5]
    assert list(trades["exit_reason"]) == ["stop", "target"]
    assert list(trades["entry_time_ns"]) == [2, 3] and list(trades["exit_time_ns"]) == [4, 5]
