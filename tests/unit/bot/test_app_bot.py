"""The app-level reads the bot uses: latest scan, system exposure, stale models, settings."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from harvester.app.bot import (
    bot_settings,
    latest_scan,
    stale_models,
    start_scheduler,
    system_exposure,
)
from harvester.app.context import AppContext
from harvester.config.loader import ConfigRequest, load_config
from harvester.config.secrets import load_secrets
from harvester.store import Store
from harvester.store import repository as repo

from .conftest import CLOSES, NOW, SCAN_DAY, SIGNAL


def test_latest_scan_reads_the_newest_scan_run(scanned: Store) -> None:
    older = repo.record_run(scanned, "backtest")  # not a scan: ignored
    repo.finish_run(scanned, older)
    scan = latest_scan(scanned)
    assert scan.as_of == SCAN_DAY
    assert scan.symbols == {"AAPL", "MSFT", "TSLA"}
    assert scan.closes == CLOSES
    signal = scan.signals["AAPL"]
    assert (signal.size, signal.stop, signal.target) == (SIGNAL["size"], SIGNAL["stop"],
                                                         SIGNAL["target"])  # fmt: skip


def test_system_exposure_reads_the_last_paper_snapshot(store: Store) -> None:
    for day, equity in ((date(2024, 3, 1), 100_000.0), (date(2024, 3, 4), 102_000.0)):
        repo.snapshot_equity(store, repo.EquitySnapshot(day, equity, 51_000.0, 51_000.0, 0.0,
                                                        account="paper"))  # fmt: skip
    repo.upsert_position(store, repo.Position("AAPL", 1, 100.0, 180.0, NOW, account="paper"))
    book = system_exposure(store)
    assert (book.as_of, book.equity, book.exposure_pct) == (date(2024, 3, 4), 102_000.0, 50.0)
    assert book.positions == (("AAPL", 100.0, 180.0),)


def test_stale_models_are_older_than_the_limit(store: Store) -> None:
    for symbol, age in (("AAPL", 20), ("MSFT", 3)):
        repo.record_model(store, symbol=symbol, strategy="rally", path=f"{symbol}.joblib",
                          trained_at=NOW - timedelta(days=age))  # fmt: skip
    stale = stale_models(store, now=NOW, limit_days=14.0)
    assert [(s, round(a)) for s, a in stale] == [("AAPL", 20)]


def _context(env: dict[str, str]) -> AppContext:
    return AppContext(load_config(ConfigRequest(), environ=env), load_secrets(env),
                      now=lambda: datetime(2024, 1, 2, tzinfo=UTC), environ=env)  # fmt: skip


def test_the_scheduler_thread_stops_when_asked(store: Store, tmp_path: Path) -> None:
    stop = threading.Event()
    stop.set()  # asked to stop before the first tick: the thread ends without running a job
    thread = start_scheduler(_context({"HARVESTER_HOME": str(tmp_path)}), "sample", store,
                             stop=stop)  # fmt: skip
    thread.join(timeout=10)
    assert not thread.is_alive() and thread.daemon


def test_bot_settings_come_from_secrets_and_environment(tmp_path: Path) -> None:
    env = {"HARVESTER_HOME": str(tmp_path), "ENABLE_SCHEDULER": "1",
           "DISCORD_BOT_TOKEN": "token-value", "CLAUDE_MODEL": "claude-test"}  # fmt: skip
    settings = bot_settings(_context(env))
    assert settings.enable_scheduler and settings.anthropic_key is None
    assert settings.model == "claude-test" and settings.discord_token == "token-value"
    assert "token-value" not in repr(settings)
