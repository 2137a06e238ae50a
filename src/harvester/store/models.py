"""The database tables as SQLAlchemy 2 typed ORM models.

Conventions, the same in every table:

* **Timestamps** are timezone-aware UTC (:class:`UTCDateTime`): a naive ``datetime`` is refused
  when written, and values read back always carry ``tzinfo=UTC`` (SQLite stores no offset, so
  the type adds it back). Trading days are plain ``Date`` columns named ``date``.
* **Numbers are ``Float``** (double precision), never ``Numeric``: every price, quantity and
  P&L is computed in float64 by pandas/numpy in the backtest, the paper broker and the
  brokers' SDKs, so storing doubles round-trips them exactly; ``Numeric`` would hand back
  ``Decimal`` objects that every caller must convert, and SQLite has no true decimal type.
* **Sides**: ``orders.side`` is the broker's word (``buy`` / ``sell``); ``direction`` /
  ``side`` of signals, positions and trades is :class:`harvester.domain.trades.Side`
  (``1`` long, ``-1`` short). Exit reasons are the lower-case names of ``ExitReason``.
* **Accounts**: positions, trades, orders and snapshots carry an ``account`` name
  (``default`` unless a run says otherwise), so paper and live books can share a database.
* Constraint and index names follow :data:`NAMING_CONVENTION`, so migrations can refer to them.

The tables are created and changed only by the Alembic migrations in ``migrations/``; a test
checks that the migrated schema and these models agree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = [
    "NAMING_CONVENTION",
    "Base",
    "BotTradeRow",
    "BotUserRow",
    "EquitySnapshotRow",
    "FillRow",
    "ModelArtifactRow",
    "OrderRow",
    "PositionRow",
    "RunRow",
    "ScanResultRow",
    "SignalRow",
    "TradeRow",
    "UTCDateTime",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

DEFAULT_ACCOUNT = "default"


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend; naive datetimes are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"timestamp {value.isoformat()} has no time zone; pass UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base holding the one ``MetaData`` with the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}  # noqa: RUF012


class RunRow(Base):
    """One execution of a workflow (scan, retrain, live day, backtest)."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))
    config_hash: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    git_commit: Mapped[str | None] = mapped_column(String(40))


class SignalRow(Base):
    """A signal a run produced for one symbol on one day."""

    __tablename__ = "signals"
    __table_args__ = (
        UniqueConstraint("run_id", "date", "symbol", "strategy"),
        Index(None, "symbol", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    date: Mapped[date] = mapped_column(Date)
    symbol: Mapped[str] = mapped_column(String(32))
    strategy: Mapped[str] = mapped_column(String(64))
    direction: Mapped[int] = mapped_column(SmallInteger)
    score: Mapped[float] = mapped_column(Float)
    conviction: Mapped[float | None] = mapped_column(Float)
    size: Mapped[float | None] = mapped_column(Float)
    stop: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)


class OrderRow(Base):
    """An order sent (or about to be sent) to a broker; ``client_order_id`` is the dedup key."""

    __tablename__ = "orders"
    __table_args__ = (Index(None, "symbol", "submitted_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_order_id: Mapped[str] = mapped_column(String(64), unique=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    account: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(4))
    qty: Mapped[float] = mapped_column(Float)
    order_type: Mapped[str] = mapped_column(String(16))
    limit_price: Mapped[float | None] = mapped_column(Float)
    stop_price: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    submitted_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    broker_order_id: Mapped[str | None] = mapped_column(String(64))


class FillRow(Base):
    """An execution of (part of) an order; ``broker_fill_id`` deduplicates reported fills."""

    __tablename__ = "fills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    qty: Mapped[float] = mapped_column(Float)
    price: Mapped[float] = mapped_column(Float)
    fee: Mapped[float] = mapped_column(Float)
    filled_at: Mapped[datetime]
    broker_fill_id: Mapped[str | None] = mapped_column(String(64), unique=True)


class TradeRow(Base):
    """The journal: one closed round trip (or partial exit) per row.

    ``exit_seq`` numbers the exits of one position on one day (a scale-out is 0, the final
    exit 1), so both are journalled and re-recording the day finds each again.
    """

    __tablename__ = "trades"
    __table_args__ = (
        UniqueConstraint("account", "strategy", "symbol", "entry_date", "exit_date", "exit_seq"),
        Index(None, "symbol", "exit_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    account: Mapped[str] = mapped_column(String(32))
    strategy: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[int] = mapped_column(SmallInteger)
    entry_date: Mapped[date] = mapped_column(Date)
    entry_price: Mapped[float] = mapped_column(Float)
    exit_date: Mapped[date] = mapped_column(Date)
    exit_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    exit_price: Mapped[float] = mapped_column(Float)
    qty: Mapped[float] = mapped_column(Float)
    pnl: Mapped[float] = mapped_column(Float)
    trade_return: Mapped[float] = mapped_column(Float)
    exit_reason: Mapped[str] = mapped_column(String(32))
    bars_held: Mapped[int] = mapped_column(Integer)
    regime: Mapped[str | None] = mapped_column(String(32))
    mfe: Mapped[float | None] = mapped_column(Float)
    mae: Mapped[float | None] = mapped_column(Float)


class PositionRow(Base):
    """An open position; one row per (account, strategy, symbol), deleted when closed."""

    __tablename__ = "positions"
    __table_args__ = (UniqueConstraint("account", "strategy", "symbol"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(32))
    strategy: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[int] = mapped_column(SmallInteger)
    qty: Mapped[float] = mapped_column(Float)
    avg_price: Mapped[float] = mapped_column(Float)
    stop: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class EquitySnapshotRow(Base):
    """The account at one day's close; one row per (account, date)."""

    __tablename__ = "equity_snapshots"
    __table_args__ = (UniqueConstraint("account", "date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(32))
    date: Mapped[date] = mapped_column(Date)
    equity: Mapped[float] = mapped_column(Float)
    cash: Mapped[float] = mapped_column(Float)
    exposure: Mapped[float] = mapped_column(Float)
    unrealised_pnl: Mapped[float] = mapped_column(Float)
    n_signals: Mapped[int] = mapped_column(Integer)
    n_positions: Mapped[int] = mapped_column(Integer)


class ModelArtifactRow(Base):
    """Metadata of a trained model file (the file itself lives under the models dir)."""

    __tablename__ = "model_artifacts"
    __table_args__ = (
        UniqueConstraint("symbol", "strategy", "trained_at"),
        Index(None, "strategy", "symbol"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32))
    strategy: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(1024))
    trained_at: Mapped[datetime]
    metrics: Mapped[dict[str, Any]]
    data_fingerprint: Mapped[str | None] = mapped_column(String(64))


class ScanResultRow(Base):
    """One symbol's line in a scan's ranking."""

    __tablename__ = "scan_results"
    __table_args__ = (
        UniqueConstraint("run_id", "symbol"),
        Index(None, "symbol", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    date: Mapped[date] = mapped_column(Date)
    symbol: Mapped[str] = mapped_column(String(32))
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    fields: Mapped[dict[str, Any]]


class BotUserRow(Base):
    """A chat user of ``harvester bot`` (keyed by the Discord user id) and their capital."""

    __tablename__ = "bot_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), unique=True)
    capital: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class BotTradeRow(Base):
    """One lot a chat user bought: open while ``exit_price`` is NULL.

    A partial exit splits the lot: the open row keeps the rest and a closed row with the
    exited quantity (same entry) is added, so every row is one quantity at one entry and at
    most one exit.
    """

    __tablename__ = "bot_trades"
    __table_args__ = (Index(None, "user_id", "symbol", "exit_price"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(32))
    qty: Mapped[float] = mapped_column(Float)
    entry_price: Mapped[float] = mapped_column(Float)
    entered_at: Mapped[datetime]
    stop: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)
    exit_price: Mapped[float | None] = mapped_column(Float)
    exited_at: Mapped[datetime | None]
