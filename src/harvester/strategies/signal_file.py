"""The ``signals`` strategy: drive the engine from a file of ``date, symbol, signal`` rows.

``signal`` is 1 (enter or hold long), −1 (enter or hold short) or 0 (exit). A symbol with no
row on a date keeps what it had; a row is read at the close of its date, so with the default
``next_open`` fill it trades at the next session's open.

Rows the data cannot place are skipped and counted, never guessed:

- ``unknown_symbol``: the symbol is not in the data;
- ``outside_data``: the date is before the first or after the last session;
- ``not_a_session``: the date is inside the data but no symbol traded that day.

Anything else wrong (a missing column, a signal that is not −1, 0 or 1, two rows for one date
and symbol, an unreadable file) is a one-line ``DataError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harvester.core.errors import DataError
from harvester.data.panel import Panel
from harvester.data.readers import read_dated_table
from harvester.strategies.signals import Signals, empty_signals

__all__ = ["SignalFile", "read_signal_file", "signals_from_frame"]


@dataclass(frozen=True, slots=True)
class SignalFile:
    """Signals aligned to a panel, and how many rows were skipped, by reason."""

    signals: Signals
    skipped: dict[str, int]


def read_signal_file(path: Path, panel: Panel) -> SignalFile:
    """Read ``path`` (CSV or Parquet) and align its signals to ``panel``."""
    return signals_from_frame(read_dated_table(path, numeric=("signal",)), panel, source=str(path))


def _check_values(frame: pd.DataFrame, *, source: str) -> None:
    bad = ~frame["signal"].isin((-1.0, 0.0, 1.0))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        value = frame["signal"].iloc[row]
        raise DataError(
            f"{source}: data row {row + 1}: signal {float(value):g}; expected 1 (long), "
            "-1 (short) or 0 (exit); fix the value"
        )
    duplicated = frame.duplicated(["date", "symbol"])
    if duplicated.any():
        first = frame[duplicated].iloc[0]
        raise DataError(
            f"{source}: two rows for {first['symbol']} on {first['date']:%Y-%m-%d}; "
            "expected one signal per symbol and date; keep one"
        )


def _placement(frame: pd.DataFrame, panel: Panel) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Return the panel row and column of each row (-1 where it cannot be placed)."""
    columns = pd.Index(panel.symbols).get_indexer(pd.Index(frame["symbol"]))
    dates = pd.DatetimeIndex(frame["date"]).normalize()
    rows = panel.index.normalize().get_indexer(dates)
    outside = (dates < panel.index[0].normalize()) | (dates > panel.index[-1].normalize())
    skipped = {
        "unknown_symbol": int((columns < 0).sum()),
        "outside_data": int(((columns >= 0) & outside).sum()),
        "not_a_session": int(((columns >= 0) & ~outside & (rows < 0)).sum()),
    }
    return np.where(columns >= 0, rows, -1), columns, skipped


def signals_from_frame(frame: pd.DataFrame, panel: Panel, *, source: str) -> SignalFile:
    """Align a ``date, symbol, signal`` frame to ``panel``; see the module for the rules."""
    _check_values(frame, source=source)
    rows, columns, skipped = _placement(frame, panel)
    keep = (rows >= 0) & (columns >= 0)
    rows, columns = rows[keep], columns[keep]
    values = frame["signal"].to_numpy()[keep]
    signals = empty_signals(panel.shape)
    signals.direction[rows, columns] = values.astype(np.int8)
    signals.exit[rows, columns] = values == 0
    return SignalFile(signals, skipped)
