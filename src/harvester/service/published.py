"""What a refresh hands to the serving process: encoded bytes and a few plain values.

A refresh (:mod:`harvester.service.refresh`, in a child process when the service runs for
real) reads the store, computes the analytics and encodes every answer once; the serving
process keeps only this :class:`Published` and never imports pandas, SQLAlchemy or numpy.
Only the standard library here, so importing this module costs nothing.

The closed trades are the one large part (100,000 rows of JSON are ~33 MB): :class:`TradeRows`
keeps them newest first as zlib-compressed blocks of JSON lines (~6× smaller), with one small
code per row for each filter column, so ``/api/trades`` filters and decompresses only the
blocks it reads.
"""

from __future__ import annotations

import json
import zlib
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

__all__ = [
    "BLOCK_ROWS",
    "UNKNOWN_REGIME",
    "PeerHealth",
    "Published",
    "TradeRows",
    "json_bytes",
    "unavailable",
]

BLOCK_ROWS = 512  # rows per compressed block: ~170 kB of JSON, well under a ms to inflate
UNKNOWN_REGIME = "unknown"  # the analytics' name for a trade without a regime
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_FILTERS = ("symbol", "regime", "exit_type")
_NONE = 0  # the code of a missing value: it matches no filter
_LEVEL = 1  # zlib's fastest: ~5× smaller than the JSON already, at a third of level 6's time


def json_bytes(payload: Any) -> bytes:
    """JSON as Starlette's JSONResponse writes it (NaN is refused here, not per request)."""
    return _ENCODER.encode(payload).encode()


class _Codes:
    """Names ↔ small integer codes of one filter column (code 0: no value)."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}

    def code(self, name: str | None) -> int:
        if name is None:
            return _NONE
        return self.codes.setdefault(name, len(self.codes) + 1)


@dataclass(frozen=True, slots=True)
class TradeRows:
    """Closed trades, newest first, as compressed JSON blocks plus per-row filter codes.

    ``codes[column][i]`` is row ``i``'s code in ``names[column]`` (0: the row has none);
    ``rows_of[column][code]`` lists the rows with that code, in order (an inverted index, so
    a filter reads only its own rows).
    """

    count: int
    block_rows: int
    blocks: tuple[bytes, ...]
    codes: dict[str, array[int]]
    names: dict[str, dict[str, int]]
    rows_of: dict[str, dict[int, array[int]]]
    filters_json: bytes  # the sorted choices of each filter, as JSON

    @classmethod
    def build(
        cls,
        rows: Iterable[tuple[bytes, str | None, str | None, str | None]],
        *,
        block_rows: int = BLOCK_ROWS,
    ) -> TradeRows:
        """From (row JSON, symbol, regime, exit type), newest first.

        A row without a regime is filed under ``"unknown"``, as the analytics name it.
        """
        tables = {column: _Codes() for column in _FILTERS}
        codes = {column: array("I") for column in _FILTERS}
        rows_of: dict[str, dict[int, array[int]]] = {column: {} for column in _FILTERS}
        blocks: list[bytes] = []
        pending: list[bytes] = []
        count = 0
        for encoded, symbol, regime, exit_type in rows:
            values = (symbol, UNKNOWN_REGIME if regime is None else regime, exit_type)
            for column, value in zip(_FILTERS, values, strict=True):
                code = tables[column].code(value)
                codes[column].append(code)
                rows_of[column].setdefault(code, array("I")).append(count)
            pending.append(encoded)
            count += 1
            if len(pending) == block_rows:
                blocks.append(zlib.compress(b"\n".join(pending), _LEVEL))
                pending.clear()
        if pending:
            blocks.append(zlib.compress(b"\n".join(pending), _LEVEL))
        names = {column: table.codes for column, table in tables.items()}
        choices = {column: sorted(names[column]) for column in _FILTERS}
        return cls(count, block_rows, tuple(blocks), codes, names, rows_of, json_bytes(choices))

    def _wanted(self, filters: dict[str, str | None]) -> list[tuple[str, int]] | None:
        """(column, wanted code) per given filter; None when a value is unknown (no match)."""
        wanted = []
        for column, value in filters.items():
            if not value:  # None or "": no filter on this column
                continue
            code = self.names[column].get(value)
            if code is None:
                return None
            wanted.append((column, code))
        return wanted

    def _matching(self, filters: dict[str, str | None]) -> Iterable[int]:
        wanted = self._wanted(filters)
        if wanted is None:
            return ()
        if not wanted:
            return range(self.count)
        # walk the shortest filter's rows; check the others' codes on those rows only
        lists = sorted(((self.rows_of[c][code], c, code) for c, code in wanted), key=len)
        (rows, _, _), others = lists[0], [(self.codes[c], code) for _, c, code in lists[1:]]
        if not others:
            return rows
        return (i for i in rows if all(column[i] == code for column, code in others))

    def _rows(self, indexes: Iterable[int]) -> list[bytes]:
        out: list[bytes] = []
        block_at, lines = -1, []
        for i in indexes:
            block, offset = divmod(i, self.block_rows)
            if block != block_at:
                block_at, lines = block, zlib.decompress(self.blocks[block]).split(b"\n")
            out.append(lines[offset])
        return out

    def select(
        self,
        *,
        symbol: str | None = None,
        regime: str | None = None,
        exit_type: str | None = None,
        limit: int | None = None,
    ) -> list[bytes]:
        """The JSON of the newest ``limit`` rows matching every given filter, newest first."""
        filters = {"symbol": symbol, "regime": regime, "exit_type": exit_type}
        matching = self._matching(filters)
        return self._rows(matching if limit is None else islice(matching, limit))

    def response(self, rows: Sequence[bytes]) -> bytes:
        """``/api/trades``'s body: the count, the rows and the filter choices."""
        return b"".join((b'{"count":', str(len(rows)).encode(), b',"trades":[',
                         b",".join(rows), b'],"filters":', self.filters_json, b"}"))  # fmt: skip


@dataclass(frozen=True, slots=True)
class PeerHealth:
    """A peer as ``/health`` shows it."""

    url: str
    up: bool
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Published:
    """One refresh's result, as the serving process keeps it (see the module docstring)."""

    refreshed_at: datetime
    account: str
    database_label: str
    database_error: str | None
    tracked_configs: int
    redis_status: str
    peers: tuple[PeerHealth, ...]
    report_json: bytes
    recommendations_json: bytes
    exposition: bytes
    equity_json: bytes
    positions_json: bytes
    signals_json: bytes
    trades: TradeRows


def unavailable(
    now: datetime, *, account: str, database_label: str, peers: Sequence[str]
) -> Published:
    """No data at all: the refresh itself failed before anything was read."""
    return Published(
        refreshed_at=now,
        account=account,
        database_label=database_label,
        database_error=None,
        tracked_configs=0,
        redis_status="unknown",
        peers=tuple(PeerHealth(url, up=False, error="not fetched yet") for url in peers),
        report_json=b"{}",
        recommendations_json=json_bytes(
            {"recommendations": [], "count": 0, "timestamp": now.timestamp()}
        ),
        exposition=b"",
        equity_json=json_bytes({"account": account, "latest": None, "rows": []}),
        positions_json=json_bytes({"account": account, "count": 0, "positions": []}),
        signals_json=json_bytes({"date": None, "signals": [], "watchlist": []}),
        trades=TradeRows.build(()),
    )
