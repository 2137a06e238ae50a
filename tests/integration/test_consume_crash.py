"""The crash test of the stream brain: ``harvester consume`` SIGKILLed 10 times mid-stream.

50,000 synthetic events go into a fresh Redis stream; one consumer (paper orders on a SQLite
store in a temporary ``HARVESTER_HOME``) is killed with SIGKILL when its ledger passes random
row counts (seeded), restarted each time, then runs to the end as ``python -m harvester``.
The killed runs are forked children that call the same CLI entry point (``main(["consume",
...])``): importing the CLI takes seconds, which ten fresh interpreters would spend. A
lively configuration (one agreeing source is enough) makes it trade often, so kills land
during an order's transaction (the order, its fill, the position row and the journal trade
are one), or between a booked order and the ledger's record.

Afterwards: every entry id is recorded once and nothing is pending; orders in the store are
exactly the orders in the ledger's decisions; each has one fill; per symbol the orders
alternate buy/sell (a restart that forgot its positions would buy twice), the open position
equals the sum of signed fills, the journal has one trade per sell, and no restart had a
half-done order to repair (the log has no ``restore <symbol>:`` warning).
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from harvester.app.consume import publish
from harvester.cli.main import main
from harvester.live.ledger import SqliteLedger
from harvester.live.replay import synthetic_lines
from harvester.store import open_store
from harvester.store.repository import account_fills, account_orders, journal, open_positions

EVENTS = 50_000
KILLS = 10
ACCOUNT = "stream-paper"
LIVELY = (
    "strategies.consensus.min_sources=1",
    "risk_params.daily_profit_cap_pct=0.01",
    "brain.cooldown_seconds=259200",
)


def _ledger_count(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
        try:
            return int(db.execute("SELECT count(*) FROM processed").fetchone()[0])
        finally:
            db.close()
    except sqlite3.OperationalError:  # the table is not created yet
        return 0


def _arguments(redis_url: str, stream: str, ledger: Path) -> list[str]:
    sets = [arg for item in LIVELY for arg in ("--set", item)]
    return ["consume", "--redis", redis_url, "--stream", stream, "--group", "g",
            "--consumer", "c", "--batch", "200", "--block-ms", "100", "--idle-exit", "2",
            "--ledger", str(ledger), "--no-learning", *sets]  # fmt: skip


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "HARVESTER_DATABASE_URL"}
    env["HARVESTER_HOME"] = str(home)
    return env


def _fork_consume(arguments: list[str], home: Path, log: Path) -> int:
    """Run ``harvester consume`` in a forked child; return its pid."""
    pid = os.fork()
    if pid == 0:  # the child never returns
        code = 3
        try:
            os.environ.clear()
            os.environ.update(_environment(home))
            out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            os.dup2(out, 1)
            os.dup2(out, 2)
            code = main(arguments)
        finally:
            os._exit(code)
    return pid


def _kill_after(pid: int, ledger: Path, rows: int) -> bool:
    """SIGKILL ``pid`` once the ledger holds ``rows`` events; False if it ended first."""
    while _ledger_count(ledger) < rows:
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            return False
        time.sleep(0.002)  # a polling wait, not a synchronisation
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


@pytest.mark.redis
def test_sigkill_ten_times_loses_no_event_and_duplicates_no_order(
    redis_url: str, tmp_path: Path
) -> None:
    import redis

    stream = f"test:crash:{uuid.uuid4().hex}"
    client = redis.Redis.from_url(redis_url)
    ledger, home = tmp_path / "ledger.sqlite", tmp_path / "home"
    try:
        assert publish(client, stream, synthetic_lines(EVENTS, seed=3)) == EVENTS
        rng = random.Random(8)
        thresholds = sorted(rng.sample(range(500, EVENTS - 2_000), KILLS))
        arguments, log = _arguments(redis_url, stream, ledger), tmp_path / "consume.log"
        kills, started = 0, time.monotonic()
        for rows in thresholds:
            pid = _fork_consume(arguments, home, log)
            assert _kill_after(pid, ledger, rows), log.read_text()[-2000:]
            kills += 1
        last = subprocess.run(
            [sys.executable, "-m", "harvester", *arguments], env=_environment(home),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300, check=False,
        )  # fmt: skip
        assert last.returncode == 0, last.stderr.decode()[-2000:]
        assert kills == KILLS
        print(f"consumed with {KILLS} kills in {time.monotonic() - started:.1f} s")

        entries: Any = client.xrange(stream, count=EVENTS + 1)
        entry_ids = [bytes(i).decode() for i, _ in entries]
        assert client.xpending(stream, "g")["pending"] == 0
        _assert_outcome(entry_ids, ledger, home)
        logs = "".join(f.read_text() for f in (home / "logs").glob("harvester.log*"))
        repaired = re.findall(r"restore \S+: .*", logs)
        assert repaired == [], "one transaction per order leaves nothing to repair"
    finally:
        client.delete(stream, f"{stream}:dead")
        client.close()


def _assert_outcome(entry_ids: list[str], ledger_path: Path, home: Path) -> None:
    ledger = SqliteLedger(ledger_path)
    try:
        entries = list(ledger.entries())
    finally:
        ledger.close()
    recorded = Counter(e.event_id for e in entries)
    assert len(entry_ids) == EVENTS and set(recorded) == set(entry_ids)
    assert max(recorded.values()) == 1 and all(e.status == "ok" for e in entries)
    decided = [d.client_order_id for e in entries for d in e.decisions if d.client_order_id]

    store = open_store(None, environ={"HARVESTER_HOME": str(home)})
    try:
        orders = account_orders(store, account=ACCOUNT)
        fills = account_fills(store, account=ACCOUNT)
        positions = {p.symbol: p.qty for p in open_positions(store, account=ACCOUNT)}
        trades = journal(store, account=ACCOUNT)
    finally:
        store.close()
    cids = [o.client_order_id for o in orders]
    assert len(cids) > 100, "the lively brain should trade a lot"
    assert len(set(cids)) == len(cids) and sorted(cids) == sorted(decided)  # one to one
    assert all(o.status == "filled" for o in orders)
    assert fills["order_id"].is_unique and len(fills) == len(orders)  # one fill each

    held: dict[str, float] = defaultdict(float)
    last_side: dict[str, str] = {}
    for symbol, side, qty in fills[["symbol", "side", "qty"]].itertuples(index=False):
        assert last_side.get(symbol, "sell") != side, f"{side} {symbol} twice in a row"
        last_side[symbol] = side
        held[symbol] += qty if side == "buy" else -qty
    assert positions == {s: q for s, q in held.items() if abs(q) > 1e-9}
    assert len(trades) == sum(side == "sell" for side in fills["side"])
