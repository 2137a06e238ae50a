"""The experience buffer: one JSON line per entry and exit snapshot, trimmed to the last N.

The file (default ``$HARVESTER_HOME/learning/experience_buffer.jsonl``) only grows by
appends. Trimming is amortised: when the file holds more than ``max_records`` plus a margin
(10 % by default), it is rewritten atomically with only the last ``max_records`` lines, so
an append costs O(1) on average and the file never exceeds ``max_records * 1.1`` lines.

A crash in the middle of a write can leave a torn last line. The reader skips any line that
is not a complete JSON record (with a logged warning), and the writer starts its first
append on a fresh line so a torn tail never swallows the next record.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from harvester.core.paths import atomic_path, resolve_home
from harvester.live.learning.hooks import Snapshot

__all__ = [
    "BUFFER_NAME",
    "DEFAULT_MAX_RECORDS",
    "TRADE_COLUMNS",
    "ExperienceBuffer",
    "default_learning_dir",
    "pair_trades",
    "read_records",
    "snapshot_record",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_RECORDS = 20_000
BUFFER_NAME = "experience_buffer.jsonl"
RECORD_COLUMNS = (
    "symbol", "time_ns", "kind", "setup", "price", "stop", "target",
    "pnl_pct", "exit_reason", "held_seconds",
)  # fmt: skip
TRADE_COLUMNS = (
    "symbol", "setup", "entry_time_ns", "exit_time_ns", "entry_price", "exit_price",
    "pnl_pct", "exit_reason", "held_seconds", "success",
)  # fmt: skip
"""The non-feature columns of :func:`pair_trades`; every other column is entry context."""


def default_learning_dir(environ: Mapping[str, str]) -> Path:
    """``$HARVESTER_HOME/learning``: the buffer and the rule files live here."""
    return resolve_home(environ) / "learning"


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def snapshot_record(
    snapshot: Snapshot, *, stop: float | None = None, target: float | None = None
) -> dict[str, Any]:
    """The JSON-ready record of one snapshot (non-finite context values become null)."""
    outcome = snapshot.outcome
    return {
        "symbol": snapshot.symbol,
        "time_ns": snapshot.time_ns,
        "kind": snapshot.kind,
        "setup": snapshot.setup,
        "price": snapshot.price,
        "stop": None if stop is None else _finite_or_none(stop),
        "target": None if target is None else _finite_or_none(target),
        "context": {k: _finite_or_none(float(v)) for k, v in snapshot.context.items()},
        "outcome": None
        if outcome is None
        else {
            "pnl_pct": outcome.pnl_pct,
            "exit_reason": outcome.exit_reason,
            "held_seconds": outcome.held_seconds,
        },
    }


def _count_lines(path: Path) -> tuple[int, bool]:
    """Lines in ``path`` and whether it ends mid-line (a torn tail)."""
    if not path.is_file():
        return 0, False
    count, last = 0, b"\n"
    with path.open("rb") as handle:
        for line in handle:
            count += 1
            last = line[-1:]
    return count, last != b"\n"


class ExperienceBuffer:
    """Append-only JSONL of snapshots, trimmed to the last ``max_records`` lines."""

    def __init__(
        self, path: Path, *, max_records: int = DEFAULT_MAX_RECORDS, margin: float = 0.10
    ) -> None:
        if max_records < 1 or margin < 0:
            raise ValueError("max_records must be >= 1 and margin >= 0")
        self.path = path
        self.max_records = max_records
        self._limit = max_records + max(1, int(max_records * margin))
        self._lines, self._torn = _count_lines(path)

    @property
    def lines(self) -> int:
        """Lines in the file now (at most ``max_records`` plus the margin)."""
        return self._lines

    def append(
        self, snapshot: Snapshot, *, stop: float | None = None, target: float | None = None
    ) -> None:
        """Append the snapshot's record; trim the file when it passes the limit."""
        line = json.dumps(snapshot_record(snapshot, stop=stop, target=target), allow_nan=False)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            if self._torn:  # isolate a torn tail left by a crash
                handle.write("\n")
                self._lines, self._torn = self._lines + 1, False
            handle.write(line + "\n")
        self._lines += 1
        if self._lines > self._limit:
            self.trim()

    def trim(self) -> None:
        """Rewrite the file atomically with only its last ``max_records`` lines."""
        if not self.path.is_file():
            return
        with self.path.open("rb") as handle:
            tail = handle.readlines()[-self.max_records :]
        with atomic_path(self.path) as tmp:
            tmp.write_bytes(b"".join(tail))
        self._lines = len(tail)


def _parse(lines: Iterator[str], path: Path) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            log.warning("%s line %d is not complete JSON (torn write?); skipped", path, number)
            continue
        if isinstance(record, dict) and "kind" in record:
            yield record
        else:
            log.warning("%s line %d is not a snapshot record; skipped", path, number)


def _flatten(record: Mapping[str, Any]) -> dict[str, Any]:
    row = {key: record.get(key) for key in RECORD_COLUMNS[:7]}
    outcome = record.get("outcome") or {}
    row.update({key: outcome.get(key) for key in RECORD_COLUMNS[7:]})
    for name, value in (record.get("context") or {}).items():
        row[f"ctx.{name}"] = math.nan if value is None else value
    return row


def read_records(path: Path) -> pd.DataFrame:
    """Every readable record as a row: the snapshot fields, outcome fields and ``ctx.*``."""
    if not path.is_file():
        return pd.DataFrame(columns=list(RECORD_COLUMNS))
    with path.open(encoding="utf-8", errors="replace") as handle:
        rows = [_flatten(r) for r in _parse(iter(handle), path)]
    return pd.DataFrame(rows, columns=None if rows else list(RECORD_COLUMNS))


def _trade(entry: Mapping[str, Any], exit_: Mapping[str, Any]) -> dict[str, Any]:
    pnl = float(exit_["pnl_pct"])
    trade = {
        "symbol": entry["symbol"], "setup": entry["setup"],
        "entry_time_ns": entry["time_ns"], "exit_time_ns": exit_["time_ns"],
        "entry_price": entry["price"], "exit_price": exit_["price"], "pnl_pct": pnl,
        "exit_reason": exit_["exit_reason"], "held_seconds": exit_["held_seconds"],
        "success": pnl > 0,
    }  # fmt: skip
    trade.update({k[4:]: v for k, v in entry.items() if k.startswith("ctx.")})
    return trade


def pair_trades(records: pd.DataFrame) -> pd.DataFrame:
    """Pair each exit with the open entry of its symbol (in file order) into one trade row.

    Columns: :data:`TRADE_COLUMNS` plus the entry's context (one column per key, NaN when
    unknown). An exit without an entry (trimmed away) and an entry still open are dropped;
    a second entry of a symbol before its exit replaces the first.
    """
    open_: dict[str, dict[str, Any]] = {}
    trades: list[dict[str, Any]] = []
    for raw in records.to_dict("records"):
        record = {str(k): v for k, v in raw.items()}
        symbol = str(record["symbol"])
        if record["kind"] == "entry":
            open_[symbol] = record
        elif record["kind"] == "exit" and symbol in open_ and record.get("pnl_pct") is not None:
            pnl = record["pnl_pct"]
            if isinstance(pnl, float) and math.isnan(pnl):
                continue
            trades.append(_trade(open_.pop(symbol), record))
    if not trades:
        return pd.DataFrame(columns=list(TRADE_COLUMNS))
    frame = pd.DataFrame(trades)
    frame["success"] = frame["success"].astype(bool)
    return frame
