"""``harvester journal`` and ``harvester positions``: what the store holds, as tables and CSV.

- the **journal**: every closed trade of an account (entry and exit, quantity, P&L, return,
  exit reason, bars held), oldest exit first; ``strategy``, ``since`` (exit date on or after)
  and ``limit`` (the most recent N) narrow it;
- the **positions**: the open positions tracked across runs (side, quantity, average price,
  stop, target, when opened and last updated);
- the **equity snapshots** (``journal --equity``): one row per day with equity, cash,
  exposure, unrealised P&L, signal and position counts, and the day's P&L and drawdown
  computed from the history (the first day has no day P&L).

The views only read. A SQLite database that does not exist yet is not created: the result
says so (``database_missing``), as it says when the tables hold no rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from harvester.app.context import AppContext
from harvester.core.errors import ConfigError
from harvester.core.paths import atomic_path
from harvester.store import Store
from harvester.store.database import ENCRYPTION_KEY_ENV, database_url, open_store
from harvester.store.repository import equity_history, journal, open_positions

__all__ = [
    "EQUITY_COLUMNS",
    "JOURNAL_COLUMNS",
    "POSITION_COLUMNS",
    "View",
    "database_label",
    "equity_rows",
    "equity_view",
    "journal_rows",
    "journal_view",
    "open_existing_store",
    "parse_since",
    "position_rows",
    "positions_view",
    "write_csv",
]

DEFAULT_ACCOUNT = "paper"
JOURNAL_COLUMNS = (
    "exit_date", "symbol", "strategy", "side", "qty", "entry_date", "entry_price",
    "exit_price", "pnl", "trade_return", "exit_reason", "bars_held",
)  # fmt: skip
POSITION_COLUMNS = (
    "symbol", "strategy", "side", "qty", "avg_price", "stop", "target", "opened_at", "updated_at",
)  # fmt: skip
EQUITY_COLUMNS = (
    "date", "equity", "cash", "exposure", "unrealised_pnl", "day_pnl", "drawdown", "n_signals",
    "n_positions",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class View:
    """Rows to show and where they came from; ``database_missing`` when no file exists."""

    rows: pd.DataFrame
    database: str
    account: str
    database_missing: bool = False

    @property
    def empty(self) -> bool:
        return self.database_missing or self.rows.empty


def open_existing_store(ctx: AppContext, *, migrate: bool = True) -> Store | None:
    """The configured store, or None when it is a SQLite file that does not exist yet."""
    url = database_url(None, home=ctx.home, environ=ctx.environ)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return None
    return open_store(
        None, home=ctx.home, environ=ctx.environ,
        encryption_key=ctx.secrets.get(ENCRYPTION_KEY_ENV), migrate=migrate,
    )  # fmt: skip


def database_label(ctx: AppContext) -> str:
    """Where the database is, password masked."""
    url = database_url(None, home=ctx.home, environ=ctx.environ)
    return url.render_as_string(hide_password=True)


def parse_since(value: str | None) -> date | None:
    """``--since YYYY-MM-DD`` as a date."""
    if value is None:
        return None
    try:
        return pd.Timestamp(value).date()
    except ValueError:
        raise ConfigError(f"--since {value!r} is not a date (YYYY-MM-DD)") from None


def journal_rows(
    store: Store,
    *,
    account: str = DEFAULT_ACCOUNT,
    strategy: str | None = None,
    since: date | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Closed trades, oldest exit first, narrowed by strategy, exit date and the last N."""
    frame = journal(store, account=account)
    if strategy is not None:
        frame = frame[frame["strategy"] == strategy]
    if since is not None:
        frame = frame[frame["exit_date"] >= since]
    if limit is not None:
        frame = frame.tail(limit)
    return frame[list(JOURNAL_COLUMNS)].reset_index(drop=True)


def position_rows(store: Store, *, account: str = DEFAULT_ACCOUNT) -> pd.DataFrame:
    """Open positions by symbol."""
    positions = open_positions(store, account=account)
    records = [{c: getattr(p, c) for c in POSITION_COLUMNS} for p in positions]
    return pd.DataFrame(records, columns=list(POSITION_COLUMNS))


def equity_rows(
    store: Store,
    *,
    account: str = DEFAULT_ACCOUNT,
    since: date | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Daily snapshots with the day's P&L and the drawdown from the running peak (a fraction).

    Day P&L and drawdown are computed on the whole history before ``since``/``limit`` cut it.
    """
    history = equity_history(store, account=account)
    equity = history["equity"].astype(float)
    frame = history.assign(
        day_pnl=equity.diff(), drawdown=1.0 - equity / equity.cummax()
    ).reset_index()
    if since is not None:
        frame = frame[frame["date"] >= since]
    if limit is not None:
        frame = frame.tail(limit)
    return frame[list(EQUITY_COLUMNS)].reset_index(drop=True)


def _view(
    ctx: AppContext, account: str, columns: tuple[str, ...], rows: Callable[[Store], pd.DataFrame]
) -> View:
    label = database_label(ctx)
    store = open_existing_store(ctx)
    if store is None:
        return View(pd.DataFrame(columns=list(columns)), label, account, database_missing=True)
    try:
        return View(rows(store), label, account)
    finally:
        store.close()


def journal_view(
    ctx: AppContext,
    *,
    account: str = DEFAULT_ACCOUNT,
    strategy: str | None = None,
    since: str | None = None,
    limit: int | None = None,
) -> View:
    """The journal of ``account`` (see :func:`journal_rows`)."""
    day = parse_since(since)
    _check_limit(limit)
    return _view(
        ctx,
        account,
        JOURNAL_COLUMNS,
        lambda s: journal_rows(s, account=account, strategy=strategy, since=day, limit=limit),
    )


def positions_view(ctx: AppContext, *, account: str = DEFAULT_ACCOUNT) -> View:
    """The open positions of ``account``."""
    return _view(ctx, account, POSITION_COLUMNS, lambda s: position_rows(s, account=account))


def equity_view(
    ctx: AppContext,
    *,
    account: str = DEFAULT_ACCOUNT,
    since: str | None = None,
    limit: int | None = None,
) -> View:
    """The daily equity snapshots of ``account`` (see :func:`equity_rows`)."""
    day = parse_since(since)
    _check_limit(limit)
    return _view(
        ctx,
        account,
        EQUITY_COLUMNS,
        lambda s: equity_rows(s, account=account, since=day, limit=limit),
    )


def _check_limit(limit: int | None) -> None:
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit must be at least 1, not {limit}")


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as CSV to ``path`` atomically (no half-written file on failure)."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    return path
