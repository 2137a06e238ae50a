"""``harvester dashboard``: the portfolio at a glance, read from the store.

One read of the store gives a :class:`Dashboard`: the latest equity snapshot (equity, cash,
exposure, unrealised P&L, the day's P&L and the drawdown from the running peak), the open
positions, the last N closed trades with realised totals, and the last DAYS equity snapshots
(one per session) for a sparkline. The queries are the journal views' (``journal_rows``,
``position_rows``, ``equity_rows``), so the dashboard and ``harvester journal`` agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd

from harvester.app.context import AppContext
from harvester.app.journal import (
    DEFAULT_ACCOUNT,
    EQUITY_COLUMNS,
    JOURNAL_COLUMNS,
    POSITION_COLUMNS,
    database_label,
    equity_rows,
    journal_rows,
    open_existing_store,
    position_rows,
)
from harvester.core.errors import ConfigError
from harvester.store import Store

__all__ = ["SPARK_LEVELS", "Dashboard", "Summary", "dashboard_data", "load_dashboard", "sparkline"]

SPARK_LEVELS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True, slots=True)
class Summary:
    """The latest snapshot and the realised totals; None where unknown."""

    as_of: date | None
    equity: float | None
    cash: float | None
    exposure: float | None  # fraction of equity
    unrealised_pnl: float | None
    day_pnl: float | None
    day_return: float | None  # day P&L over the previous snapshot's equity
    drawdown: float | None  # fraction below the running peak
    max_drawdown: float | None
    realised_pnl: float
    trades: int
    win_rate: float | None


@dataclass(frozen=True, slots=True)
class Dashboard:
    """Everything the dashboard shows; ``database_missing`` when there is no database yet."""

    account: str
    database: str
    summary: Summary
    positions: pd.DataFrame
    trades: pd.DataFrame  # the last N closed trades, oldest first
    equity: pd.DataFrame  # the last DAYS snapshots, oldest first
    database_missing: bool = False


def _number(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None


def _summary(history: pd.DataFrame, all_trades: pd.DataFrame) -> Summary:
    pnl = all_trades["pnl"].astype(float)
    realised = float(pnl.sum())
    win_rate = float((pnl > 0).mean()) if len(pnl) else None
    if history.empty:
        return Summary(None, None, None, None, None, None, None, None, None, realised,
                       len(pnl), win_rate)  # fmt: skip
    last = history.iloc[-1]
    day_pnl = _number(last["day_pnl"])
    previous = _number(history["equity"].iloc[-2]) if len(history) > 1 else None
    day_return = day_pnl / previous if day_pnl is not None and previous else None
    return Summary(
        last["date"], _number(last["equity"]), _number(last["cash"]), _number(last["exposure"]),
        _number(last["unrealised_pnl"]), day_pnl, day_return, _number(last["drawdown"]),
        _number(history["drawdown"].max()), realised, len(pnl), win_rate,
    )  # fmt: skip


def dashboard_data(
    store: Store,
    *,
    account: str = DEFAULT_ACCOUNT,
    journal: int = 10,
    equity_days: int = 30,
    database: str = "",
) -> Dashboard:
    """Read the dashboard of ``account``: the last ``journal`` trades, ``equity_days`` snapshots."""
    if journal < 1 or equity_days < 1:
        raise ConfigError(
            f"--journal and --equity must be at least 1, not {journal}, {equity_days}"
        )
    history = equity_rows(store, account=account)
    trades = journal_rows(store, account=account)
    return Dashboard(
        account, database or store.url, _summary(history, trades),
        position_rows(store, account=account), trades.tail(journal).reset_index(drop=True),
        history.tail(equity_days).reset_index(drop=True),
    )  # fmt: skip


def load_dashboard(
    ctx: AppContext, *, account: str = DEFAULT_ACCOUNT, journal: int = 10, equity_days: int = 30
) -> Dashboard:
    """The dashboard from the configured store (a missing SQLite file is not created)."""
    label = database_label(ctx)
    store = open_existing_store(ctx)
    if store is None:
        empty = Summary(None, None, None, None, None, None, None, None, None, 0.0, 0, None)
        return Dashboard(
            account, label, empty, pd.DataFrame(columns=list(POSITION_COLUMNS)),
            pd.DataFrame(columns=list(JOURNAL_COLUMNS)),
            pd.DataFrame(columns=list(EQUITY_COLUMNS)), database_missing=True,
        )  # fmt: skip
    try:
        return dashboard_data(store, account=account, journal=journal, equity_days=equity_days,
                              database=label)  # fmt: skip
    finally:
        store.close()


def sparkline(values: Sequence[float]) -> str:
    """One block character per value, from ▁ (the lowest) to █ (the highest).

    A flat series is drawn at the middle height; non-finite values are blanks.
    """
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return ""
    low, high = min(finite), max(finite)
    top = len(SPARK_LEVELS) - 1
    chars = []
    for value in values:
        if not math.isfinite(value):
            chars.append(" ")
        elif high == low:
            chars.append(SPARK_LEVELS[top // 2])
        else:
            chars.append(SPARK_LEVELS[int((value - low) / (high - low) * top + 0.5)])
    return "".join(chars)
