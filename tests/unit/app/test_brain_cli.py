"""``harvester replay synthetic | harvester consume --stdin``: decisions and paper orders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from harvester.store import open_store
from harvester.store.repository import account_fills

HARVESTER = [sys.executable, "-m", "harvester"]
LIVELY = ["--set", "strategies.consensus.min_sources=1"]


def pipe(home: Path, *consume_args: str) -> dict[str, dict[str, int]]:
    env = {**os.environ, "HARVESTER_HOME": str(home)}
    env.pop("HARVESTER_DATABASE_URL", None)
    replay = subprocess.Popen(
        [*HARVESTER, "replay", "synthetic", "--events", "2500", "--seed", "4", "--symbols", "5"],
        stdout=subprocess.PIPE,
        env=env,
    )
    consume = subprocess.run(
        [*HARVESTER, "consume", "--stdin", *LIVELY, *consume_args],
        stdin=replay.stdout,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert replay.wait() == 0
    last = [line for line in consume.stderr.splitlines() if line.startswith('{"consume"')][-1]
    parsed: dict[str, dict[str, int]] = json.loads(last)
    assert "INFO harvester.live.brain: buy " in consume.stderr  # orders are logged
    return parsed


def test_replay_piped_into_consume_places_paper_orders_in_the_store(tmp_path: Path) -> None:
    home = tmp_path / "home"
    counters = pipe(home)
    stats, decisions = counters["consume"], counters["decisions"]
    assert stats["processed"] == 2500 and stats["dead_lettered"] == 0
    assert decisions["buy"] > 0 and stats["decisions"] == sum(
        n for action, n in decisions.items() if action != "hold"
    )
    store = open_store(f"sqlite:///{home / 'harvester.db'}", environ={})
    try:
        fills = account_fills(store, account="stream-paper")
        sides = fills["side"].value_counts().to_dict()
        assert sides.get("buy") == decisions["buy"]
        assert sides.get("sell", 0) == decisions.get("sell", 0)
    finally:
        store.close()


def test_no_orders_decides_the_same_without_touching_the_store(tmp_path: Path) -> None:
    home = tmp_path / "home"
    counters = pipe(home, "--no-orders", "--batch", "7")
    assert counters["decisions"]["buy"] > 0
    assert not (home / "harvester.db").exists()
