"""The chat bot's per-user book: each user's capital and trade lots, isolated by user id.

A *lot* is one quantity bought at one price (``bot_trades``); it is open until it has an
exit price. Exits are FIFO over the user's open lots of the symbol, oldest first; a partial
exit of a lot splits it (the open row keeps the rest, a closed row records the exited part),
all in one transaction. Every function takes the ``user_id`` and touches only that user's
rows, and returns frozen dataclasses, never ORM rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from harvester.core.errors import DataError
from harvester.store.database import Store
from harvester.store.models import BotTradeRow, BotUserRow

__all__ = [
    "Lot",
    "add_lot",
    "allocate_fifo",
    "close_fifo",
    "closed_lots",
    "open_lots",
    "set_user_capital",
    "user_capital",
]

QTY_EPSILON = 1e-9  # a remainder below this is float noise, not a lot


@dataclass(frozen=True, slots=True)
class Lot:
    """One lot of a user's trade; open while ``exit_price`` is None."""

    user_id: str
    symbol: str
    qty: float
    entry_price: float
    entered_at: datetime
    stop: float | None = None
    target: float | None = None
    exit_price: float | None = None
    exited_at: datetime | None = None
    id: int | None = None

    @property
    def is_open(self) -> bool:
        return self.exit_price is None

    @property
    def pnl(self) -> float | None:
        """Realised dollars of a closed lot (long only), None while open."""
        return None if self.exit_price is None else (self.exit_price - self.entry_price) * self.qty


def _lot(row: BotTradeRow) -> Lot:
    return Lot(**{f.name: getattr(row, f.name) for f in fields(Lot)})


def _user_row(session: Session, user_id: str) -> BotUserRow | None:
    query = select(BotUserRow).where(BotUserRow.user_id == user_id)
    return session.scalars(query).one_or_none()


def user_capital(store: Store, user_id: str) -> float | None:
    """The capital the user told the bot, or None when never set."""
    with store.session() as session:
        row = _user_row(session, user_id)
        return None if row is None else row.capital


def set_user_capital(store: Store, user_id: str, capital: float, *, now: datetime) -> None:
    """Register the user if new and set their capital (dollars, > 0)."""
    if not capital > 0:
        raise DataError(f"capital must be positive, got {capital}")
    with store.session() as session:
        row = _user_row(session, user_id)
        if row is None:
            session.add(BotUserRow(user_id=user_id, capital=capital, created_at=now,
                                   updated_at=now))  # fmt: skip
        else:
            row.capital, row.updated_at = capital, now


def add_lot(store: Store, lot: Lot) -> Lot:
    """Store an open lot and return it with its id."""
    if not (lot.qty > 0 and lot.entry_price > 0):
        raise DataError(
            f"a lot needs a positive quantity and price, got {lot.qty} @ {lot.entry_price}"
        )
    values = {f.name: getattr(lot, f.name) for f in fields(Lot) if f.name != "id"}
    with store.session() as session:
        row = BotTradeRow(**values)
        session.add(row)
        session.flush()
        return _lot(row)


def _open_query(user_id: str, symbol: str | None) -> Select[BotTradeRow]:
    query = select(BotTradeRow).where(
        BotTradeRow.user_id == user_id, BotTradeRow.exit_price.is_(None)
    )
    if symbol is not None:
        query = query.where(BotTradeRow.symbol == symbol)
    return query.order_by(BotTradeRow.entered_at, BotTradeRow.id)


def open_lots(store: Store, user_id: str, symbol: str | None = None) -> list[Lot]:
    """The user's open lots (of one symbol if given), oldest first."""
    with store.session() as session:
        return [_lot(row) for row in session.scalars(_open_query(user_id, symbol))]


def closed_lots(store: Store, user_id: str, *, limit: int | None = None) -> list[Lot]:
    """The user's closed lots, newest exit first (at most ``limit``)."""
    query = (
        select(BotTradeRow)
        .where(BotTradeRow.user_id == user_id, BotTradeRow.exit_price.is_not(None))
        .order_by(BotTradeRow.exited_at.desc(), BotTradeRow.id.desc())
        .limit(limit)
    )
    with store.session() as session:
        return [_lot(row) for row in session.scalars(query)]


def allocate_fifo(open_qty: Sequence[float], qty: float) -> list[float]:
    """How much of each open lot (oldest first) an exit of ``qty`` takes.

    Raises DataError when ``qty`` exceeds the lots' total.
    """
    total = sum(open_qty)
    if qty > total + QTY_EPSILON:
        raise DataError(f"cannot exit {qty:g}: only {total:g} open")
    taken: list[float] = []
    left = qty
    for lot_qty in open_qty:
        take = min(lot_qty, left)
        taken.append(take if take > QTY_EPSILON else 0.0)
        left -= take
    return taken


def _close_part(session: Session, row: BotTradeRow, qty: float, price: float, at: datetime) -> Lot:
    if row.qty - qty <= QTY_EPSILON:
        row.exit_price, row.exited_at = price, at
        session.flush()
        return _lot(row)
    row.qty -= qty
    part = BotTradeRow(
        user_id=row.user_id, symbol=row.symbol, qty=qty, entry_price=row.entry_price,
        entered_at=row.entered_at, stop=row.stop, target=row.target, exit_price=price,
        exited_at=at,
    )  # fmt: skip
    session.add(part)
    session.flush()
    return _lot(part)


def close_fifo(
    store: Store, user_id: str, symbol: str, *, qty: float, price: float, at: datetime
) -> list[Lot]:
    """Exit ``qty`` of the user's ``symbol`` at ``price``, oldest lots first; return the
    closed parts. All or nothing: too large a quantity raises DataError and changes nothing.
    """
    if not (qty > 0 and price > 0):
        raise DataError(f"an exit needs a positive quantity and price, got {qty} @ {price}")
    with store.session() as session:
        rows = list(session.scalars(_open_query(user_id, symbol)))
        taken = allocate_fifo([r.qty for r in rows], qty)
        return [
            _close_part(session, row, take, price, at)
            for row, take in zip(rows, taken, strict=True)
            if take > 0
        ]
