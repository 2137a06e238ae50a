"""The daily scan: run the daily step for a session with a broker and report on it.

``harvester scan`` loads the data, drops the symbols it cannot process (listing why), runs
:func:`harvester.app.daily.run_daily` for the as-of session (default: the data's last) and
reports

- market breadth: the share of symbols above their 50- and 200-day simple moving averages,
  the symbols whose 50-day average crossed above the 200-day one on the session (golden
  crosses), and the VIX level and regime when the data has a ``vix`` series (below 20 calm,
  20–30 volatile, 30 and above panic: Harvester II's three states);
- new signals: entries the strategy decided at the session's close (they fill at the next
  open), with the strategy's size multiplier and the engine's initial stop and target
  (``stop_atr`` / ``take_profit_atr`` × ATR from the close);
- a watchlist of near misses: symbols whose entry value is within 25 % of the threshold
  without crossing it (Rally: P(rally) above 0.35 but below the entry threshold);
- the full ranking by score, and (``--positions``) the open positions with P&L, stop and
  target.

The ranking and the new signals are stored (``scan_results``, ``signals``) under a ``scan``
run, with one ``scan_results`` row per skipped symbol (rank 0, ``fields.skipped`` = why);
the daily step stores orders, fills, positions, the journal and the equity snapshot.

Bad input costs the symbol, never the scan. Each symbol below is skipped with its reason
(``ScanReport.skipped``) and the others go on:

- a provider fetch that failed with nothing cached: ``no data: fetch failed: <reason>``;
- a stale cache with no network (the fetch failed, the cached bars are older than
  ``cache_ttl_hours``): the cached bars are used and the symbol is listed in
  ``ScanReport.stale`` as ``stale: last bar <date>, fetch failed: <reason>``, or skipped
  with that reason when its last bar is before the scan's session;
- a strategy with trained models (``rally``: ``<models>/<SYMBOL>.joblib``, written by
  ``harvester run retrain``; ``models`` defaults to ``<home>/models/rally`` and is checked
  once it holds any model): ``no trained model for <SYMBOL>; run harvester run retrain``;
  the scan then predicts P(rally) with those models
  (:func:`harvester.strategies.rally_saved.with_saved_models`) instead of refitting, and a
  model it cannot use (saved without its history's dates, or trained to a date the data
  lacks) skips its symbol with ``saved model unusable: <reason>``;
- no bar on the session, or under :data:`MIN_HISTORY` sessions of history;
- a :class:`~harvester.core.errors.DataError` or
  :class:`~harvester.core.errors.StrategyError` raised by the strategy or the engine. The
  replay runs on the whole panel first (vectorised); only when it fails is the panel cut in
  halves, each half replayed, down to the symbols that fail on their own, and the panel is
  replayed once more without them.

An unknown named config (``--config``) or strategy is a configuration error before any data
is read, and when no symbol is left the scan fails with the reasons of the first skipped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from harvester.app.context import AppContext
from harvester.app.daily import Replay, atr_levels, book_daily, replay, session_on_or_before
from harvester.app.data import load_data
from harvester.backtest.inputs import engine_params
from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError, DataError, StrategyError
from harvester.data.loader import LoadedData
from harvester.data.panel import Panel
from harvester.data.providers.fetch import collect_fetch_results
from harvester.live.brokers.base import Broker
from harvester.live.paper import PaperBroker
from harvester.store import Store
from harvester.store.database import ENCRYPTION_KEY_ENV, open_store
from harvester.store.repository import (
    Trade,
    finish_run,
    record_run,
    record_scan_results,
    record_scan_skipped,
    record_signals,
)
from harvester.strategies.base import Strategy
from harvester.strategies.rally import named_config as rally_named_config
from harvester.strategies.rally_saved import SavedModel, load_saved, with_saved_models
from harvester.strategies.registry import STRATEGIES

__all__ = [
    "DEFAULT_LIVE_SESSIONS",
    "MIN_HISTORY",
    "MODEL_STRATEGIES",
    "Breadth",
    "ScanReport",
    "breadth",
    "run_scan",
    "vix_regime",
]

MIN_HISTORY = 200
"""Sessions of history a symbol needs up to the as-of date (the 200-day average)."""
DEFAULT_LIVE_SESSIONS = 252
"""Without ``--live-start`` the simulation starts this many sessions before the as-of date."""
NEAR = 0.75  # a near miss reaches 75 % of the entry threshold
RALLY_WATCH = 0.35
MODEL_STRATEGIES = ("rally",)
"""Strategies with a trained model per symbol: ``<home>/models/<strategy>/<SYMBOL>.joblib``."""
_SYMBOL_ERRORS = (DataError, StrategyError)


@dataclass(frozen=True, slots=True)
class Breadth:
    """Market breadth on the session."""

    symbols: int
    above_50: float  # percent of symbols with a close above their 50-day SMA
    above_200: float
    golden_crosses: tuple[str, ...]
    vix: float | None = None
    vix_regime: str | None = None


@dataclass(frozen=True, slots=True)
class ScanReport:
    """Everything ``harvester scan`` prints."""

    as_of: date
    strategy: str
    source: str
    live_start: date
    breadth: Breadth
    signals: pd.DataFrame
    watchlist: pd.DataFrame
    ranking: pd.DataFrame
    positions: pd.DataFrame | None
    skipped: tuple[tuple[str, str], ...]
    orders: int
    rejected: tuple[tuple[str, str], ...] = field(default=())
    stale: tuple[tuple[str, str], ...] = field(default=())  # scanned on stale cached bars
    closed: tuple[Trade, ...] = field(default=())  # positions the session closed


def vix_regime(level: float) -> str:
    """Calm below 20, volatile from 20 to 30, panic from 30."""
    return "calm" if level < 20 else "volatile" if level < 30 else "panic"


def _sma(close: pd.DataFrame, window: int) -> pd.DataFrame:
    return close.rolling(window, min_periods=window).mean()


def breadth(panel: Panel) -> Breadth:
    """Breadth on ``panel``'s last session (computed on the whole history up to it)."""
    close = panel.frame("close")
    fast, slow = _sma(close, 50), _sma(close, 200)
    last = close.iloc[-1]
    with np.errstate(invalid="ignore"):
        above_50 = float((last > fast.iloc[-1])[fast.iloc[-1].notna()].mean() * 100)
        above_200 = float((last > slow.iloc[-1])[slow.iloc[-1].notna()].mean() * 100)
    crossed = (fast.iloc[-1] > slow.iloc[-1]) & (fast.iloc[-2] <= slow.iloc[-2])
    vix = None
    if "vix" in panel.aux:
        series = panel.aux_series("vix").dropna()
        vix = float(series.iloc[-1]) if len(series) else None
    return Breadth(
        symbols=int(last.notna().sum()),
        above_50=above_50 if math.isfinite(above_50) else 0.0,
        above_200=above_200 if math.isfinite(above_200) else 0.0,
        golden_crosses=tuple(str(s) for s in crossed[crossed].index),
        vix=vix,
        vix_regime=None if vix is None else vix_regime(vix),
    )


def _usable(panel: Panel, session: pd.Timestamp) -> tuple[Panel, list[tuple[str, str]]]:
    cut = panel.slice(None, session)
    close = cut.array("close")
    bars = np.isfinite(close).sum(axis=0)
    traded = np.isfinite(close[-1])
    skipped: list[tuple[str, str]] = []
    for column in np.flatnonzero(~traded | (bars < MIN_HISTORY)):  # only the skipped ones
        symbol, count = cut.symbols[column], int(bars[column])
        reason = f"only {count} sessions of history (needs {MIN_HISTORY})"
        skipped.append((symbol, f"no bar on {session.date()}" if not traded[column] else reason))
    keep = [s for s, ok in zip(cut.symbols, traded & (bars >= MIN_HISTORY), strict=True) if ok]
    if not keep:
        raise DataError(f"no symbol can be scanned on {session.date()}{_why(skipped)}")
    return cut.select(keep), skipped


def _why(skipped: list[tuple[str, str]]) -> str:
    if not skipped:
        return ""
    shown = "; ".join(f"{symbol}: {reason}" for symbol, reason in skipped[:3])
    more = f" (and {len(skipped) - 3} more)" if len(skipped) > 3 else ""
    return f"; skipped {shown}{more}"


def _fetched(ctx: AppContext, spec: str) -> tuple[LoadedData, dict[str, str], dict[str, str]]:
    """Load ``spec``; also return the symbols whose fetch failed with nothing cached, and the
    ones served from a stale cache, each with the fetch's reason."""
    with collect_fetch_results() as results:
        loaded = load_data(ctx, spec)
    failed = {s: r for result in results for s, r in result.failures.items()}
    stale = {s: r for result in results for s, r in result.stale.items()}
    return loaded, failed, stale


def _stale(
    panel: Panel, session: pd.Timestamp, reasons: dict[str, str]
) -> tuple[Panel, list[tuple[str, str]], list[tuple[str, str]]]:
    """Skip the stale symbols without a bar on the session; note the others."""
    if not reasons:
        return panel, [], []
    last = dict(zip(panel.symbols, panel.last_valid_dates(), strict=True))
    skipped: list[tuple[str, str]] = []
    noted: list[tuple[str, str]] = []
    for symbol in (s for s in panel.symbols if s in reasons):
        note = (
            f"stale: last bar {pd.Timestamp(last[symbol]).date()}, fetch failed: {reasons[symbol]}"
        )
        (noted if pd.Timestamp(last[symbol]) >= session else skipped).append((symbol, note))
    gone = {s for s, _ in skipped}
    keep = [s for s in panel.symbols if s not in gone]
    if not keep:
        raise DataError(f"no symbol can be scanned on {session.date()}{_why(skipped)}")
    return (panel.select(keep) if gone else panel), skipped, noted


def models_folder(ctx: AppContext, strategy: str, models: Path | None) -> Path | None:
    """Where ``strategy``'s trained models are checked, or None when they are not: the
    given folder (it must exist), else ``<home>/models/<strategy>`` once it holds a model."""
    if strategy not in MODEL_STRATEGIES:
        return None
    if models is not None:
        if not models.is_dir():
            raise ConfigError(f"models folder {models} does not exist; run harvester run retrain")
        return models
    folder = ctx.home.models / strategy
    return folder if folder.is_dir() and any(folder.glob("*.joblib")) else None


def _with_models(panel: Panel, folder: Path | None) -> tuple[Panel, list[tuple[str, str]]]:
    if folder is None:
        return panel, []
    saved = {p.stem for p in folder.glob("*.joblib")}
    missing = [s for s in panel.symbols if s not in saved]
    skipped = [(s, f"no trained model for {s}; run harvester run retrain") for s in missing]
    if len(missing) == len(panel.symbols):
        raise DataError(f"no trained model in {folder} for any symbol; run harvester run retrain")
    return (panel.select([s for s in panel.symbols if s in saved]) if missing else panel), skipped


def _saved_strategy(
    strategy: str, panel: Panel, folder: Path | None
) -> tuple[str | Strategy, Panel, list[tuple[str, str]]]:
    """``rally`` with its saved models (loaded once per scan) when ``folder`` holds them; a
    symbol whose model cannot be used is skipped with the reason."""
    if strategy != "rally" or folder is None:
        return strategy, panel, []
    models: dict[str, SavedModel] = {}
    skipped: list[tuple[str, str]] = []
    for symbol in panel.symbols:
        try:
            models[symbol] = load_saved(folder / f"{symbol}.joblib")
        except Exception as error:  # a corrupt file may raise anything unpickling does
            skipped.append((symbol, f"saved model unusable: {type(error).__name__}: {error}"))
    if not models:
        raise DataError(f"no usable trained model in {folder}{_why(skipped)}")
    kept = panel.select(list(models)) if skipped else panel
    return with_saved_models(models), kept, skipped


def _failing(
    panel: Panel, symbols: list[str], attempt: Callable[[Panel], Replay]
) -> list[tuple[str, str]]:
    """The symbols of a failing set that fail on their own, with why: halve, replay each
    half, recurse into the halves that fail (a half that replays is clean)."""
    mid = len(symbols) // 2
    found: list[tuple[str, str]] = []
    for half in (symbols[:mid], symbols[mid:]):
        try:
            attempt(panel.select(half))
        except _SYMBOL_ERRORS as error:
            if len(half) == 1:
                found.append((half[0], f"{type(error).__name__}: {' '.join(str(error).split())}"))
            else:
                found += _failing(panel, half, attempt)
    return found


def _replay_isolated(
    cut: Panel, strategy: str | Strategy, config: HarvesterConfig, *, start: pd.Timestamp,
    session: pd.Timestamp,
) -> tuple[Replay, list[tuple[str, str]]]:  # fmt: skip
    """Replay the whole panel; when a symbol's data or the strategy fails, replay it again
    without the symbols that fail on their own (see the module docstring)."""

    def attempt(panel: Panel) -> Replay:
        return replay(panel, strategy, config, live_start=start, as_of=session)

    try:
        return attempt(cut), []
    except _SYMBOL_ERRORS as error:
        if len(cut.symbols) == 1:
            raise
        first = error
    bad = _failing(cut, list(cut.symbols), attempt)
    keep = [s for s in cut.symbols if s not in {symbol for symbol, _ in bad}]
    if not bad or not keep:
        raise first
    return attempt(cut.select(keep)), bad


def _select(panel: Panel, tickers: tuple[str, ...]) -> Panel:
    if not tickers:
        return panel
    unknown = [t for t in tickers if t not in panel.symbols]
    if unknown:
        raise DataError(
            f"unknown ticker(s) {', '.join(unknown)}; the data has {len(panel.symbols)} symbols"
        )
    return panel.select(tickers)


def _levels(rep: Replay) -> tuple[np.ndarray, np.ndarray]:
    side = np.where(rep.signals.direction[-1] < 0, -1.0, 1.0)
    close = rep.panel.array("close")[-1]
    return atr_levels(close, side, rep.atr[-1], engine_params(rep.config))


def _ranking(rep: Replay) -> pd.DataFrame:
    held = rep.result.positions.iloc[-1].to_numpy()
    frame = pd.DataFrame(
        {
            "symbol": list(rep.panel.symbols),
            "score": np.nan_to_num(rep.signals.score[-1]),
            "direction": rep.signals.direction[-1].astype(int),
            "close": rep.panel.array("close")[-1],
            "held": np.sign(held).astype(int),
        }
    )
    frame = frame.sort_values(["score", "symbol"], ascending=[False, True], kind="stable")
    return frame.reset_index(drop=True).assign(rank=lambda f: np.arange(1, len(f) + 1))


def _new_signals(rep: Replay) -> pd.DataFrame:
    direction = rep.signals.direction[-1].astype(int)
    held = np.sign(rep.result.positions.iloc[-1].to_numpy())
    new = (direction != 0) & (held != direction)
    stop, target = _levels(rep)
    frame = pd.DataFrame(
        {
            "symbol": list(rep.panel.symbols),
            "direction": direction,
            "score": rep.signals.score[-1],
            "size": rep.signals.size[-1],
            "stop": stop,
            "target": target,
        }
    )[new]
    ordered: pd.DataFrame = frame.sort_values("score", ascending=False, kind="stable")
    return ordered.reset_index(drop=True)


_NEAR_KEYS = {
    "composer": ("blend", "entry_threshold"),
    "panic": ("panic_score", "panic_threshold"),
    "rally": ("p_rally", "p_threshold"),
}


def _watchlist(rep: Replay) -> pd.DataFrame:
    direction = rep.signals.direction[-1]
    columns = ["symbol", "value", "threshold", "score"]
    keys = _NEAR_KEYS.get(rep.strategy)
    if keys is None or keys[0] not in rep.details or keys[1] not in rep.details:
        return pd.DataFrame(columns=columns)
    value = np.abs(np.asarray(rep.details[keys[0]], dtype=float)[-1])
    threshold = np.asarray(rep.details[keys[1]], dtype=float)[-1]
    floor = RALLY_WATCH if rep.strategy == "rally" else NEAR * threshold
    with np.errstate(invalid="ignore"):
        near = (direction == 0) & (value >= floor) & (value < threshold)
    frame = pd.DataFrame(
        {
            "symbol": list(rep.panel.symbols),
            "value": value,
            "threshold": threshold,
            "score": rep.signals.score[-1],
        }
    )[near]
    ordered: pd.DataFrame = frame.sort_values("value", ascending=False, kind="stable")
    return ordered.reset_index(drop=True)


def _positions(
    rep: Replay, opened: tuple[tuple[str, float | None, float | None], ...]
) -> pd.DataFrame:
    trades = rep.result.trades
    still_open = trades[trades["exit_reason"] == "open"]
    levels = {symbol: (stop, target) for symbol, stop, target in opened}
    return pd.DataFrame(
        {
            "symbol": still_open["symbol"].to_numpy(),
            "side": still_open["side"].to_numpy(),
            "qty": still_open["qty"].to_numpy(),
            "entry_date": still_open["entry_time"].dt.date.to_numpy(),
            "entry_price": still_open["entry_price"].to_numpy(),
            "close": still_open["exit_price"].to_numpy(),
            "pnl": still_open["pnl"].to_numpy(),
            "return": still_open["return"].to_numpy(),
            "stop": [levels.get(s, (None, None))[0] for s in still_open["symbol"]],
            "target": [levels.get(s, (None, None))[1] for s in still_open["symbol"]],
        }
    )


def open_app_store(ctx: AppContext) -> Store:
    """The configured store (``HARVESTER_DATABASE_URL`` or the home's SQLite file)."""
    return open_store(
        None, home=ctx.home, environ=ctx.environ,
        encryption_key=ctx.secrets.get(ENCRYPTION_KEY_ENV),
    )  # fmt: skip


def _live_start(cut: Panel, session: pd.Timestamp, live_start: str | None) -> pd.Timestamp:
    if live_start is not None:
        try:
            start = pd.Timestamp(live_start)
        except ValueError:
            raise ConfigError(f"--live-start {live_start!r} is not a date (YYYY-MM-DD)") from None
        if start > session:
            raise ConfigError(f"--live-start {start.date()} is after the session {session.date()}")
        return start
    return pd.Timestamp(cut.index[max(len(cut.index) - DEFAULT_LIVE_SESSIONS, 1)])


def run_scan(
    ctx: AppContext,
    spec: str,
    *,
    strategy: str,
    tickers: tuple[str, ...] = (),
    as_of: str | None = None,
    live_start: str | None = None,
    named: str | None = None,
    with_positions: bool = False,
    store: Store | None = None,
    account: str = "paper",
    models: Path | None = None,
    broker: Broker | None = None,
) -> ScanReport:
    """Run the daily step for the as-of session with a broker (default: the paper broker
    on ``account``), store and report.

    Symbols that cannot be scanned are skipped with the reason (module docstring);
    ``models`` is the folder of trained models for strategies that use them (``rally``).
    A real ``broker`` is sent the orders for the next open; its account is its name.
    """
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown strategy {strategy!r}; available: {', '.join(STRATEGIES)}")
    config = ctx.config
    if named is not None:
        rally_named_config(named)  # an unknown name fails here, with the known ones
        rally = config.strategies.rally.model_copy(update={"named_config": named})
        strategies = config.strategies.model_copy(update={"rally": rally})
        config = config.model_copy(update={"strategies": strategies})
    folder = models_folder(ctx, strategy, models)
    loaded, failed, stale_reasons = _fetched(ctx, spec)
    skipped = [(s, f"no data: fetch failed: {r}") for s, r in failed.items()
               if not tickers or s in tickers]  # fmt: skip
    wanted = tuple(t for t in tickers if t not in failed)
    if tickers and not wanted:
        raise DataError(f"no symbol can be scanned{_why(skipped)}")
    panel = _select(loaded.panel, wanted)
    session = session_on_or_before(panel, as_of)
    panel, stale_skipped, stale = _stale(panel, session, stale_reasons)
    panel, unmodelled = _with_models(panel, folder)
    chosen, panel, unloadable = _saved_strategy(strategy, panel, folder)
    cut, unusable = _usable(panel, session)
    skipped += stale_skipped + unmodelled + unloadable + unusable
    start = _live_start(cut, session, live_start)
    rep, failing = _replay_isolated(cut, chosen, config, start=start, session=session)
    skipped += failing
    if failing:
        cut = cut.select(list(rep.panel.symbols))
    owned = store is None
    db = open_app_store(ctx) if store is None else store
    try:
        if broker is None:
            broker = PaperBroker(db, account=account, initial_cash=config.initial_capital)
        else:
            account = broker.name
        outcome = book_daily(db, broker, rep, account=account)
        report = ScanReport(
            as_of=rep.day, strategy=strategy, source=loaded.source,
            live_start=pd.Timestamp(rep.panel.index[0]).date(), breadth=breadth(cut),
            signals=_new_signals(rep), watchlist=_watchlist(rep),
            ranking=_with_notes(_ranking(rep), stale),
            positions=(
                _positions(rep, tuple((p.symbol, p.stop, p.target) for p in outcome.plan.open))
                if with_positions else None
            ),
            skipped=tuple(skipped), orders=len(outcome.orders), rejected=outcome.rejected,
            stale=tuple(stale), closed=outcome.plan.closed,
        )  # fmt: skip
        _store_scan(db, report)
    finally:
        if owned:
            db.close()
    return report


def _with_notes(ranking: pd.DataFrame, notes: list[tuple[str, str]]) -> pd.DataFrame:
    """The ranking with a ``note`` column when some symbol was scanned on stale bars."""
    if not notes:
        return ranking
    by_symbol = dict(notes)
    return ranking.assign(note=ranking["symbol"].map(by_symbol))


def _store_scan(store: Store, report: ScanReport) -> None:
    run_id = record_run(store, "scan")
    record_scan_results(store, run_id, report.as_of, report.ranking)
    record_scan_skipped(store, run_id, report.as_of, report.skipped)
    if len(report.signals):
        record_signals(
            store, run_id, report.signals.assign(date=report.as_of, strategy=report.strategy)
        )
    finish_run(store, run_id, "ok")
