"""The store's small API: record what a run did and read back what the next run needs.

Every function opens its own unit of work and returns plain frozen dataclasses or
DataFrames, never ORM rows, so no caller holds a session. Writes that a rerun of the same
day repeats are idempotent: ``record_order`` (by ``client_order_id``), ``record_fill`` (by
``broker_fill_id`` when given), ``snapshot_equity`` (one row per account and date, the last
write wins) and ``record_trade`` (one row per account, strategy, symbol, entry and exit
date). ``close_position`` deletes the position and writes its journal row in one
transaction, so a crash leaves either both or neither.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime
from typing import Any, cast

import pandas as pd
from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from harvester import __version__
from harvester.core.errors import DataError
from harvester.store.database import Store
from harvester.store.errors import StoreConflictError
from harvester.store.models import (
    DEFAULT_ACCOUNT,
    EquitySnapshotRow,
    FillRow,
    ModelArtifactRow,
    OrderRow,
    PositionRow,
    RunRow,
    ScanResultRow,
    SignalRow,
    TradeRow,
)

__all__ = [
    "ACCOUNT_FILL_COLUMNS",
    "ClosePosition",
    "EquitySnapshot",
    "Fill",
    "Order",
    "Position",
    "RowWrite",
    "Trade",
    "UpsertPosition",
    "account_fills",
    "account_orders",
    "close_position",
    "equity_history",
    "fills_of_order",
    "finish_run",
    "journal",
    "latest_models",
    "open_positions",
    "order_by_client_id",
    "record_fill",
    "record_filled_order",
    "record_model",
    "record_order",
    "record_run",
    "record_scan_results",
    "record_scan_skipped",
    "record_signals",
    "record_trade",
    "snapshot_equity",
    "update_order",
    "upsert_position",
    "write_rows",
]

_ORDERS: Table = OrderRow.__table__  # type: ignore[assignment]
_FILLS: Table = FillRow.__table__  # type: ignore[assignment]
_POSITIONS: Table = PositionRow.__table__  # type: ignore[assignment]
_TRADES: Table = TradeRow.__table__  # type: ignore[assignment]


def _where_key(table: Table, names: Iterable[str]) -> list[Any]:
    """``column == :k_column`` for each of ``names`` (prepared statements of the hot path)."""
    return [table.c[name] == bindparam(f"k_{name}") for name in names]


_POSITION_KEY = ("account", "strategy", "symbol")
_TRADE_KEY = ("account", "strategy", "symbol", "entry_date", "exit_date", "exit_seq")
_SET_BROKER_ORDER_ID = update(_ORDERS).where(_ORDERS.c.id == bindparam("row"))
_UPDATE_POSITION = update(_POSITIONS).where(*_where_key(_POSITIONS, _POSITION_KEY))
_DELETE_POSITION = delete(_POSITIONS).where(*_where_key(_POSITIONS, _POSITION_KEY))
_FIND_TRADE = select(_TRADES.c.id).where(*_where_key(_TRADES, _TRADE_KEY))

SIGNAL_COLUMNS = ("date", "symbol", "strategy", "direction", "score")
SIGNAL_OPTIONAL = ("conviction", "size", "stop", "target")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Order:
    """An order as stored."""

    id: int
    client_order_id: str
    run_id: int | None
    account: str
    symbol: str
    side: str
    qty: float
    order_type: str
    limit_price: float | None
    stop_price: float | None
    status: str
    submitted_at: datetime
    updated_at: datetime
    broker_order_id: str | None


@dataclass(frozen=True, slots=True)
class Fill:
    """A fill as stored."""

    id: int
    order_id: int
    qty: float
    price: float
    fee: float
    filled_at: datetime
    broker_fill_id: str | None


@dataclass(frozen=True, slots=True)
class Position:
    """An open position; ``side`` is 1 (long) or -1 (short), ``qty`` is positive."""

    symbol: str
    side: int
    qty: float
    avg_price: float
    opened_at: datetime
    stop: float | None = None
    target: float | None = None
    strategy: str = "default"
    account: str = DEFAULT_ACCOUNT
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Trade:
    """A closed trade for the journal; ``trade_return`` is a fraction (0.05 = +5 %)."""

    symbol: str
    side: int
    entry_date: date
    entry_price: float
    exit_date: date
    exit_price: float
    qty: float
    pnl: float
    trade_return: float
    exit_reason: str
    bars_held: int
    strategy: str = "default"
    account: str = DEFAULT_ACCOUNT
    regime: str | None = None
    mfe: float | None = None
    mae: float | None = None
    run_id: int | None = None
    exit_seq: int = 0  # the exit's number among the position's exits that day (scale-outs)


@dataclass(frozen=True, slots=True)
class EquitySnapshot:
    """The account at one day's close."""

    date: date
    equity: float
    cash: float
    exposure: float
    unrealised_pnl: float
    n_signals: int = 0
    n_positions: int = 0
    account: str = DEFAULT_ACCOUNT


@dataclass(frozen=True, slots=True)
class UpsertPosition:
    """A row write: insert or replace ``position`` (see :func:`upsert_position`)."""

    position: Position


@dataclass(frozen=True, slots=True)
class ClosePosition:
    """A row write: delete an open position and journal ``trade`` (see :func:`close_position`)."""

    symbol: str
    strategy: str = "default"
    account: str = DEFAULT_ACCOUNT
    trade: Trade | None = None


RowWrite = UpsertPosition | ClosePosition
"""A position write that can share a transaction with others (:func:`write_rows`,
:func:`record_filled_order`)."""


def _values(row: object, cls: type[Any]) -> dict[str, Any]:
    return {f.name: getattr(row, f.name) for f in fields(cls)}


# ---- runs -------------------------------------------------------------------------------


def record_run(
    store: Store,
    kind: str,
    *,
    config_hash: str | None = None,
    git_commit: str | None = None,
    started_at: datetime | None = None,
) -> int:
    """Record the start of a run and return its id."""
    with store.session() as session:
        row = RunRow(
            kind=kind,
            started_at=started_at or _now(),
            status="running",
            config_hash=config_hash,
            version=__version__,
            git_commit=git_commit,
        )
        session.add(row)
        session.flush()
        return row.id


def finish_run(
    store: Store, run_id: int, status: str = "ok", *, finished_at: datetime | None = None
) -> None:
    """Mark a run finished with ``status`` (``ok``, ``failed``, ...)."""
    with store.session() as session:
        row = session.get(RunRow, run_id)
        if row is None:
            raise DataError(f"run {run_id} is not in the database")
        row.status, row.finished_at = status, finished_at or _now()


# ---- signals and scans ------------------------------------------------------------------


def _day(value: Any) -> date:
    return pd.Timestamp(value).date()


def _clean(value: Any) -> Any:
    """Return a JSON-safe scalar: NaN becomes None, numpy scalars become Python ones."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.isoformat()
    return value


def _optional_float(value: Any) -> float | None:
    cleaned = _clean(value)
    return None if cleaned is None else float(cleaned)


def record_signals(store: Store, run_id: int, signals: pd.DataFrame) -> int:
    """Store a run's signals and return how many were written.

    Needs columns ``date, symbol, strategy, direction, score``; ``conviction, size, stop,
    target`` are stored when present.
    """
    missing = [c for c in SIGNAL_COLUMNS if c not in signals.columns]
    if missing:
        raise DataError(f"signals frame lacks column(s) {', '.join(missing)}")
    rows = []
    for record in signals.to_dict("records"):
        optional = {c: _optional_float(record.get(c)) for c in SIGNAL_OPTIONAL}
        rows.append(
            SignalRow(
                run_id=run_id,
                date=_day(record["date"]),
                symbol=str(record["symbol"]),
                strategy=str(record["strategy"]),
                direction=int(record["direction"]),
                score=float(record["score"]),
                **optional,
            )
        )
    with store.session() as session:
        session.add_all(rows)
    return len(rows)


def record_scan_results(store: Store, run_id: int, day: date, ranking: pd.DataFrame) -> int:
    """Store a scan's ranking (columns ``symbol``, ``score``, optional ``rank``; every other
    column goes into ``fields`` as JSON) and return how many rows were written.
    """
    missing = [c for c in ("symbol", "score") if c not in ranking.columns]
    if missing:
        raise DataError(f"scan ranking lacks column(s) {', '.join(missing)}")
    if "rank" not in ranking.columns:
        ranking = ranking.assign(rank=ranking["score"].rank(ascending=False, method="first"))
    extra = [c for c in ranking.columns if c not in {"symbol", "score", "rank"}]
    rows = [
        ScanResultRow(
            run_id=run_id,
            date=day,
            symbol=str(record["symbol"]),
            rank=int(record["rank"]),
            score=float(record["score"]),
            fields={c: _clean(record[c]) for c in extra},
        )
        for record in ranking.to_dict("records")
    ]
    with store.session() as session:
        session.add_all(rows)
    return len(rows)


def record_scan_skipped(
    store: Store, run_id: int, day: date, skipped: Iterable[tuple[str, str]]
) -> int:
    """Store the symbols a scan skipped, with why: ``scan_results`` rows of rank 0 and
    score 0 (not ranked), ``fields`` = ``{"skipped": reason}``; return how many."""
    rows = [
        ScanResultRow(
            run_id=run_id,
            date=day,
            symbol=str(symbol),
            rank=0,
            score=0.0,
            fields={"skipped": str(reason)},
        )
        for symbol, reason in skipped
    ]
    with store.session() as session:
        session.add_all(rows)
    return len(rows)


# ---- orders and fills -------------------------------------------------------------------


def _order(row: OrderRow) -> Order:
    return Order(**_values(row, Order))


def order_by_client_id(store: Store, client_order_id: str) -> Order | None:
    """Return the order with ``client_order_id`` or None."""
    with store.session() as session:
        row = session.scalars(
            select(OrderRow).where(OrderRow.client_order_id == client_order_id)
        ).one_or_none()
        return None if row is None else _order(row)


def record_order(
    store: Store,
    *,
    client_order_id: str,
    symbol: str,
    side: str,
    qty: float,
    order_type: str = "market",
    limit_price: float | None = None,
    stop_price: float | None = None,
    status: str = "new",
    run_id: int | None = None,
    account: str = DEFAULT_ACCOUNT,
    broker_order_id: str | None = None,
    submitted_at: datetime | None = None,
) -> Order:
    """Store a new order; if ``client_order_id`` is already stored, return that order unchanged.

    This is what makes a repeated submission harmless: the caller sees the first order and
    its status, and can decide not to send it again.
    """
    existing = order_by_client_id(store, client_order_id)
    if existing is not None:
        return existing
    if side not in {"buy", "sell"}:
        raise DataError(f"order side {side!r} is not buy or sell")
    when = submitted_at or _now()
    row = OrderRow(
        client_order_id=client_order_id,
        run_id=run_id,
        account=account,
        symbol=symbol,
        side=side,
        qty=float(qty),
        order_type=order_type,
        limit_price=limit_price,
        stop_price=stop_price,
        status=status,
        submitted_at=when,
        updated_at=when,
        broker_order_id=broker_order_id,
    )
    try:
        with store.session() as session:
            session.add(row)
            session.flush()
            return _order(row)
    except StoreConflictError:
        raced = order_by_client_id(store, client_order_id)  # another process stored it first
        if raced is None:
            raise
        return raced


def update_order(
    store: Store, client_order_id: str, *, status: str, broker_order_id: str | None = None
) -> Order:
    """Set an order's status (and the broker's id when known) and return it."""
    with store.session() as session:
        row = session.scalars(
            select(OrderRow).where(OrderRow.client_order_id == client_order_id)
        ).one_or_none()
        if row is None:
            raise DataError(f"order {client_order_id!r} is not in the database")
        row.status, row.updated_at = status, _now()
        if broker_order_id is not None:
            row.broker_order_id = broker_order_id
        session.flush()
        return _order(row)


def record_fill(
    store: Store,
    order_id: int,
    *,
    qty: float,
    price: float,
    fee: float = 0.0,
    filled_at: datetime | None = None,
    broker_fill_id: str | None = None,
) -> Fill:
    """Store a fill of order ``order_id``; a repeated ``broker_fill_id`` returns the stored fill.

    A fill whose order is not stored is refused (:class:`StoreConflictError`).
    """
    with store.session() as session:
        if broker_fill_id is not None:
            row = session.scalars(
                select(FillRow).where(FillRow.broker_fill_id == broker_fill_id)
            ).one_or_none()
            if row is not None:
                return Fill(**_values(row, Fill))
        row = FillRow(
            order_id=order_id,
            qty=float(qty),
            price=float(price),
            fee=float(fee),
            filled_at=filled_at or _now(),
            broker_fill_id=broker_fill_id,
        )
        session.add(row)
        session.flush()
        return Fill(**_values(row, Fill))


def record_filled_order(
    store: Store,
    order: Order,
    *,
    fee: float,
    price: float,
    broker_name: str,
    broker_fill_id: str,
    writes: Iterable[RowWrite] = (),
) -> tuple[Order, Fill]:
    """Store a new order filled whole at once (a paper fill): the order, its broker id
    ``<broker_name>-<id>`` and its fill in one transaction, so no crash leaves it half done.

    ``order`` gives the order's fields (its ``id`` and ``broker_order_id`` are ignored; its
    ``status`` should be ``filled``). ``writes`` (the order's effect on positions and the
    journal) are made in the same transaction. Raises :class:`StoreConflictError` when the
    client order id is already stored; then nothing is written.
    """
    values = _values(order, Order)
    values.pop("id")
    # Core statements, not the unit of work: a paper order is on the stream's hot path.
    with store.session() as session:
        order_id = _insert(session, _ORDERS, values)
        broker_order_id = f"{broker_name}-{order_id}"
        session.execute(_SET_BROKER_ORDER_ID, {"row": order_id, "broker_order_id": broker_order_id})
        fill: dict[str, Any] = {
            "order_id": order_id, "qty": float(order.qty), "price": float(price),
            "fee": float(fee), "filled_at": order.updated_at, "broker_fill_id": broker_fill_id,
        }  # fmt: skip
        fill_id = _insert(session, _FILLS, fill)
        _apply_writes(session, writes)
    stored = Order(**{**values, "id": order_id, "broker_order_id": broker_order_id})
    return stored, Fill(id=fill_id, **fill)


def _insert(session: Session, table: Table, values: Mapping[str, Any]) -> int:
    """Insert one row (a Core statement) and return its id."""
    result = cast("CursorResult[Any]", session.execute(insert(table), dict(values)))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def fills_of_order(store: Store, order_id: int) -> list[Fill]:
    """Return the fills of order ``order_id``, oldest first."""
    with store.session() as session:
        rows = session.scalars(
            select(FillRow).where(FillRow.order_id == order_id).order_by(FillRow.id)
        )
        return [Fill(**_values(row, Fill)) for row in rows]


ACCOUNT_FILL_COLUMNS = (
    "client_order_id", "symbol", "side", "qty", "price", "fee", "filled_at", "broker_fill_id",
    "order_id",
)  # fmt: skip


def account_fills(store: Store, *, account: str = DEFAULT_ACCOUNT) -> pd.DataFrame:
    """Return every fill of ``account``'s orders with its order's id, symbol and side, in the
    order they were stored (columns ``ACCOUNT_FILL_COLUMNS``; ``qty`` positive).
    """
    query = (
        select(
            OrderRow.client_order_id,
            OrderRow.symbol,
            OrderRow.side,
            FillRow.qty,
            FillRow.price,
            FillRow.fee,
            FillRow.filled_at,
            FillRow.broker_fill_id,
            FillRow.order_id,
        )
        .join(OrderRow, FillRow.order_id == OrderRow.id)
        .where(OrderRow.account == account)
        .order_by(FillRow.id)
    )
    with store.session() as session:
        records = [tuple(row) for row in session.execute(query)]
    return pd.DataFrame(records, columns=list(ACCOUNT_FILL_COLUMNS))


def account_orders(store: Store, *, account: str = DEFAULT_ACCOUNT) -> list[Order]:
    """Return every order of ``account`` in the order they were stored."""
    with store.session() as session:
        rows = session.scalars(
            select(OrderRow).where(OrderRow.account == account).order_by(OrderRow.id)
        )
        return [_order(row) for row in rows]


# ---- positions, journal, snapshots ------------------------------------------------------


def open_positions(
    store: Store, *, account: str = DEFAULT_ACCOUNT, strategy: str | None = None
) -> list[Position]:
    """Return the open positions of ``account`` (optionally one strategy), by symbol."""
    query = select(PositionRow).where(PositionRow.account == account)
    if strategy is not None:
        query = query.where(PositionRow.strategy == strategy)
    with store.session() as session:
        rows = session.scalars(query.order_by(PositionRow.symbol, PositionRow.strategy))
        return [Position(**_values(row, Position)) for row in rows]


def upsert_position(store: Store, position: Position) -> Position:
    """Insert or replace the position of (account, strategy, symbol) and return it."""
    stamped = replace(position, updated_at=position.updated_at or _now())
    with store.session() as session:
        _write_position(session, stamped)
    return stamped


def _write_position(session: Session, position: Position) -> None:
    """Insert or replace a position in Core statements (an update, else an insert)."""
    values = _values(position, Position)
    values["updated_at"] = position.updated_at or _now()
    key = {f"k_{name}": values[name] for name in _POSITION_KEY}
    changed = session.execute(_UPDATE_POSITION, {**values, **key})
    if not getattr(changed, "rowcount", 0):
        _insert(session, _POSITIONS, values)


def record_trade(store: Store, trade: Trade) -> None:
    """Add a closed trade to the journal (a repeat of the same trade is ignored).

    A trade is the same when account, strategy, symbol, entry date, exit date and
    ``exit_seq`` agree: number a position's exits of one day 0, 1, ... (a scale-out, then
    the final exit) in a stable order so that recording the day again finds each one.
    """
    with store.session() as session:
        _journal_trade(session, trade)


def close_position(
    store: Store,
    symbol: str,
    *,
    strategy: str = "default",
    account: str = DEFAULT_ACCOUNT,
    trade: Trade | None = None,
) -> bool:
    """Delete the open position and journal ``trade`` in one transaction.

    Returns False when there was no such position (for instance on a rerun of the same day).
    """
    with store.session() as session:
        return _close_position(session, ClosePosition(symbol, strategy, account, trade))


def _journal_trade(session: Session, trade: Trade) -> None:
    """Journal ``trade`` in Core statements (a repeat is ignored: see :func:`record_trade`)."""
    values = _values(trade, Trade)
    key = {f"k_{name}": values[name] for name in _TRADE_KEY}
    if session.execute(_FIND_TRADE, key).first() is None:
        _insert(session, _TRADES, values)


def _apply_writes(session: Session, writes: Iterable[RowWrite]) -> None:
    """Make ``writes`` in Core statements (the stream's paper orders carry them)."""
    for write in writes:
        if isinstance(write, UpsertPosition):
            _write_position(session, write.position)
            continue
        _close_position(session, write)


def _close_position(session: Session, close: ClosePosition) -> bool:
    key = {"k_account": close.account, "k_strategy": close.strategy, "k_symbol": close.symbol}
    deleted = session.execute(_DELETE_POSITION, key)
    if close.trade is not None:
        _journal_trade(session, close.trade)
    return bool(getattr(deleted, "rowcount", 0))


def write_rows(store: Store, writes: Iterable[RowWrite]) -> None:
    """Make several position writes in one transaction (all of them, or none)."""
    with store.session() as session:
        _apply_writes(session, writes)


def journal(store: Store, *, account: str = DEFAULT_ACCOUNT) -> pd.DataFrame:
    """Return the closed trades of ``account``, oldest exit first, one column per field."""
    with store.session() as session:
        rows = session.scalars(
            select(TradeRow)
            .where(TradeRow.account == account)
            .order_by(TradeRow.exit_date, TradeRow.symbol, TradeRow.exit_seq)
        )
        records = [_values(row, Trade) for row in rows]
    return pd.DataFrame(records, columns=[f.name for f in fields(Trade)])


def snapshot_equity(store: Store, snapshot: EquitySnapshot) -> None:
    """Store the day's snapshot; a second snapshot of the same day replaces the first."""
    values = _values(snapshot, EquitySnapshot)
    with store.session() as session:
        row = session.scalars(
            select(EquitySnapshotRow).where(
                EquitySnapshotRow.account == snapshot.account,
                EquitySnapshotRow.date == snapshot.date,
            )
        ).one_or_none()
        if row is None:
            session.add(EquitySnapshotRow(**values))
        else:
            for name, value in values.items():
                setattr(row, name, value)


def equity_history(store: Store, *, account: str = DEFAULT_ACCOUNT) -> pd.DataFrame:
    """Return the daily snapshots of ``account`` indexed by date."""
    with store.session() as session:
        rows = session.scalars(
            select(EquitySnapshotRow)
            .where(EquitySnapshotRow.account == account)
            .order_by(EquitySnapshotRow.date)
        )
        records = [_values(row, EquitySnapshot) for row in rows]
    frame = pd.DataFrame(records, columns=[f.name for f in fields(EquitySnapshot)])
    return frame.drop(columns="account").set_index("date")


# ---- model artifacts --------------------------------------------------------------------


def record_model(
    store: Store,
    *,
    symbol: str,
    strategy: str,
    path: str,
    trained_at: datetime,
    metrics: Mapping[str, Any] | None = None,
    data_fingerprint: str | None = None,
) -> None:
    """Record a trained model file's metadata."""
    with store.session() as session:
        session.add(
            ModelArtifactRow(
                symbol=symbol,
                strategy=strategy,
                path=path,
                trained_at=trained_at,
                metrics={k: _clean(v) for k, v in (metrics or {}).items()},
                data_fingerprint=data_fingerprint,
            )
        )


MODEL_COLUMNS = ("symbol", "strategy", "path", "trained_at", "metrics", "data_fingerprint")


def latest_models(store: Store, *, strategy: str | None = None) -> pd.DataFrame:
    """Return the newest model per (symbol, strategy), with the columns of ``MODEL_COLUMNS``."""
    newest = select(
        ModelArtifactRow.symbol,
        ModelArtifactRow.strategy,
        func.max(ModelArtifactRow.trained_at).label("trained_at"),
    ).group_by(ModelArtifactRow.symbol, ModelArtifactRow.strategy)
    if strategy is not None:
        newest = newest.where(ModelArtifactRow.strategy == strategy)
    latest = newest.subquery()
    query = (
        select(ModelArtifactRow)
        .join(
            latest,
            (ModelArtifactRow.symbol == latest.c.symbol)
            & (ModelArtifactRow.strategy == latest.c.strategy)
            & (ModelArtifactRow.trained_at == latest.c.trained_at),
        )
        .order_by(ModelArtifactRow.strategy, ModelArtifactRow.symbol)
    )
    with store.session() as session:
        records = [{c: getattr(row, c) for c in MODEL_COLUMNS} for row in session.scalars(query)]
    return pd.DataFrame(records, columns=list(MODEL_COLUMNS))
