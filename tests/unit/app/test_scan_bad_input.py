"""The scan's "bad input" acceptance: an unknown named config, a missing model, a stale cache
with no network and a strategy failing on one symbol each give a clear reason, and the scan
goes on for the other symbols, listing the skipped ones (report, JSON and store). Offline."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest
from sqlalchemy import select

from harvester.app import daily, scan
from harvester.app.context import AppContext, open_context
from harvester.app.scan import run_scan
from harvester.cli.scan_cmd import report_json
from harvester.config.loader import ConfigRequest
from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError, DataError, StrategyError, TransientError
from harvester.data import loader
from harvester.data.bundled import load_sample
from harvester.data.cache import ParquetCache
from harvester.data.panel import OHLCV, Panel
from harvester.store import Store
from harvester.store.models import ScanResultRow
from harvester.strategies.base import StrategyOutput, StrategyRegistry
from harvester.strategies.registry import BUILTIN

Generate = Callable[[Panel, HarvesterConfig], StrategyOutput]
SESSION = "2017-06-30"
TICKERS = ("AAPL", "BA", "INTC", "JPM", "GE")
NOW = datetime(2017, 7, 3, 22, 0, tzinfo=UTC)  # the evening after the sample's last session


def _ctx(*assignments: str) -> AppContext:
    request = ConfigRequest(assignments=assignments)
    ctx = open_context(request, environ=os.environ, cwd=Path.cwd(), log_to_console=False)
    return replace(ctx, now=lambda: NOW)


def _skipped(report: scan.ScanReport) -> dict[str, str]:
    return dict(report.skipped)


def _ranked(report: scan.ScanReport) -> set[str]:
    return set(report.ranking["symbol"])


def test_an_unknown_named_config_fails_before_any_data_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown name 'nope'.*baseline"):
        run_scan(_ctx(), "no-such-file.csv", strategy="rally", named="nope")


# ---- a strategy failing on one symbol -------------------------------------------------


def _breaking(symbol: str, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """Make composer raise a StrategyError on any panel holding ``symbol``; record calls."""
    calls: list[tuple[str, ...]] = []

    def patched(strategy_name: str) -> StrategyRegistry:
        strategies = []
        for strategy in BUILTIN:
            if strategy.name == strategy_name:
                original = strategy.generate

                def generate(
                    panel: Panel, config: HarvesterConfig, original: Generate = original
                ) -> StrategyOutput:
                    calls.append(panel.symbols)
                    if symbol in panel.symbols:
                        raise StrategyError(f"composer: no z-score for {symbol}\n(all NaN)")
                    return original(panel, config)

                strategy = replace(strategy, generate=generate)
            strategies.append(strategy)
        return StrategyRegistry.from_strategies(tuple(strategies))

    registry = patched("composer")
    monkeypatch.setattr(daily, "STRATEGIES", registry)
    monkeypatch.setattr(scan, "STRATEGIES", registry)
    return calls


def test_a_strategy_failing_on_one_symbol_skips_it_and_stores_why(
    monkeypatch: pytest.MonkeyPatch, store: Store
) -> None:
    calls = _breaking("JPM", monkeypatch)
    report = run_scan(
        _ctx(), "sample", strategy="composer", tickers=TICKERS, as_of=SESSION, store=store
    )
    assert report.skipped == (("JPM", "StrategyError: composer: no z-score for JPM (all NaN)"),)
    assert _ranked(report) == {"AAPL", "BA", "INTC", "GE"}
    assert report.breadth.symbols == 4
    assert calls[0] == TICKERS  # the whole panel first, in one run
    assert calls[-1] == ("AAPL", "BA", "INTC", "GE")  # and last without JPM
    assert len(calls) <= 2 + 2 * 3  # halving: a few replays, not one per symbol
    assert report_json(report)["skipped"] == [
        {"symbol": "JPM", "reason": "StrategyError: composer: no z-score for JPM (all NaN)"}
    ]
    with store.session() as session:
        rows = {r.symbol: (r.rank, r.fields) for r in session.scalars(select(ScanResultRow))}
    assert rows["JPM"] == (0, {"skipped": report.skipped[0][1]})
    assert sorted(rank for rank, _ in rows.values()) == [0, 1, 2, 3, 4]


def test_a_strategy_failing_on_every_symbol_fails_the_scan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _breaking("AAPL", monkeypatch)
    with pytest.raises(StrategyError, match="no z-score for AAPL"):
        run_scan(_ctx(), "sample", strategy="composer", tickers=("AAPL",), as_of=SESSION)


# ---- a missing model -----------------------------------------------------------------


def _cheap_rally(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rally's name and model check, composer's (fast) signals: no walk-forward fit here."""
    composer = next(s for s in BUILTIN if s.name == "composer")
    strategies = tuple(
        replace(s, generate=composer.generate) if s.name == "rally" else s for s in BUILTIN
    )
    registry = StrategyRegistry.from_strategies(strategies)
    monkeypatch.setattr(daily, "STRATEGIES", registry)
    monkeypatch.setattr(scan, "STRATEGIES", registry)
    # The model files here are empty: what these tests check is which symbols have one.
    monkeypatch.setattr(scan, "load_saved", lambda path: path)
    monkeypatch.setattr(scan, "with_saved_models", lambda models: registry["rally"])


def _models(folder: Path, *symbols: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for symbol in symbols:
        (folder / f"{symbol}.joblib").write_bytes(b"")
    return folder


def test_a_symbol_without_a_trained_model_is_skipped_the_others_go_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _cheap_rally(monkeypatch)
    folder = _models(tmp_path / "models", "AAPL", "BA", "GE")
    report = run_scan(
        _ctx(), "sample", strategy="rally", tickers=TICKERS, as_of=SESSION, models=folder
    )
    assert _skipped(report) == {
        "INTC": "no trained model for INTC; run harvester run retrain",
        "JPM": "no trained model for JPM; run harvester run retrain",
    }
    assert _ranked(report) == {"AAPL", "BA", "GE"}


def test_the_home_models_folder_is_the_default_once_it_holds_a_model(
    monkeypatch: pytest.MonkeyPatch, isolated_home: Path
) -> None:
    _cheap_rally(monkeypatch)
    ctx = _ctx()
    untrained = run_scan(ctx, "sample", strategy="rally", tickers=TICKERS, as_of=SESSION)
    assert untrained.skipped == ()  # no model anywhere yet: signals from the walk-forward fit
    _models(ctx.home.models / "rally", "BA")
    report = run_scan(ctx, "sample", strategy="rally", tickers=TICKERS, as_of=SESSION)
    assert _ranked(report) == {"BA"} and len(report.skipped) == 4


def test_no_model_for_any_symbol_and_a_missing_folder_are_clear_errors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _cheap_rally(monkeypatch)
    folder = _models(tmp_path / "models", "MSFT")
    with pytest.raises(DataError, match=r"no trained model in .* for any symbol; run harvester"):
        run_scan(_ctx(), "sample", strategy="rally", tickers=TICKERS, models=folder)
    with pytest.raises(ConfigError, match=r"models folder .*absent does not exist"):
        run_scan(_ctx(), "sample", strategy="rally", models=tmp_path / "absent")


# ---- a stale cache with no network ----------------------------------------------------


class Offline:
    """A provider whose every request fails as a dropped network would."""

    name = "yfinance"

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def fetch_daily(
        self, client: httpx.AsyncClient, symbol: str, start: date, end: date
    ) -> pd.DataFrame:
        self.asked.append(symbol)
        raise TransientError("yfinance: network unreachable")


def _cache(ctx: AppContext, symbol: str, *, until: str, fetched: datetime) -> None:
    frame = load_sample().select([symbol]).slice(None, until).to_long()
    bars = frame.set_index("date")[list(OHLCV)]
    start, end = (NOW - timedelta(days=5 * 365)).date(), NOW.date()
    ParquetCache(ctx.home.cache).put("yfinance", symbol, bars, fetched_at=fetched,
                                     start=start, end=end)  # fmt: skip


def test_a_stale_cache_with_no_network_is_used_or_skipped_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    offline = Offline()
    monkeypatch.setattr(loader, "make_providers", lambda names, secrets: (offline,))
    ctx = _ctx("data.providers.max_retries=0")
    _cache(ctx, "AAPL", until=SESSION, fetched=NOW - timedelta(hours=1))  # fresh
    _cache(ctx, "BA", until=SESSION, fetched=NOW - timedelta(days=3))  # stale, up to date
    _cache(ctx, "JPM", until="2017-06-23", fetched=NOW - timedelta(days=10))  # stale, behind
    report = run_scan(ctx, "yfinance:AAPL,BA,JPM,INTC", strategy="composer")

    assert sorted(offline.asked) == ["BA", "INTC", "JPM"]  # the fresh one is not asked
    assert report.as_of == date(2017, 6, 30)
    why = "yfinance: network unreachable (gave up after 1 attempts)"
    assert _skipped(report) == {
        "INTC": f"no data: fetch failed: {why}",
        "JPM": f"stale: last bar 2017-06-23, fetch failed: {why}",
    }
    assert report.stale == (("BA", f"stale: last bar 2017-06-30, fetch failed: {why}"),)
    assert _ranked(report) == {"AAPL", "BA"}
    notes = dict(zip(report.ranking["symbol"], report.ranking["note"], strict=True))
    assert notes["BA"].startswith("stale: last bar 2017-06-30") and pd.isna(notes["AAPL"])
