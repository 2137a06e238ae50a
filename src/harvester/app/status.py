"""``harvester status``: Harvester II's status mode — system health, portfolio summary, risk
metrics, tradable universe and the macro G-Score — in one read-only report.

- **Health**: the database (reachable, its schema revision against the latest migration; a
  SQLite file that does not exist yet is reported, not created), the data cache (how many
  symbols, the newest and oldest fetch, how many are older than
  ``data.providers.cache_ttl_hours``) and the last ``scan`` run in the store's ``runs``.
- **Portfolio**: the latest daily equity snapshot of the account (equity, cash, exposure,
  unrealised P&L), the open positions in the store and the day's P&L (the last snapshot's
  equity minus the one before; unknown with a single snapshot).
- **Risk**: the current drawdown from the running peak of the snapshots' equity, and the two
  kill-switches with the backtest engine's rules: the **drawdown** switch trips once equity
  falls to ``peak × (1 − risk_params.max_drawdown_pct / 100)`` and stays tripped; the
  **daily-loss** switch trips on a day whose equity is at or below the previous day's ×
  ``(1 − risk_params.max_daily_loss_pct / 100)``. A limit of 0 switches a rule off.
- **Tradable universe**: the symbols whose CRI (20 sessions) on the data's last session is
  at least ``universe.cri_threshold`` (Harvester II trades CRI ≥ 0.4).
- **Macro G-Score**: 0–3 points on the data's last session, one each for VIX > 25, a 7-session
  benchmark (SPY) return below −5 % and a 7-session oil return above +10 %; at G-Score ≥ 2
  Harvester II halves position size. Needs the data's ``vix``, ``benchmark`` and ``oil``
  series (the bundled sample has them).

A part that cannot be computed says why (``note``) and the others are still reported.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select

from harvester.app.context import AppContext
from harvester.app.data import load_data
from harvester.app.journal import database_label, open_existing_store
from harvester.core.errors import HarvesterError
from harvester.data.cache import ParquetCache
from harvester.data.panel import Panel
from harvester.features import FEATURES, InsufficientHistoryWarning
from harvester.store import Store
from harvester.store.migrate import current_revision, head_revision
from harvester.store.models import RunRow
from harvester.store.repository import equity_history, open_positions

__all__ = [
    "CRI_WINDOW",
    "G_SCORE_PARAMS",
    "CacheHealth",
    "Health",
    "Macro",
    "Portfolio",
    "Risk",
    "StatusReport",
    "Tradable",
    "cache_health",
    "g_score_meaning",
    "macro",
    "risk_metrics",
    "run_status",
    "tradable_universe",
]

CRI_WINDOW = 20
G_SCORE_PARAMS = {"horizon": 7, "vix_threshold": 25.0, "benchmark_drop": 0.05, "oil_rise": 0.10}
MACRO_SERIES = ("vix", "benchmark", "oil")


@dataclass(frozen=True, slots=True)
class CacheHealth:
    """The Parquet cache of daily bars."""

    symbols: int
    newest: datetime | None
    oldest: datetime | None
    stale: int
    ttl_hours: float


@dataclass(frozen=True, slots=True)
class Health:
    """Database, cache and the last scan."""

    database: str
    database_state: str  # ok | behind | missing | unreachable
    revision: str | None
    head: str
    cache: CacheHealth
    last_scan: datetime | None = None
    last_scan_status: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Portfolio:
    """The latest snapshot of the account; None where unknown."""

    as_of: date | None
    equity: float | None
    cash: float | None
    exposure: float | None
    unrealised_pnl: float | None
    open_positions: int
    day_pnl: float | None


@dataclass(frozen=True, slots=True)
class Risk:
    """Drawdown and kill-switch state from the equity history (fractions)."""

    drawdown: float | None
    max_drawdown: float | None
    drawdown_limit: float
    drawdown_tripped: bool
    daily_loss: float | None
    daily_loss_limit: float
    daily_loss_tripped: bool

    @property
    def kill_switch(self) -> bool:
        return self.drawdown_tripped or self.daily_loss_tripped


@dataclass(frozen=True, slots=True)
class Tradable:
    """Symbols with CRI ≥ threshold on the data's last session."""

    as_of: date | None
    threshold: float
    window: int
    symbols: tuple[str, ...]
    cri: dict[str, float] = field(default_factory=dict)
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Macro:
    """The G-Score on the data's last session, its inputs and what it means."""

    as_of: date | None
    g_score: float | None
    meaning: str
    size_multiplier: float | None
    vix: float | None = None
    benchmark_return: float | None = None
    oil_return: float | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class StatusReport:
    """Everything ``harvester status`` prints."""

    account: str
    source: str
    health: Health
    portfolio: Portfolio
    risk: Risk
    tradable: Tradable
    macro: Macro


# ---- health -------------------------------------------------------------------------------


def cache_health(root: Path, *, ttl_hours: float, now: datetime) -> CacheHealth:
    """Count the cached symbols of every provider and how many are older than ``ttl_hours``."""
    cache = ParquetCache(root)
    stamps = []
    providers = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    for provider in providers:
        try:
            symbols = cache.symbols(provider)
        except ValueError:  # not a provider folder
            continue
        for symbol in symbols:
            entry = cache.entry(provider, symbol)
            if entry is not None:
                stamps.append(entry.fetched_at)
    max_age = timedelta(hours=ttl_hours)
    stale = sum(1 for s in stamps if now - s > max_age)
    return CacheHealth(len(stamps), max(stamps, default=None), min(stamps, default=None), stale,
                       ttl_hours)  # fmt: skip


def _last_scan(store: Store) -> tuple[datetime | None, str | None]:
    query = select(RunRow).where(RunRow.kind == "scan").order_by(RunRow.started_at.desc())
    with store.session() as session:
        row = session.scalars(query.limit(1)).one_or_none()
        return (None, None) if row is None else (row.finished_at or row.started_at, row.status)


def _health(ctx: AppContext, store: Store | None, note: str | None) -> Health:
    ttl = float(ctx.config.data.providers.cache_ttl_hours)
    cache = cache_health(ctx.home.cache, ttl_hours=ttl, now=ctx.now())
    head = head_revision()
    label = database_label(ctx) if store is None else store.url
    if store is None:
        state = "unreachable" if note else "missing"
        return Health(label, state, None, head, cache, note=note)
    revision = current_revision(store.engine)
    scanned, status = _last_scan(store) if revision == head else (None, None)
    state = "ok" if revision == head else "behind"
    return Health(label, state, revision, head, cache, scanned, status)


# ---- portfolio and risk -------------------------------------------------------------------


def _float(value: object) -> float | None:
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None


def _portfolio(history: pd.DataFrame, positions: int) -> Portfolio:
    if history.empty:
        return Portfolio(None, None, None, None, None, positions, None)
    last = history.iloc[-1]
    day = (
        _float(history["equity"].iloc[-1] - history["equity"].iloc[-2])
        if len(history) > 1
        else None
    )
    return Portfolio(
        pd.Timestamp(history.index[-1]).date(), _float(last["equity"]), _float(last["cash"]),
        _float(last["exposure"]), _float(last["unrealised_pnl"]), positions, day,
    )  # fmt: skip


def risk_metrics(equity: pd.Series, *, max_drawdown_pct: float, max_daily_loss_pct: float) -> Risk:
    """Drawdown and kill-switch state from daily equity (the engine's rules; see module doc)."""
    dd_limit, loss_limit = max_drawdown_pct / 100.0, max_daily_loss_pct / 100.0
    values = equity.astype(float).to_numpy()
    if not len(values):
        return Risk(None, None, dd_limit, False, None, loss_limit, False)
    peak = np.maximum.accumulate(values)
    drawdown = 1.0 - values / peak
    dd_tripped = bool(dd_limit > 0 and (values <= peak * (1.0 - dd_limit)).any())
    loss = float(1.0 - values[-1] / values[-2]) if len(values) > 1 else None
    loss_tripped = bool(
        loss_limit > 0 and len(values) > 1 and values[-1] <= values[-2] * (1.0 - loss_limit)
    )
    return Risk(float(drawdown[-1]), float(drawdown.max()), dd_limit, dd_tripped, loss,
                loss_limit, loss_tripped)  # fmt: skip


# ---- universe and macro -------------------------------------------------------------------


def _quiet_compute(panel: Panel, name: str, **params: float) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsufficientHistoryWarning)
        return FEATURES.compute(panel, name, **params)


def tradable_universe(panel: Panel, *, threshold: float, window: int = CRI_WINDOW) -> Tradable:
    """Symbols whose CRI over ``window`` on the panel's last session is ≥ ``threshold``."""
    values = _quiet_compute(panel, "cri", window=window)[-1]
    known = {s: float(v) for s, v in zip(panel.symbols, values, strict=True) if math.isfinite(v)}
    passing = sorted((s for s, v in known.items() if v >= threshold), key=lambda s: -known[s])
    return Tradable(pd.Timestamp(panel.index[-1]).date(), threshold, window, tuple(passing),
                    known)  # fmt: skip


def g_score_meaning(score: float | None) -> tuple[str, float | None]:
    """What a G-Score means for Harvester II, and the position-size multiplier it implies."""
    if score is None:
        return "unknown", None
    if score >= 2:
        return "high macro risk: position size halved (G-Score >= 2)", 0.5
    if score >= 1:
        return "elevated macro risk: one risk point, full size", 1.0
    return "low macro risk: full size", 1.0


def _change(series: pd.Series, horizon: int) -> float | None:
    values = series.to_numpy(dtype=float)
    if len(values) <= horizon:
        return None
    return _float(values[-1] / values[-1 - horizon] - 1.0)


def macro(panel: Panel) -> Macro:
    """The G-Score on the panel's last session with its three inputs."""
    as_of = pd.Timestamp(panel.index[-1]).date()
    missing = [name for name in MACRO_SERIES if name not in panel.aux]
    if missing:
        note = f"the data has no {', '.join(missing)} series; the G-Score needs vix, benchmark, oil"
        return Macro(as_of, None, "unknown", None, note=note)
    last = _quiet_compute(panel, "g_score", **G_SCORE_PARAMS)[-1]
    finite = last[np.isfinite(last)]
    score = float(finite.max()) if len(finite) else None
    meaning, multiplier = g_score_meaning(score)
    horizon = int(G_SCORE_PARAMS["horizon"])
    vix = panel.aux_series("vix")
    return Macro(
        as_of, score, meaning, multiplier, vix=_float(vix.iloc[-1]),
        benchmark_return=_change(panel.aux_series("benchmark"), horizon),
        oil_return=_change(panel.aux_series("oil"), horizon),
        note=None if score is not None else "an input is missing on the last session",
    )  # fmt: skip


# ---- the report ---------------------------------------------------------------------------


def _market(ctx: AppContext, data: str) -> tuple[str, Tradable, Macro]:
    threshold = float(ctx.config.universe.cri_threshold)
    try:
        loaded = load_data(ctx, data)
    except HarvesterError as exc:
        note = f"cannot load {data}: {exc}"
        return data, Tradable(None, threshold, CRI_WINDOW, (), note=note), Macro(
            None, None, "unknown", None, note=note)  # fmt: skip
    return loaded.source, tradable_universe(loaded.panel, threshold=threshold), macro(
        loaded.panel)  # fmt: skip


def run_status(
    ctx: AppContext, *, account: str = "paper", data: str = "sample", store: Store | None = None
) -> StatusReport:
    """Collect the status of the system, the account and the market (read only).

    ``store`` is the database to read (default: the configured one, closed afterwards).
    """
    rules = ctx.config.risk_params
    history = pd.DataFrame(columns=["equity", "cash", "exposure", "unrealised_pnl"])
    positions, note, db = 0, None, store
    try:
        if store is None:
            db = open_existing_store(ctx, migrate=False)
    except HarvesterError as exc:
        note = str(exc)
    try:
        health = _health(ctx, db, note)
        if db is not None and health.database_state == "ok":
            history = equity_history(db, account=account)
            positions = len(open_positions(db, account=account))
    finally:
        if db is not None and store is None:
            db.close()
    risk = risk_metrics(history["equity"], max_drawdown_pct=rules.max_drawdown_pct,
                        max_daily_loss_pct=rules.max_daily_loss_pct)  # fmt: skip
    source, tradable, macro_state = _market(ctx, data)
    return StatusReport(account, source, health, _portfolio(history, positions), risk, tradable,
                        macro_state)  # fmt: skip
