"""The screener: exactly the planted movers are flagged, ranked by the documented activity
score, written atomically, read back, and fetched in chunks with a pause between them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harvester.app import screen as screen_app
from harvester.app.context import AppContext, open_context
from harvester.app.screen import resolve_universe, run_screen
from harvester.config.loader import ConfigRequest
from harvester.core.errors import ConfigError, DataError
from harvester.data.loader import LoadedData
from harvester.data.panel import Panel
from harvester.data.sanity import SanityReport
from harvester.live.screener import ScreenCriteria, read_active_symbols, screen_panel

DAYS = pd.bdate_range("2024-01-01", periods=30)
BASE_CLOSE = np.where(np.arange(30) % 2 == 0, 100.0, 101.0)  # alternating: std 0.5


def _bars(close: np.ndarray, volume: np.ndarray, days: pd.DatetimeIndex = DAYS) -> pd.DataFrame:
    return pd.DataFrame(
        {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": volume},
        index=days,
    )


def _panel(symbols: tuple[str, ...] = ("QUIET", "SPIKE", "JUMP", "DROP", "NEWCO")) -> Panel:
    frames = {}
    for symbol in symbols:
        close, volume = BASE_CLOSE.copy(), np.full(30, 1000.0)
        if symbol == "SPIKE":
            volume[-1] = 10_000.0  # ten times the usual volume on the last day
        if symbol == "JUMP":
            close[-1] = 110.0  # a jump far outside the window's range
        if symbol == "DROP":
            close[-1] = 100.0  # 100 instead of 101: z = -0.9, inside the window's range
        frames[symbol] = _bars(close, volume)
        if symbol == "NEWCO":
            frames[symbol] = _bars(close[-10:], volume[-10:], DAYS[-10:])
    return Panel.from_frames(frames)


def _z(window: np.ndarray) -> float:
    """z of the last value against the window including it (population std), by hand."""
    return float((window[-1] - window.mean()) / window.std())


def test_exactly_the_planted_movers_are_flagged_in_score_order() -> None:
    ranked, skipped = screen_panel(_panel())
    # SPIKE: volume 10000 against a 20-day mean of (19 * 1000 + 10000) / 20 = 1450.
    spike_ratio = 10_000 / 1450
    # JUMP: the last 20 closes are 19 alternating 100/101 (t = 10..28) and then 110.
    jump_window = np.append(BASE_CLOSE[10:29], 110.0)
    jump_z = _z(jump_window)
    assert 3.0 < jump_z < spike_ratio  # a > 3 sigma move, whose score is below the spike's
    assert list(ranked["symbol"]) == ["SPIKE", "JUMP"]
    assert ranked["score"].tolist() == pytest.approx([spike_ratio / 2.0, jump_z / 2.0])
    assert ranked["reasons"].tolist() == [("volume_spike",), ("zscore",)]
    assert ranked["zscore"].iloc[1] == pytest.approx(jump_z)
    assert ranked["volume_ratio"].iloc[0] == pytest.approx(spike_ratio)
    assert skipped == [("NEWCO", "only 10 sessions of history (needs 20)")]


def test_a_symbol_meeting_both_criteria_lists_both_reasons_and_ties_go_by_symbol() -> None:
    frames = {}
    for symbol in ("BBB", "AAA"):
        close, volume = BASE_CLOSE.copy(), np.full(30, 1000.0)
        close[-1], volume[-1] = 110.0, 10_000.0
        frames[symbol] = _bars(close, volume)
    ranked, _ = screen_panel(Panel.from_frames(frames), ScreenCriteria(z=2.0, volume_spike=2.0))
    assert list(ranked["symbol"]) == ["AAA", "BBB"]
    assert ranked["reasons"].tolist() == [("zscore", "volume_spike")] * 2


def test_stricter_thresholds_flag_fewer() -> None:
    ranked, _ = screen_panel(_panel(), ScreenCriteria(z=5.0, volume_spike=2.0))
    assert list(ranked["symbol"]) == ["SPIKE"]  # |z| of JUMP is below sqrt(19) < 5


def _context(tmp_path: Path) -> AppContext:
    return open_context(ConfigRequest(), environ=os.environ, cwd=tmp_path, log_to_console=False)


def test_run_screen_writes_the_top_n_and_read_active_symbols_reads_them(tmp_path: Path) -> None:
    prices = tmp_path / "prices.csv"
    _panel().to_long().to_csv(prices, index=False)
    universe = tmp_path / "mine.txt"
    universe.write_text("SPIKE\nJUMP\nQUIET\nGHOST\n", encoding="utf-8")
    out = tmp_path / "pool" / "active.json"
    report = run_screen(
        _context(tmp_path), universe=f"@{universe}", data=str(prices), top=1, out=out
    )
    assert report.active == 2 and list(report.ranked["symbol"]) == ["SPIKE"]
    assert ("GHOST", "not in the data") in report.skipped
    assert report.screened == 3
    pool = read_active_symbols(out)
    assert pool.symbols == ("SPIKE",) and "SPIKE" in pool
    assert pool.reasons["SPIKE"] == ("volume_spike",)
    assert pool.generated_at is not None
    content = json.loads(out.read_text(encoding="utf-8"))
    assert content["criteria"] == {"z": 2.0, "volume_spike": 2.0, "period": 20}
    assert [p.name for p in out.parent.iterdir()] == ["active.json"]  # no temporary left


def test_the_default_file_is_in_the_home(tmp_path: Path, isolated_home: Path) -> None:
    prices = tmp_path / "prices.csv"
    _panel().to_long().to_csv(prices, index=False)
    report = run_screen(_context(tmp_path), data=str(prices))
    assert report.out == isolated_home / "active_symbols.json"
    assert read_active_symbols(report.out).symbols == ("SPIKE", "JUMP")


def test_a_text_pool_is_read_and_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    text = tmp_path / "active.txt"
    text.write_text("aapl\n# comment\nmsft\naapl\n", encoding="utf-8")
    assert read_active_symbols(text).symbols == ("AAPL", "MSFT")
    with pytest.raises(ConfigError, match="no active-symbols file"):
        read_active_symbols(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match="not an active-symbols file"):
        read_active_symbols(bad)


def test_a_provider_fetches_the_universe_in_chunks_pausing_after_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    panel = _panel(("QUIET", "SPIKE", "JUMP", "DROP"))
    specs: list[str] = []
    cached = {"QUIET", "SPIKE"}  # the first chunk comes from the cache: no pause after it

    def fake_load(ctx: AppContext, spec: str) -> LoadedData:
        specs.append(spec)
        symbols = spec.partition(":")[2].split(",")
        if "BROKEN" in symbols:
            raise DataError("provider down")
        report = SanityReport((), 0, 0, source=spec)
        asked = len(set(symbols) - cached)
        return LoadedData(panel.select(symbols), report, spec, requested=asked)

    monkeypatch.setattr(screen_app, "load_data", fake_load)
    universe = tmp_path / "u.txt"
    universe.write_text("QUIET\nSPIKE\nJUMP\nDROP\nBROKEN\n", encoding="utf-8")
    pauses: list[float] = []
    report = run_screen(
        _context(tmp_path), universe=f"@{universe}", data="yfinance", chunk=2, delay=0.25,
        sleep=pauses.append, out=tmp_path / "a.json",
    )  # fmt: skip
    assert specs == ["yfinance:QUIET,SPIKE", "yfinance:JUMP,DROP", "yfinance:BROKEN"]
    assert pauses == [0.25]  # after the chunk that asked the provider only
    assert list(report.ranked["symbol"]) == ["SPIKE", "JUMP"]
    assert report.skipped == (("BROKEN", "chunk 3 failed: provider down"),)
    assert report.chunks == 3 and report.screened == 4


def test_a_provider_without_a_universe_and_bad_options_are_refused(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    with pytest.raises(ConfigError, match="--universe"):
        run_screen(ctx, data="online")
    with pytest.raises(ConfigError, match="--top"):
        run_screen(ctx, top=0)
    with pytest.raises(ConfigError, match="positive"):
        ScreenCriteria(z=0)


def test_alpaca_equity_asks_the_broker(tmp_path: Path) -> None:
    symbols = resolve_universe(
        _context(tmp_path), "alpaca_equity", alpaca_symbols=lambda ctx: ["AAPL", "MSFT"]
    )
    assert symbols == ("AAPL", "MSFT")
    assert "AAPL" in resolve_universe(_context(tmp_path), "sp500")
