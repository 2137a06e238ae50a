"""``harvester analyze``: a backtest's trades file or the journal, as trade analytics and advice.

Both sources are adapted to :data:`harvester.analytics.trades.TRADE_COLUMNS`:

- a backtest's ``trades.csv`` (or ``.parquet``, or the output folder holding ``trades.csv``):
  ``exit_reason`` → ``exit_type``, ``hours_held`` = exit_time − entry_time in hours, no
  ``regime`` column → ``unknown``; rows with exit reason ``open`` (positions still open at
  the end of the run) are left out: they are not closed trades;
- the journal (store ``trades``): ``trade_return`` → ``return``, hours from entry to exit
  date (24 per calendar day).

Only reads: nothing is written and no config changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from harvester.analytics.recommendations import REGIME_KEYS, Recommendation, build_report, recommend
from harvester.analytics.trades import DEFAULT_WINDOW, TRADE_COLUMNS, trade_analytics
from harvester.app.context import AppContext
from harvester.app.journal import database_label, open_existing_store
from harvester.core.errors import ConfigError, DataError
from harvester.store.repository import journal

__all__ = ["Analysis", "analyze", "from_backtest", "from_journal", "journal_trades", "read_trades"]

_BACKTEST = ("symbol", "entry_time", "exit_time", "pnl", "return", "exit_reason", "mfe", "mae")
_JOURNAL = ("symbol", "entry_date", "exit_date", "pnl", "trade_return", "exit_reason")
_SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class Analysis:
    """The tables and advice of one analysis, and the report JSON built from them."""

    by_regime: pd.DataFrame
    by_exit: pd.DataFrame
    recommendations: list[Recommendation]
    report: dict[str, Any]
    source: str


def _require(frame: pd.DataFrame, columns: tuple[str, ...], source: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{source} lacks column(s) {', '.join(missing)}")


def _hours(start: pd.Series, end: pd.Series) -> pd.Series:
    held = pd.to_datetime(end, utc=True) - pd.to_datetime(start, utc=True)
    return held.dt.total_seconds() / _SECONDS_PER_HOUR


def _regime(frame: pd.DataFrame) -> pd.Series:
    if "regime" in frame.columns:
        return frame["regime"].astype(object)
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def from_backtest(frame: pd.DataFrame, source: str = "trades") -> pd.DataFrame:
    """A backtest trade table (``trades.csv`` columns) in the analytics contract."""
    _require(frame, _BACKTEST, source)
    closed = frame[frame["exit_reason"] != "open"]
    return pd.DataFrame(
        {
            "symbol": closed["symbol"].astype(str),
            "regime": _regime(closed),
            "exit_type": closed["exit_reason"].astype(str),
            "pnl": closed["pnl"].astype(float),
            "return": closed["return"].astype(float),
            "mfe": closed["mfe"].astype(float),
            "mae": closed["mae"].astype(float),
            "hours_held": _hours(closed["entry_time"], closed["exit_time"]),
            "exit_time": pd.to_datetime(closed["exit_time"], utc=True),
        }
    ).reset_index(drop=True)[list(TRADE_COLUMNS)]


def _optional(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(float("nan"), index=frame.index)
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


def from_journal(frame: pd.DataFrame, source: str = "journal") -> pd.DataFrame:
    """Journal rows (:func:`harvester.store.repository.journal`) in the analytics contract."""
    _require(frame, _JOURNAL, source)
    return pd.DataFrame(
        {
            "symbol": frame["symbol"].astype(str),
            "regime": _regime(frame),
            "exit_type": frame["exit_reason"].astype(str),
            "pnl": frame["pnl"].astype(float),
            "return": frame["trade_return"].astype(float),
            "mfe": _optional(frame, "mfe"),
            "mae": _optional(frame, "mae"),
            "hours_held": _hours(frame["entry_date"], frame["exit_date"]),
            "exit_time": pd.to_datetime(frame["exit_date"], utc=True),
        }
    ).reset_index(drop=True)[list(TRADE_COLUMNS)]


def read_trades(path: Path) -> pd.DataFrame:
    """Read a backtest ``trades.csv``/``.parquet`` (or the folder holding ``trades.csv``)."""
    target = path / "trades.csv" if path.is_dir() else path
    if not target.is_file():
        raise ConfigError(f"no trades file at {target}")
    try:
        raw = pd.read_parquet(target) if target.suffix == ".parquet" else pd.read_csv(target)
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise DataError(f"cannot read {target}: {' '.join(str(error).split())}") from None
    if "trade_return" in raw.columns and "return" not in raw.columns:
        return from_journal(raw, str(target))  # a `harvester journal --csv` export
    return from_backtest(raw, str(target))


def journal_trades(ctx: AppContext, *, account: str = "paper") -> tuple[pd.DataFrame, str]:
    """The journal of ``account`` in the analytics contract, and where it was read."""
    label = database_label(ctx)
    store = open_existing_store(ctx)
    if store is None:
        raise ConfigError(
            f"no database at {label} yet; run: harvester scan (or harvester db upgrade)"
        )
    try:
        return from_journal(journal(store, account=account)), label
    finally:
        store.close()


def analyze(
    trades: pd.DataFrame,
    *,
    window: int = DEFAULT_WINDOW,
    source: str = "trades",
    now: datetime | None = None,
) -> Analysis:
    """Analytics by symbol × regime and by symbol × regime × exit type, advice and report."""
    by_regime = trade_analytics(trades, window=window, by=REGIME_KEYS)
    return Analysis(
        by_regime=by_regime,
        by_exit=trade_analytics(trades, window=window),
        recommendations=recommend(by_regime),
        report=build_report(trades, window=window, generated_at=now or datetime.now(UTC)),
        source=source,
    )
