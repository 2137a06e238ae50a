"""The processed-events ledger: what the consumer has decided, recorded before it acks.

A consumer acknowledges an event only after its decisions are in the ledger, and skips an
event the ledger already holds, so an event redelivered after a crash (read, maybe handled,
but not acknowledged) takes effect once. One row per event id: ``status`` is ``ok`` or
``dead`` and ``decisions`` the JSON list of its decisions.

:class:`SqliteLedger` is a local SQLite file (WAL, ``synchronous=FULL``: a committed batch
survives a crash of the process or the machine); several consumer processes can share one
file. It is deliberately not the application database (``harvester.store``): the ledger is
written once per read batch at event rate and read back only for deduplication and audits.
:class:`MemoryLedger` is the same in memory, for a stdin pipe without ``--ledger`` and tests.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from operator import attrgetter
from pathlib import Path
from typing import Protocol

import msgspec

__all__ = ["Decision", "Ledger", "LedgerEntry", "MemoryLedger", "SqliteLedger"]

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Decision:
    """What the decision function concluded for one event (``action`` e.g. buy, sell, skip).

    ``client_order_id`` is derived from the event id when the decision places an order, so a
    redelivered event can never submit a second order.
    """

    symbol: str
    action: str
    reason: str = ""
    client_order_id: str | None = None


class LedgerEntry(msgspec.Struct, frozen=True, gc=False):
    """One processed event: its id, ``ok`` or ``dead``, and its decisions.

    Not tracked by the cyclic garbage collector (it can hold no cycle): a memory ledger keeps
    100,000 of them, which every full collection would otherwise scan.
    """

    event_id: str
    status: str
    decisions: tuple[Decision, ...] = ()


_event_id = attrgetter("event_id")


class Ledger(Protocol):
    """Durable record of processed events (the "recorded" step before an ack)."""

    def recorded(self, event_ids: Sequence[str]) -> set[str]:
        """Return which of ``event_ids`` are already recorded."""

    def record(self, entries: Sequence[LedgerEntry]) -> int:
        """Durably record ``entries`` (ids already present are left alone); return new rows."""

    def close(self) -> None:
        """Release the ledger's resources."""


class MemoryLedger:
    """A ledger in memory of the last ``capacity`` events: survives nothing, bounded memory."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self.entries: dict[str, LedgerEntry] = {}
        self._arrival: deque[str] = deque()  # the ids of ``entries``, oldest first

    def recorded(self, event_ids: Sequence[str]) -> set[str]:
        return self.entries.keys() & set(event_ids)  # looks up the batch's ids only

    def record(self, entries: Sequence[LedgerEntry]) -> int:
        kept, arrival = self.entries, self._arrival
        before = len(kept)
        new = dict(zip(map(_event_id, entries), entries, strict=True))
        if len(new) == len(entries) and kept.keys().isdisjoint(new):
            kept.update(new)  # the usual case, in C: every id is new
            arrival.extend(new)
        else:
            for entry in entries:  # an id already present keeps its entry and its place
                if entry.event_id not in kept:
                    kept[entry.event_id] = entry
                    arrival.append(entry.event_id)
        added = len(kept) - before
        oldest = arrival.popleft
        for _ in range(len(kept) - self.capacity):
            del kept[oldest()]  # O(1): never a scan from the front of the dict
        return added

    def close(self) -> None:
        return None


class SqliteLedger:
    """A ledger in a SQLite file shared by any number of consumer processes."""

    def __init__(self, path: str | Path, *, timeout_seconds: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=timeout_seconds, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS processed (event_id TEXT PRIMARY KEY, status TEXT NOT"
            " NULL, decisions TEXT NOT NULL, recorded_at REAL NOT NULL) WITHOUT ROWID"
        )

    def recorded(self, event_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(event_ids), _CHUNK):
            chunk = event_ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT event_id FROM processed WHERE event_id IN ({marks})", chunk
            )
            found.update(row[0] for row in rows)
        return found

    def record(self, entries: Sequence[LedgerEntry]) -> int:
        if not entries:
            return 0
        now = time.time()
        rows = [(e.event_id, e.status, _decisions_json(e.decisions), now) for e in entries]
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO processed VALUES (?, ?, ?, ?)", rows)
            added = db.total_changes - before
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return added

    def entries(self) -> Iterable[LedgerEntry]:
        """Every recorded event, oldest first (for audits and tests)."""
        rows = self._db.execute(
            "SELECT event_id, status, decisions FROM processed ORDER BY recorded_at"
        )
        for event_id, status, decisions in rows:
            parsed = tuple(Decision(**d) for d in json.loads(decisions))
            yield LedgerEntry(event_id, status, parsed)

    def count(self) -> int:
        """Number of recorded events."""
        row = self._db.execute("SELECT count(*) FROM processed").fetchone()
        return int(row[0])

    def close(self) -> None:
        self._db.close()


def _decisions_json(decisions: tuple[Decision, ...]) -> str:
    return json.dumps([asdict(d) for d in decisions]) if decisions else "[]"
