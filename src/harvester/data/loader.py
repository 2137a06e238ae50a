"""``load(spec)``: the one entry point from a data spec (``--data SPEC``) to a checked Panel.

Specs:

- ``sample`` — the bundled real daily data;
- ``synthetic:symbols=500,years=10,seed=7`` — the seeded synthetic market;
- a path to a long-format CSV/Parquet file, or a folder of per-symbol files
  (``file:`` prefix optional);
- ``yfinance:AAPL,MSFT``, ``alphavantage:AAPL``, ``alpaca:AAPL`` — one provider;
  ``online:AAPL,MSFT`` — the configured provider order with fallback; ``@sp500`` (or any
  universe spec after ``@``) in place of the symbol list.

Every source passes the sanity rules in the configured mode before it becomes a Panel:
``enforce`` fails on any error finding, ``warn`` logs them and drops duplicate rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd

from harvester.config.models import DataConfig
from harvester.core.errors import DataError
from harvester.core.memory import release_freed_memory
from harvester.data.bundled import load_sample
from harvester.data.cache import ParquetCache
from harvester.data.panel import Panel, SymbolMeta
from harvester.data.providers import fetch_daily_bars_sync, make_providers
from harvester.data.providers.fetch import Progress
from harvester.data.readers import read_long_file, read_symbol_folder
from harvester.data.sanity import SanityReport, check_frame, clean_frame
from harvester.data.synthetic import generate_market, parse_synthetic_spec
from harvester.data.universes import load_universe, with_reference_data
from harvester.domain.asset_class import detect_asset_class

__all__ = ["LoadContext", "LoadedData", "check", "load", "parse_symbols"]

logger = logging.getLogger(__name__)

PROVIDER_PREFIXES = ("yfinance", "alphavantage", "alpaca", "online")
DEFAULT_HISTORY_DAYS = 5 * 365


@dataclass(frozen=True, slots=True)
class LoadContext:
    """What loading needs besides the spec: config section, cache root, secrets, clock."""

    config: DataConfig
    cache_dir: Path
    secrets: Mapping[str, str] = field(default_factory=dict)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    transport: httpx.AsyncBaseTransport | None = None
    progress: Progress | None = None


@dataclass(frozen=True, slots=True)
class LoadedData:
    """A Panel with the sanity report it passed and a label of where it came from;
    ``requested``: symbols a provider was asked for (not served by the cache)."""

    panel: Panel
    report: SanityReport
    source: str
    requested: int = 0


def parse_symbols(text: str) -> tuple[str, ...]:
    """Parse ``AAPL,MSFT`` or ``@universe`` into symbols (upper-cased, de-duplicated)."""
    if text.startswith("@"):
        return load_universe(text[1:]).symbols
    symbols = tuple(dict.fromkeys(s.strip().upper() for s in text.split(",") if s.strip()))
    if not symbols:
        raise DataError(f"no symbols in {text!r}; write e.g. yfinance:AAPL,MSFT or yfinance:@sp500")
    return symbols


@dataclass(frozen=True, slots=True)
class _Raw:
    """A source's data before checks: a long frame, or a Panel for generated sources."""

    source: str
    frame: pd.DataFrame | None = None
    panel: Panel | None = None
    requested: int = 0  # symbols a provider was asked for

    def long_frame(self) -> pd.DataFrame:
        if self.frame is not None:
            return self.frame
        assert self.panel is not None
        return self.panel.to_long()


def _report(raw: _Raw, config: DataConfig) -> SanityReport:
    return check_frame(
        raw.long_frame(),
        config=config.sanity,
        equity_calendar=config.calendar,
        crypto_calendar=config.crypto_calendar,
        source=raw.source,
    )


def _date_range(ctx: LoadContext) -> tuple[date, date]:
    today = ctx.now().date()
    end = pd.Timestamp(ctx.config.end).date() if ctx.config.end else today
    start = (
        pd.Timestamp(ctx.config.start).date()
        if ctx.config.start
        else end - timedelta(days=DEFAULT_HISTORY_DAYS)
    )
    return start, end


def _from_providers(prefix: str, symbols_text: str, ctx: LoadContext) -> _Raw:
    names = ctx.config.providers.order if prefix == "online" else (prefix,)
    start, end = _date_range(ctx)
    result = fetch_daily_bars_sync(
        parse_symbols(symbols_text),
        start,
        end,
        providers=make_providers(names, secrets=ctx.secrets),
        config=ctx.config.providers,
        cache=ParquetCache(ctx.cache_dir),
        now=ctx.now,
        transport=ctx.transport,
        progress=ctx.progress,
    )
    for symbol, reason in result.failures.items():
        logger.warning("no data for %s: %s", symbol, reason)
    if not result.frames:
        raise DataError(
            f"{prefix}: no symbol could be loaded; first failure: {_first(result.failures)}"
        )
    frame = pd.concat(
        [f.rename_axis("date").reset_index().assign(symbol=s) for s, f in result.frames.items()],
        ignore_index=True,
    )
    requested = len(result.frames) + len(result.failures) - len(result.cached)
    return _Raw(f"{prefix}:{symbols_text}", frame=frame, requested=requested)


def _first(failures: Mapping[str, str]) -> str:
    return next((f"{s}: {r}" for s, r in failures.items()), "none reported")


def _read(spec: str, ctx: LoadContext) -> _Raw:
    text = spec.strip()
    prefix, sep, rest = text.partition(":")
    if text == "sample":
        return _Raw("sample", panel=load_sample())
    if sep and prefix == "synthetic":
        return _Raw(text, panel=generate_market(parse_synthetic_spec(rest)).panel)
    if sep and prefix in PROVIDER_PREFIXES:
        return _from_providers(prefix, rest, ctx)
    path = Path(rest if sep and prefix == "file" else text).expanduser()
    if path.is_dir():
        return _Raw(str(path), frame=read_symbol_folder(path))
    if path.exists():
        return _Raw(str(path), frame=read_long_file(path))
    raise DataError(
        f"data spec {spec!r} is neither a known source nor an existing path; use 'sample', "
        "'synthetic:symbols=N,years=Y,seed=S', a CSV/Parquet file or folder, "
        "or 'yfinance:AAPL,MSFT'"
    )


def check(spec: str, ctx: LoadContext) -> SanityReport:
    """Read ``spec`` and return its sanity report without failing on findings."""
    return _report(_read(spec, ctx), ctx.config)


def _build(spec: str, ctx: LoadContext) -> LoadedData:
    raw = _read(spec, ctx)  # held here only, so the file's frame can go before the panel
    source, requested = raw.source, raw.requested
    report = _report(raw, ctx.config)
    report.raise_if_failed(ctx.config.sanity.mode)
    if raw.panel is not None:
        return LoadedData(raw.panel, report, raw.source)
    frame = clean_frame(raw.long_frame(), report)
    del raw  # the file's frame, when cleaning copied it
    panel = Panel.from_long(frame, meta=_reference_meta(frame))
    del frame
    release_freed_memory()  # the long frame's temporaries were several times the panel
    return LoadedData(panel, report, source, requested)


def _reference_meta(frame: pd.DataFrame) -> dict[str, SymbolMeta]:
    known = with_reference_data(tuple(str(s) for s in pd.unique(frame["symbol"])))
    return {
        s: SymbolMeta(detect_asset_class(s), known.names[s], known.sectors[s])
        for s in known.symbols
    }


def load(spec: str, ctx: LoadContext) -> LoadedData:
    """Load ``spec``, check it, and cut it to the configured start/end dates."""
    loaded = _build(spec, ctx)
    if ctx.config.start is None and ctx.config.end is None:
        return loaded
    panel = loaded.panel.slice(ctx.config.start, ctx.config.end)
    if panel.shape[0] == 0:
        raise DataError(
            f"{loaded.source}: no sessions from {ctx.config.start or 'the start'} to "
            f"{ctx.config.end or 'the end'}; "
            f"the data covers {loaded.panel.index[0]:%Y-%m-%d} to {loaded.panel.index[-1]:%Y-%m-%d}"
        )
    return replace(loaded, panel=panel)
