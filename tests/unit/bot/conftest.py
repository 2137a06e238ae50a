"""Fixtures of the bot tests: a store holding one scan (``store`` from harvester.testing.stores)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from harvester.bot.commands import BotCommands
from harvester.store import Store
from harvester.store import repository as repo

NOW = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)
SCAN_DAY = date(2024, 3, 1)
CLOSES = {"AAPL": 190.0, "MSFT": 310.0}
# AAPL has an active signal (size multiplier 1.5, stop 180, target 200); MSFT none.
SIGNAL = {"size": 1.5, "stop": 180.0, "target": 200.0}


def seed_scan(store: Store) -> None:
    """One scan run: AAPL and MSFT ranked with their closes, TSLA skipped, one AAPL signal."""
    run_id = repo.record_run(store, "scan", started_at=NOW)
    ranking = pd.DataFrame(
        {"symbol": list(CLOSES), "score": [0.9, 0.4], "close": list(CLOSES.values())}
    )
    repo.record_scan_results(store, run_id, SCAN_DAY, ranking)
    repo.record_scan_skipped(store, run_id, SCAN_DAY, [("TSLA", "no data")])
    signals = pd.DataFrame(
        [{"date": SCAN_DAY, "symbol": "AAPL", "strategy": "composer", "direction": 1,
          "score": 0.9, **SIGNAL}]
    )  # fmt: skip
    repo.record_signals(store, run_id, signals)
    repo.finish_run(store, run_id, "ok", finished_at=NOW)


@pytest.fixture
def scanned(store: Store) -> Store:
    seed_scan(store)
    return store


@pytest.fixture
def commands(scanned: Store) -> BotCommands:
    return BotCommands(scanned, now=lambda: NOW, position_fraction=0.1, stale_model_days=14.0)
