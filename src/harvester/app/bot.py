"""What ``harvester bot`` needs from the rest of the system, read from the store.

- :func:`latest_scan`: the most recent scan run's symbols (ranked or skipped), each ranked
  symbol's close, and the *active signals* — the signals that scan run stored, with size,
  stop and target — which pre-fill a user's ``enter``.
- :func:`system_exposure`: the paper account's latest equity snapshot and open positions.
- :func:`stale_models`: Rally models older than ``orchestrator.stale_model_days``.
- :func:`bot_settings` and :func:`start_scheduler`: the bot process's environment
  (``DISCORD_BOT_TOKEN``, ``ANTHROPIC_API_KEY``, ``CLAUDE_MODEL``, ``ENABLE_SCHEDULER``) and the
  orchestrator's scheduler in a background thread (``ENABLE_SCHEDULER=1``), so one process
  runs chat, the daily scan and the weekly retrain.

The chat commands themselves live in :mod:`harvester.bot`, above this layer.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pandas as pd
from sqlalchemy import func, select

from harvester.app.context import AppContext
from harvester.app.orchestrator import make_scheduler
from harvester.store import Store
from harvester.store.models import RunRow, ScanResultRow, SignalRow
from harvester.store.repository import equity_history, latest_models, open_positions

__all__ = [
    "DEFAULT_CLAUDE_MODEL",
    "PAPER_ACCOUNT",
    "ActiveSignal",
    "BotSettings",
    "Exposure",
    "LatestScan",
    "bot_settings",
    "latest_scan",
    "stale_models",
    "start_scheduler",
    "system_exposure",
]

log = logging.getLogger(__name__)

PAPER_ACCOUNT = "paper"  # the account the daily scan books (harvester.app.scan.run_scan)
DEFAULT_CLAUDE_MODEL = "claude-sonnet-4-5-20250929"
RALLY = "rally"


@dataclass(frozen=True, slots=True)
class ActiveSignal:
    """A signal of the latest scan; ``size`` multiplies the configured position fraction."""

    symbol: str
    direction: int
    score: float
    size: float | None
    stop: float | None
    target: float | None


@dataclass(frozen=True, slots=True)
class LatestScan:
    """The latest scan run: its day, symbols, closes and new signals (empty before any)."""

    as_of: date | None = None
    symbols: frozenset[str] = frozenset()
    closes: dict[str, float] = field(default_factory=dict)
    signals: dict[str, ActiveSignal] = field(default_factory=dict)


def _latest_scan_run(store: Store) -> int | None:
    query = select(func.max(ScanResultRow.run_id)).join(RunRow, RunRow.id == ScanResultRow.run_id)
    with store.session() as session:
        return session.scalar(query.where(RunRow.kind == "scan"))


def _close(fields: dict[str, object]) -> float | None:
    value = fields.get("close")
    return float(value) if isinstance(value, int | float) and value > 0 else None


def latest_scan(store: Store) -> LatestScan:
    """Read the latest scan run (see the module docstring)."""
    run_id = _latest_scan_run(store)
    if run_id is None:
        return LatestScan()
    with store.session() as session:
        rows = list(session.scalars(select(ScanResultRow).where(ScanResultRow.run_id == run_id)))
        signal_rows = list(session.scalars(select(SignalRow).where(SignalRow.run_id == run_id)))
        closes = {r.symbol: c for r in rows if r.rank > 0 and (c := _close(r.fields)) is not None}
        signals = {
            s.symbol: ActiveSignal(s.symbol, s.direction, s.score, s.size, s.stop, s.target)
            for s in signal_rows
        }
        return LatestScan(rows[0].date, frozenset(r.symbol for r in rows), closes, signals)


@dataclass(frozen=True, slots=True)
class Exposure:
    """The system's paper book: the last snapshot (None before any) and open positions."""

    account: str
    as_of: date | None
    equity: float | None
    cash: float | None
    exposure: float | None
    positions: tuple[tuple[str, float, float], ...]  # (symbol, signed qty, average price)

    @property
    def exposure_pct(self) -> float | None:
        """Gross exposure as a percent of equity."""
        if self.exposure is None or not self.equity:
            return None
        return 100.0 * self.exposure / self.equity


def system_exposure(store: Store, *, account: str = PAPER_ACCOUNT) -> Exposure:
    """The account's latest equity snapshot and open positions."""
    history = equity_history(store, account=account)
    held = tuple(
        (p.symbol, p.side * p.qty, p.avg_price) for p in open_positions(store, account=account)
    )
    if history.empty:
        return Exposure(account, None, None, None, None, held)
    last = history.iloc[-1]
    return Exposure(
        account, pd.Timestamp(history.index[-1]).date(), float(last["equity"]),
        float(last["cash"]), float(last["exposure"]), held,
    )  # fmt: skip


def stale_models(
    store: Store, *, now: datetime, limit_days: float
) -> tuple[tuple[str, float], ...]:
    """Rally models whose newest fit is older than ``limit_days``: (symbol, age in days),
    oldest first."""
    models = latest_models(store, strategy=RALLY)
    ages = []
    for symbol, trained in zip(models["symbol"], models["trained_at"], strict=True):
        stamp = pd.Timestamp(trained)
        stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp
        ages.append((str(symbol), (pd.Timestamp(now) - stamp).total_seconds() / 86400.0))
    return tuple(sorted(((s, a) for s, a in ages if a > limit_days), key=lambda sa: -sa[1]))


@dataclass(frozen=True, slots=True)
class BotSettings:
    """The bot process's settings; secrets stay out of ``repr``."""

    discord_token: str | None = field(default=None, repr=False)
    anthropic_key: str | None = field(default=None, repr=False)
    model: str = DEFAULT_CLAUDE_MODEL
    enable_scheduler: bool = False
    stale_model_days: float = 14.0


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def bot_settings(ctx: AppContext) -> BotSettings:
    """Read the settings from the context's secrets (``.env``) and environment."""
    model = ctx.environ.get("CLAUDE_MODEL")
    return BotSettings(
        discord_token=ctx.secrets.get("DISCORD_BOT_TOKEN") or None,
        anthropic_key=ctx.secrets.get("ANTHROPIC_API_KEY") or None,
        model=model or DEFAULT_CLAUDE_MODEL,
        enable_scheduler=_truthy(ctx.environ.get("ENABLE_SCHEDULER")),
        stale_model_days=ctx.config.orchestrator.stale_model_days,
    )


def start_scheduler(
    ctx: AppContext, spec: str, store: Store, *, stop: threading.Event
) -> threading.Thread:
    """Run the orchestrator's scheduler (daily scan, attribution, weekly retrain) in a daemon
    thread until ``stop`` is set; a failing job is logged by the scheduler, never fatal."""
    scheduler = make_scheduler(ctx, spec, store, sleep=lambda seconds: stop.wait(seconds))
    thread = threading.Thread(
        target=scheduler.run_forever, args=(stop.is_set,), name="harvester-scheduler", daemon=True
    )
    thread.start()
    log.info("scheduler started in the bot process (data %s)", spec)
    return thread
