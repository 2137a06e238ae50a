"""Data use cases: load, describe, check; and the summary the main job prints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harvester.analytics.returns import annualized_volatility, max_drawdown, total_return
from harvester.app.context import AppContext
from harvester.config.models import SanityMode
from harvester.core.errors import DataError
from harvester.core.paths import atomic_path
from harvester.data.loader import LoadedData, check, load
from harvester.data.panel import Panel
from harvester.data.providers.fetch import Progress
from harvester.data.sanity import SanityReport

__all__ = [
    "AuxSummary",
    "CheckOutcome",
    "SymbolSummary",
    "check_data",
    "load_data",
    "summarize_aux",
    "summarize_symbols",
]

TRADING_DAYS_PER_YEAR = 252
CALENDAR_DAYS_PER_YEAR = 365


@dataclass(frozen=True, slots=True)
class SymbolSummary:
    """One row of ``data info`` and of the main job's table; returns are fractions."""

    symbol: str
    asset_class: str
    sector: str
    first: pd.Timestamp
    last: pd.Timestamp
    bars: int
    missing: int
    last_close: float
    total_return: float
    volatility: float
    max_drawdown: float


@dataclass(frozen=True, slots=True)
class AuxSummary:
    """One auxiliary series: its span, its range and how many sessions lack a value."""

    name: str
    first: pd.Timestamp
    last: pd.Timestamp
    missing: int
    minimum: float
    maximum: float
    last_value: float


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """The sanity report and where its JSON was written."""

    report: SanityReport
    report_path: Path


def load_data(ctx: AppContext, spec: str, *, progress: Progress | None = None) -> LoadedData:
    """Load ``spec`` with the context's data config (sanity mode, dates, providers).

    ``progress`` is called with (done, total) while symbols download from a provider.
    """
    return load(spec, ctx.data_context(progress=progress))


def _periods_per_year(panel: Panel) -> np.ndarray:
    crypto = np.array([panel.meta[s].asset_class == "crypto" for s in panel.symbols])
    return np.where(crypto, CALENDAR_DAYS_PER_YEAR, TRADING_DAYS_PER_YEAR).astype(np.float64)


def _missing_inside_span(close: np.ndarray) -> np.ndarray:
    has_bar = ~np.isnan(close)
    inside = (
        np.maximum.accumulate(has_bar, axis=0) & np.maximum.accumulate(has_bar[::-1], axis=0)[::-1]
    )
    result: np.ndarray = (inside & ~has_bar).sum(axis=0)
    return result


def _last_valid(close: np.ndarray) -> np.ndarray:
    has_bar = ~np.isnan(close)
    if not len(close):
        return np.full(close.shape[1], np.nan)
    rows = len(close) - 1 - has_bar[::-1].argmax(axis=0)
    result: np.ndarray = close[rows, np.arange(close.shape[1])]
    return result


def summarize_symbols(panel: Panel) -> list[SymbolSummary]:
    """Return per-symbol span, bar counts and return statistics, computed over the panel."""
    close = panel.array("close")
    volatility = annualized_volatility(close, periods_per_year=1.0) * np.sqrt(
        _periods_per_year(panel)
    )
    columns = zip(
        panel.symbols,
        panel.first_valid_dates(),
        panel.last_valid_dates(),
        (~np.isnan(close)).sum(axis=0),
        _missing_inside_span(close),
        _last_valid(close),
        total_return(close),
        volatility,
        max_drawdown(close),
        strict=True,
    )
    return [
        SymbolSummary(
            symbol, panel.meta[symbol].asset_class, panel.meta[symbol].sector, first, last,
            int(bars), int(missing), float(last_close), float(ret), float(vol), float(drawdown),
        )
        for symbol, first, last, bars, missing, last_close, ret, vol, drawdown in columns
    ]  # fmt: skip


def summarize_aux(panel: Panel) -> list[AuxSummary]:
    """Return a summary per auxiliary series (VIX, oil, benchmark, ...)."""
    rows = []
    for name in sorted(panel.aux):
        series = panel.aux_series(name)
        valid = series.dropna()
        if valid.empty:
            continue
        rows.append(
            AuxSummary(
                name, valid.index[0], valid.index[-1], int(series.isna().sum()),
                float(valid.min()), float(valid.max()), float(valid.iloc[-1]),
            )
        )  # fmt: skip
    return rows


def _default_report_path(ctx: AppContext) -> Path:
    stamp = ctx.now().strftime("%Y%m%dT%H%M%SZ")
    return ctx.home.reports / f"data_check_{stamp}.json"


def check_data(
    ctx: AppContext, spec: str, *, mode: SanityMode, report_path: Path | None = None
) -> CheckOutcome:
    """Run every sanity rule on ``spec``, write the JSON report, then apply ``mode``.

    The report is written before ``enforce`` raises, so the findings are never lost.
    """
    report = check(spec, ctx.data_context())
    target = report_path or _default_report_path(ctx)
    with atomic_path(target) as tmp:
        tmp.write_text(report.to_json(), encoding="utf-8")
    try:
        report.raise_if_failed(mode)
    except DataError as e:
        raise DataError(f"{e}; every finding is in {target}") from None
    return CheckOutcome(report, target)
