"""``harvester screen``: the daily opportunity pool over a universe, written for the live loop.

The universe is ``sp500``, ``nasdaq100``, ``sample``, ``alpaca_equity`` (the broker's list of
active, tradable US equities; needs Alpaca keys) or ``@FILE`` (one symbol per line); without
one, every symbol of the data is screened. The data is

- a provider (``--data yfinance``, ``alpaca``, ``alphavantage`` or ``online`` for the
  configured order): the universe is fetched in chunks of ``chunk`` symbols, each symbol
  from the cache first (fresh within ``data.providers.cache_ttl_hours``), pausing ``delay``
  seconds after a chunk that asked a provider (not after one the cache served); a chunk that
  fails is listed and the rest go on;
- anything else ``--data`` accepts (``sample``, a file or folder, ``synthetic:...``): loaded
  once, no fetching, cut to the universe's symbols.

The criteria and the activity score are :mod:`harvester.live.screener`'s. The top N active
symbols go to ``<HARVESTER_HOME>/active_symbols.json`` (or ``out``) atomically.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from harvester.app.context import AppContext
from harvester.app.data import load_data
from harvester.core.errors import ConfigError, DataError
from harvester.data.loader import PROVIDER_PREFIXES
from harvester.data.panel import Panel
from harvester.data.universes import load_universe
from harvester.live.brokers.registry import open_broker
from harvester.live.screener import (
    ACTIVE_SYMBOLS_FILE,
    SCREEN_COLUMNS,
    ScreenCriteria,
    active_symbols_json,
    chunks,
    screen_panel,
    write_active_symbols,
)

__all__ = ["ALPACA_EQUITY", "ScreenReport", "default_out", "resolve_universe", "run_screen"]

ALPACA_EQUITY = "alpaca_equity"
DEFAULT_CHUNK = 50
DEFAULT_DELAY = 0.5  # seconds between chunks (the Python brain's SCREENER_CHUNK_DELAY_SEC)


@dataclass(frozen=True, slots=True)
class ScreenReport:
    """What ``harvester screen`` prints: the ranked active symbols and where they went."""

    universe: str
    source: str
    screened: int
    ranked: pd.DataFrame  # the top N, columns SCREEN_COLUMNS plus ``rank``
    active: int  # active symbols before the top-N cut
    skipped: tuple[tuple[str, str], ...]
    criteria: ScreenCriteria
    out: Path
    content: dict[str, Any]
    chunks: int = 1


def default_out(ctx: AppContext) -> Path:
    """``<HARVESTER_HOME>/active_symbols.json``."""
    return ctx.home.root / ACTIVE_SYMBOLS_FILE


def _alpaca_symbols(ctx: AppContext) -> tuple[str, ...]:
    broker = open_broker("alpaca", environ={**ctx.secrets.plain(), **ctx.environ})
    asset_symbols = getattr(broker, "asset_symbols", None)
    if asset_symbols is None:
        raise ConfigError("the alpaca broker cannot list assets")
    return tuple(str(s) for s in asset_symbols())


def resolve_universe(
    ctx: AppContext,
    spec: str,
    *,
    alpaca_symbols: Callable[[AppContext], Sequence[str]] = _alpaca_symbols,
) -> tuple[str, ...]:
    """The symbols of ``spec``: a named universe, ``alpaca_equity`` or ``@FILE``."""
    text = spec.strip()
    if text.lower() == ALPACA_EQUITY:
        symbols = tuple(alpaca_symbols(ctx))
        if not symbols:
            raise DataError("the broker listed no tradable US equities")
        return symbols
    if text.startswith("@"):
        text = f"file:{text[1:]}"
    return load_universe(text).symbols


def _provider(spec: str) -> str | None:
    prefix, _, rest = spec.strip().partition(":")
    return prefix if prefix in PROVIDER_PREFIXES and not rest.strip() else None


def _cut(panel: Panel, symbols: tuple[str, ...] | None) -> tuple[Panel, list[tuple[str, str]]]:
    if symbols is None:
        return panel, []
    present = [s for s in symbols if s in panel.symbols]
    missing = [(s, "not in the data") for s in symbols if s not in panel.symbols]
    if not present:
        raise DataError(f"none of the universe's {len(symbols)} symbols is in the data")
    return panel.select(present), missing


def _fetch_and_screen(
    ctx: AppContext,
    provider: str,
    symbols: tuple[str, ...],
    criteria: ScreenCriteria,
    *,
    chunk: int,
    delay: float,
    sleep: Callable[[float], None],
) -> tuple[pd.DataFrame, list[tuple[str, str]], int]:
    frames: list[pd.DataFrame] = []
    skipped: list[tuple[str, str]] = []
    groups = chunks(symbols, chunk)
    asked = False  # whether the last chunk asked the provider (a cache hit needs no pause)
    for number, group in enumerate(groups):
        if asked and delay > 0:
            sleep(delay)
        try:
            loaded = load_data(ctx, f"{provider}:{','.join(group)}")
        except DataError as exc:
            asked = True
            skipped.extend((s, f"chunk {number + 1} failed: {exc}") for s in group)
            continue
        asked, panel = loaded.requested > 0, loaded.panel
        skipped.extend((s, "no data from the provider") for s in group if s not in panel.symbols)
        ranked, missed = screen_panel(panel, criteria)
        frames.append(ranked)
        skipped.extend(missed)
    if not frames:
        raise DataError(f"{provider}: no chunk of the universe could be loaded")
    return pd.concat(frames, ignore_index=True), skipped, len(groups)


def _rank(frame: pd.DataFrame, top: int) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=["rank", *SCREEN_COLUMNS])
    ordered = frame.sort_values(["score", "symbol"], ascending=[False, True], kind="stable")
    head = ordered.head(top).reset_index(drop=True)
    return head.assign(rank=range(1, len(head) + 1))[["rank", *SCREEN_COLUMNS]]


def run_screen(
    ctx: AppContext,
    *,
    universe: str | None = None,
    data: str = "sample",
    top: int = 20,
    criteria: ScreenCriteria | None = None,
    chunk: int = DEFAULT_CHUNK,
    delay: float = DEFAULT_DELAY,
    out: Path | None = None,
    sleep: Callable[[float], None] = time.sleep,
    alpaca_symbols: Callable[[AppContext], Sequence[str]] = _alpaca_symbols,
) -> ScreenReport:
    """Screen the universe, write the top ``top`` active symbols to ``out`` and report."""
    criteria = criteria or ScreenCriteria()
    if top < 1:
        raise ConfigError(f"--top must be at least 1, not {top}")
    if delay < 0:
        raise ConfigError(f"--delay must not be negative, not {delay}")
    symbols = (
        None if universe is None else resolve_universe(ctx, universe, alpaca_symbols=alpaca_symbols)
    )
    provider = _provider(data)
    if provider is not None:
        if symbols is None:
            raise ConfigError(f"--data {data} fetches a universe; add --universe sp500 (or @FILE)")
        found, skipped, n_chunks = _fetch_and_screen(
            ctx, provider, symbols, criteria, chunk=chunk, delay=delay, sleep=sleep
        )
        source, screened = f"{provider} ({n_chunks} chunk(s) of up to {chunk})", len(symbols)
    else:
        loaded = load_data(ctx, data)
        panel, skipped = _cut(loaded.panel, symbols)
        found, missed = screen_panel(panel, criteria)
        skipped += missed
        source, n_chunks = loaded.source, 1
        screened = len(panel.symbols) + len(skipped) - len(missed)
    screened -= len({s for s, _ in skipped})
    ranked = _rank(found, top)
    target = out or default_out(ctx)
    content = active_symbols_json(
        ranked, generated_at=ctx.now(), universe=universe or data, criteria=criteria,
        screened=screened,
    )  # fmt: skip
    write_active_symbols(target, content)
    return ScreenReport(
        universe=universe or f"all symbols of {data}", source=source, screened=screened,
        ranked=ranked, active=len(found), skipped=tuple(skipped), criteria=criteria,
        out=target, content=content, chunks=n_chunks,
    )  # fmt: skip
