"""The stream brain's durable book: open positions and closed trades in the project store.

With a :class:`~harvester.live.paper.PaperBroker` the brain writes each entry as an open
position (``positions``, strategy :data:`STRATEGY`, the broker's account) and each exit as
a closed position plus a journal trade, so a restarted consumer resumes with the book it had:
positions (with stop, target and entry time) from the store, cash from the broker's fills.

Each order is **one transaction** with its rows (:meth:`StoredBook.book_entry`,
:meth:`StoredBook.book_exit`): an entry's order, fill and open-position row (with stop,
target and entry time); an exit's order, fill, the row's deletion and the journal trade. So
a SIGKILL leaves an order with all its rows or none. :meth:`StoredBook.restore` still repairs
the half-done orders of stores written before that (an entry's row and order, an exit's
order and journal trade were separate transactions): a qty-0 *marker* row without a broker
holding is an entry never booked (dropped), a holding without its row (or with a marker) is
completed from the broker, and a row whose symbol the broker no longer holds is an exit whose
journal trade is written from the exit's fill.

The last orders booked before a restart are kept as *replays* (:meth:`StoredBook.recent`):
their events come back unacknowledged, and the brain, whose indicators start cold again,
reports the decision that was booked instead of deciding anew.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from harvester.domain.orders import BrokerOrder, OrderRequest
from harvester.live.brain_state import Book, Position
from harvester.live.paper import PaperBroker
from harvester.store.repository import (
    ClosePosition,
    Trade,
    UpsertPosition,
    account_fills,
    account_orders,
    open_positions,
    write_rows,
)
from harvester.store.repository import Position as StoredPosition

__all__ = ["STRATEGY", "Replay", "StoredBook", "exit_seq", "journal_trade"]

logger = logging.getLogger("harvester.live.brain")

STRATEGY = "consensus_stream"
"""The ``strategy`` of the brain's rows in ``positions`` and ``trades``."""

_QTY_TOLERANCE = 1e-9
_INTENT = re.compile(r"-(entry|exit-(stop|target|signal))$")
# Orders that may come back on unacknowledged events: the events of the consumer's pending
# batches, a few thousand at most; replayed feeds pack many days of event time into them.
_REPLAY_DAYS = 30
_REPLAY_ORDERS = 5_000


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def exit_seq(entered_at: float) -> int:
    """The journal's ``exit_seq`` of a stream trade: its entry's millisecond of the day.

    A stream position exits once, but one symbol may make two round trips on one day; the
    entry time tells them apart and is the same on every rerun (it is stored with the row).
    """
    return round(entered_at * 1000.0) % 86_400_000


def journal_trade(
    position: Position, fill: float, fee: float, reason: str, now: float, account: str
) -> Trade:
    """The closed trade of ``position`` sold at ``fill`` (fee ``fee``) at event time ``now``."""
    cost = position.entry_price * position.qty
    pnl = (fill - position.entry_price) * position.qty - position.entry_fee - fee
    return Trade(
        symbol=position.symbol, side=1, entry_date=_utc(position.entered_at).date(),
        entry_price=position.entry_price, exit_date=_utc(now).date(), exit_price=fill,
        qty=position.qty, pnl=pnl, trade_return=pnl / cost if cost > 0 else math.nan,
        exit_reason=reason, bars_held=position.bars, strategy=STRATEGY, account=account,
        exit_seq=exit_seq(position.entered_at),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Replay:
    """An order booked before a restart: its side and the decision's reason."""

    side: str
    reason: str


def _optional(value: float) -> float | None:
    return value if math.isfinite(value) else None


class StoredBook:
    """Reads and writes the brain's book in ``broker``'s store (see the module docstring)."""

    def __init__(self, broker: PaperBroker, setup: str, strategy: str = STRATEGY) -> None:
        self.broker, self.store = broker, broker.store
        self.account, self.strategy, self.setup = broker.account_name, strategy, setup

    # ---- writes -------------------------------------------------------------------------

    def _row(self, position: Position, qty: float) -> StoredPosition:
        return StoredPosition(
            symbol=position.symbol, side=1, qty=qty, avg_price=position.entry_price,
            opened_at=_utc(position.entered_at), stop=_optional(position.stop),
            target=_optional(position.target), strategy=self.strategy, account=self.account,
        )  # fmt: skip

    def book_entry(self, request: OrderRequest, position: Position) -> BrokerOrder | None:
        """Book the entry ``request`` and ``position``'s row in one transaction. None when
        booked now; the order when it was booked before (then nothing is written)."""
        row = UpsertPosition(self._row(position, position.qty))
        booked, new = self.broker.book(request, [row])
        return None if new else booked

    def book_exit(
        self,
        request: OrderRequest,
        position: Position,
        trade: tuple[float, float, str, float],
    ) -> BrokerOrder | None:
        """Book the exit ``request`` of ``position``, delete its row and journal the trade
        (``trade``: fill, fee, reason, event time) in one transaction. None when booked now;
        the order when it was booked before (then nothing is written)."""
        journaled = journal_trade(position, *trade, self.account)
        close = ClosePosition(position.symbol, self.strategy, self.account, journaled)
        booked, new = self.broker.book(request, [close])
        return None if new else booked

    def opened(self, position: Position) -> None:
        """Write the open-position row of an entry booked before."""
        write_rows(self.store, [UpsertPosition(self._row(position, position.qty))])

    def discard(self, symbol: str) -> None:
        """Drop the row of an entry never booked."""
        write_rows(self.store, [ClosePosition(symbol, self.strategy, self.account)])

    def closed(self, position: Position, fill: float, fee: float, reason: str, now: float) -> None:
        """Close the row of an exit booked before and journal its trade (one transaction; a
        repeat is a no-op)."""
        trade = journal_trade(position, fill, fee, reason, now, self.account)
        write_rows(self.store, [ClosePosition(position.symbol, self.strategy, self.account, trade)])

    def booked(self, client_order_id: str) -> BrokerOrder | None:
        """The broker's order ``client_order_id`` if it was booked already."""
        return self.broker.order(client_order_id)

    # ---- restore ------------------------------------------------------------------------

    def restore(self, book: Book) -> None:
        """Set ``book``'s cash from the broker and its positions from the store, repairing
        what a crash between two writes left half done."""
        book.cash = self.broker.account().cash
        rows = {p.symbol: p for p in open_positions(self.store, account=self.account,
                                                    strategy=self.strategy)}  # fmt: skip
        held = {p.symbol: p for p in self.broker.positions() if p.qty > _QTY_TOLERANCE}
        fills = account_fills(self.store, account=self.account)
        last_fill: dict[tuple[str, str], Any] = {
            (str(r.symbol), str(r.side)): r for r in fills.itertuples(index=False)
        }
        for symbol, holding in held.items():
            buy = last_fill.get((symbol, "buy"))
            row = rows.get(symbol)
            position = Position(
                symbol,
                holding.qty,
                holding.avg_price,
                0.0 if buy is None else float(buy.fee),
                math.nan,
                math.nan,
                _entered(row, buy),
                self.setup,
            )
            if row is not None:
                position.stop = math.nan if row.stop is None else row.stop
                position.target = math.nan if row.target is None else row.target
            if row is None or abs(row.qty - holding.qty) > _QTY_TOLERANCE:
                logger.warning("restore %s: position row completed from the broker", symbol)
                self.opened(position)
            book.positions[symbol] = position
        for symbol, row in rows.items():
            if symbol not in held:
                self._finish_exit(
                    row, last_fill.get((symbol, "sell")), last_fill.get((symbol, "buy"))
                )

    def _finish_exit(self, row: StoredPosition, sell: Any, buy: Any) -> None:
        """A row the broker does not hold: an entry never booked, or an exit not journaled."""
        if row.qty <= _QTY_TOLERANCE or sell is None:
            logger.warning("restore %s: entry never booked; row dropped", row.symbol)
            self.discard(row.symbol)
            return
        match = _INTENT.search(str(sell.client_order_id))
        reason = match.group(2) if match and match.group(2) else "exit"
        position = Position(
            row.symbol,
            row.qty,
            row.avg_price,
            0.0 if buy is None else float(buy.fee),
            math.nan,
            math.nan,
            row.opened_at.timestamp(),
            self.setup,
        )
        logger.warning("restore %s: exit booked before the crash journaled", row.symbol)
        when = max(_when(sell.filled_at), position.entered_at)
        self.closed(position, float(sell.price), float(sell.fee), reason, when)

    def first_free_day(self) -> int:
        """The first day (days since the epoch) after every stored order's session day: a
        client order id names its event's day, so orders decided on it or later are new."""
        orders = account_orders(self.store, account=self.account)
        if not orders:
            return -1
        return int(max(o.submitted_at for o in orders).timestamp() // 86_400) + 1

    def recent(self) -> tuple[dict[str, dict[str, Replay]], int]:
        """The last orders (up to 30 days and 5,000 orders before the last), by symbol and
        client order id, and the first day (days since the epoch) with none of them: event
        time runs forward, so events of later days never carry a booked order."""
        orders = account_orders(self.store, account=self.account)[-_REPLAY_ORDERS:]
        if not orders:
            return {}, -1
        last = max(o.submitted_at for o in orders)
        since = last - timedelta(days=_REPLAY_DAYS)
        out: dict[str, dict[str, Replay]] = {}
        for order in orders:
            if order.submitted_at >= since:
                match = _INTENT.search(order.client_order_id)
                reason = (match.group(2) or "booked") if match else "booked"
                side = "buy" if order.side == "buy" else "sell"
                out.setdefault(order.symbol, {})[order.client_order_id] = Replay(side, reason)
        return out, int(last.timestamp() // 86_400) + 1


def _when(value: Any) -> float:
    """Unix seconds of a stored timestamp (aware UTC)."""
    stamp: datetime = value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


def _entered(row: StoredPosition | None, buy: Any) -> float:
    if row is not None:
        return row.opened_at.timestamp()
    return 0.0 if buy is None else _when(buy.filled_at)
