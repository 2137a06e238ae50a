"""The signals file: alignment to the panel, skips counted by reason, one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harvester.core.errors import DataError
from harvester.data.panel import Panel
from harvester.strategies.signal_file import read_signal_file


def panel() -> Panel:
    dates = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-05"])
    frame = pd.DataFrame(
        {
            "date": np.repeat(dates, 2),
            "symbol": ["AAA", "BBB"] * 3,
            "open": 10.0,
            "high": 11.0,
            "low": 9.0,
            "close": 10.0,
            "volume": 100.0,
        }
    )
    return Panel.from_long(frame)


def write(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "signals.csv"
    path.write_text("date,symbol,signal\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_rows_become_directions_and_exits(tmp_path: Path) -> None:
    path = write(tmp_path, ["2024-01-02,AAA,1", "2024-01-03,AAA,0", "2024-01-03,BBB,-1"])
    aligned = read_signal_file(path, panel())
    assert aligned.signals.direction.tolist() == [[1, 0], [0, -1], [0, 0]]
    assert aligned.signals.exit.tolist() == [[False, False], [True, False], [False, False]]
    assert aligned.skipped == {"unknown_symbol": 0, "outside_data": 0, "not_a_session": 0}


def test_rows_the_data_cannot_place_are_counted(tmp_path: Path) -> None:
    rows = [
        "2024-01-02,ZZZ,1",  # unknown symbol
        "2023-12-29,AAA,1",  # before the data
        "2024-02-01,BBB,1",  # after the data
        "2024-01-04,AAA,1",  # inside, but no session that day
        "2024-01-05,BBB,1",
    ]
    aligned = read_signal_file(write(tmp_path, rows), panel())
    assert aligned.skipped == {"unknown_symbol": 1, "outside_data": 2, "not_a_session": 1}
    assert int(np.abs(aligned.signals.direction).sum()) == 1


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["2024-01-02,AAA,2"], r"data row 1: signal 2; expected 1 \(long\), -1 \(short\) or 0"),
        (["2024-01-02,AAA,1", "2024-01-02,AAA,0"], "two rows for AAA on 2024-01-02"),
        (["2024-01-02,AAA,buy"], "signal"),
    ],
)
def test_bad_rows_are_one_line_errors(tmp_path: Path, rows: list[str], message: str) -> None:
    with pytest.raises(DataError, match=message) as info:
        read_signal_file(write(tmp_path, rows), panel())
    assert "\n" not in str(info.value)


def test_missing_signal_column(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("date,symbol,position\n2024-01-02,AAA,1\n", encoding="utf-8")
    with pytest.raises(DataError, match="missing column"):
        read_signal_file(path, panel())
