"""Consumers: decode → decide → record → ack, dead letters, redelivery, consumer groups."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harvester.domain.events import Bar, DeadLetter, Event
from harvester.live.consume import (
    Processor,
    RedisConsumer,
    RedisSettings,
    consume_lines,
    consume_stream,
)
from harvester.live.ledger import Decision, MemoryLedger, SqliteLedger
from harvester.live.replay import paced, synthetic_lines

BAR = (
    b'{"type":"bar","symbol":"A","open":1,"high":2,"low":0.5,"close":1.5,"volume":10,'
    b'"ts":"2026-01-02T21:00:00Z"}'
)


def _buy_bars(event: Event) -> list[Decision]:
    if isinstance(event, Bar):
        return [Decision(event.symbol, "buy", "test")]
    return []


def test_processor_records_decisions_and_dead_letters_and_skips_recorded_ids() -> None:
    ledger = MemoryLedger()
    processor = Processor(_buy_bars, ledger)
    dead = processor.process([("1", BAR), ("2", b"{bad"), ("3", BAR)])
    assert [i for i, _ in dead] == ["2"] and "malformed" in dead[0][1].reason
    assert ledger.entries["1"].decisions == (Decision("A", "buy", "test"),)
    assert ledger.entries["2"].status == "dead"
    processor.process([("1", BAR), ("4", BAR)])  # "1" redelivered: recorded, not decided again
    stats = processor.stats
    assert (stats.processed, stats.dead_lettered, stats.duplicates, stats.decisions) == (
        3,
        1,
        1,
        3,
    )


def test_a_handler_error_dead_letters_the_event_and_the_consumer_goes_on() -> None:
    def explode(event: Event) -> list[Decision]:
        raise RuntimeError("boom")

    dead = Processor(explode, MemoryLedger()).process([("1", BAR)])
    assert dead[0][1].reason == "handler error: RuntimeError: boom"


def test_consume_lines_counts_skips_blanks_and_stops_on_request() -> None:
    letters: list[tuple[str, DeadLetter]] = []
    lines = [BAR + b"\n", b"\n", b"nope\n", BAR + b"\n"]
    stats = consume_lines(
        lines,
        Processor(_buy_bars, MemoryLedger()),
        dead_sink=lambda i, d: letters.append((i, d)),
        batch_size=2,
    )
    assert (stats.processed, stats.dead_lettered, stats.decisions) == (2, 1, 2)
    assert letters[0][0] == "line:3" and letters[0][1].line == b"nope"
    calls = iter([False, True])
    stats = consume_lines(
        lines,
        Processor(_buy_bars, MemoryLedger()),
        dead_sink=lambda i, d: None,
        stop=lambda: next(calls),
    )
    assert stats.processed == 1


def test_stats_are_reported_on_the_injected_clock() -> None:
    now = iter(float(t) for t in range(100))
    seen: list[int] = []
    consume_lines(
        [BAR] * 6,
        Processor(_buy_bars, MemoryLedger()),
        dead_sink=lambda i, d: None,
        stats_sink=lambda s: seen.append(s.processed),
        stats_every_seconds=2.0,
        clock=lambda: next(now),
    )
    assert seen == [2, 4, 6]


class BatchBuyer:
    """Buys every bar; decides batches at once and raises on a bar of symbol ``X``."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def __call__(self, event: Event) -> list[Decision]:
        return self.decide_batch([event])[0]

    def decide_batch(
        self, events: Sequence[Event], ids: Sequence[str] | None = None
    ) -> list[list[Decision]]:
        self.batches.append(list(ids or []))
        if any(isinstance(e, Bar) and e.symbol == "X" for e in events):
            raise ValueError("bad bar")
        return [_buy_bars(e) for e in events]


def test_a_batch_handler_decides_the_valid_events_of_a_batch_at_once() -> None:
    handler = BatchBuyer()
    dead = Processor(handler, MemoryLedger()).process([("1", BAR), ("2", b"{bad"), ("3", BAR)])
    assert [i for i, _ in dead] == ["2"] and handler.batches == [["1", "3"]]


def test_a_batch_error_falls_back_to_one_event_at_a_time() -> None:
    handler, ledger = BatchBuyer(), MemoryLedger()
    bad = BAR.replace(b'"symbol":"A"', b'"symbol":"X"')
    dead = Processor(handler, ledger).process([("1", BAR), ("2", bad), ("3", BAR)])
    assert [(i, d.reason) for i, d in dead] == [("2", "handler error: ValueError: bad bar")]
    assert handler.batches == [["1", "2", "3"], ["1"], ["2"], ["3"]]
    assert ledger.entries["3"].decisions == (Decision("A", "buy", "test"),)


def test_consume_stream_batches_what_the_pipe_holds_with_line_numbers() -> None:
    handler, letters = BatchBuyer(), []
    data = b"\n".join([BAR, b"", b"nope", BAR, BAR, BAR + b"\r"])  # no final newline
    stats = consume_stream(
        io.BytesIO(data),
        Processor(handler, MemoryLedger()),
        dead_sink=lambda i, d: letters.append(i),
        batch_size=2,
    )
    assert (stats.processed, stats.dead_lettered, stats.decisions) == (4, 1, 4)
    assert letters == ["line:3"]
    assert handler.batches == [["line:1"], ["line:4", "line:5"], ["line:6"]]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_paced_spaces_events_at_the_rate_without_sleeping_for_real() -> None:
    clock = FakeClock()
    assert list(paced(range(5), rate=10.0, clock=clock)) == [0, 1, 2, 3, 4]
    assert clock.now == pytest.approx(0.4) and len(clock.sleeps) == 4
    assert list(paced(range(3), rate=0, clock=clock)) == [0, 1, 2]


def test_sqlite_ledger_is_shared_and_idempotent(tmp_path: Path) -> None:
    from harvester.live.ledger import LedgerEntry

    first, second = SqliteLedger(tmp_path / "l.sqlite"), SqliteLedger(tmp_path / "l.sqlite")
    assert first.record([LedgerEntry("a", "ok", (Decision("A", "buy"),))]) == 1
    assert second.record([LedgerEntry("a", "ok"), LedgerEntry("b", "dead")]) == 1
    assert first.recorded(["a", "b", "c"]) == {"a", "b"} and second.count() == 2
    assert next(iter(first.entries())).decisions == (Decision("A", "buy"),)
    first.close()
    second.close()


# -- Redis ---------------------------------------------------------------------------------


@pytest.fixture
def stream(redis_url: str) -> Iterator[tuple[object, str]]:
    import redis

    client = redis.Redis.from_url(redis_url)
    name = f"test:consume:{uuid.uuid4().hex}"
    yield client, name
    client.delete(name, f"{name}:dead")
    client.close()


def _publish(client: object, name: str, lines: list[bytes]) -> list[bytes]:
    pipe = client.pipeline(transaction=False)  # type: ignore[attr-defined]
    for line in lines:
        pipe.xadd(name, {"data": line})
    return [i for i in pipe.execute()]


def _consumer(
    client: object,
    name: str,
    who: str,
    ledger: object,
    *,
    batch: int = 50,
    min_idle_ms: int = 30_000,
) -> RedisConsumer:
    settings = RedisSettings(name, "g", who, batch_size=batch, block_ms=10, min_idle_ms=min_idle_ms)
    return RedisConsumer(client, settings, Processor(_buy_bars, ledger))  # type: ignore[arg-type]


@pytest.mark.redis
def test_two_consumers_in_a_group_process_every_event_once(
    stream: tuple[object, str], tmp_path: Path
) -> None:
    client, name = stream
    ids = _publish(client, name, [*synthetic_lines(1000, seed=2), b"garbage"])
    ledger = SqliteLedger(tmp_path / "ledger.sqlite")
    a, b = (_consumer(client, name, who, ledger) for who in ("a", "b"))
    a.ensure_group()
    while a.step() + b.step():  # the two take turns reading batches from the group
        pass
    total = a.processor.stats.processed + b.processor.stats.processed
    assert total == 1000 and a.processor.stats.processed > 0 and b.processor.stats.processed > 0
    assert ledger.recorded([i.decode() for i in ids]) == {i.decode() for i in ids}
    assert client.xpending(name, "g")["pending"] == 0  # type: ignore[attr-defined]
    dead = client.xrange(f"{name}:dead")  # type: ignore[attr-defined]
    assert len(dead) == 1 and b"malformed" in dead[0][1][b"reason"]


@pytest.mark.redis
def test_entries_left_pending_by_a_dead_consumer_are_reclaimed(
    stream: tuple[object, str],
) -> None:
    client, name = stream
    _publish(client, name, list(synthetic_lines(120, seed=3)))
    ledger = MemoryLedger()
    dead = _consumer(client, name, "dead", ledger, batch=100)
    dead.ensure_group()
    assert len(dead._read(">")) == 100  # read, never handled or acked: the consumer "died"
    heir = _consumer(client, name, "heir", ledger, min_idle_ms=0)
    stats = heir.run(idle_reads=2)
    assert (stats.processed, stats.reclaimed) == (120, 100)
    assert client.xpending(name, "g")["pending"] == 0  # type: ignore[attr-defined]


@pytest.mark.redis
def test_a_restarted_consumer_resumes_its_own_pending_entries(
    stream: tuple[object, str],
) -> None:
    client, name = stream
    _publish(client, name, list(synthetic_lines(30, seed=3)))
    ledger = MemoryLedger()
    first = _consumer(client, name, "c", ledger, batch=10)
    first.ensure_group()
    first._read(">")  # delivered to "c", then the process died
    again = _consumer(client, name, "c", ledger, batch=10)
    assert again.run(idle_reads=1).processed == 30 and again.processor.stats.reclaimed == 0


CRASH_RUNNER = """
import sys
from pathlib import Path
from harvester.app.consume import run_consume_redis
from harvester.live.consume import RedisSettings
url, stream, who, ledger = sys.argv[1:5]
def say(stats):
    print(stats.processed, flush=True)
settings = RedisSettings(stream, "crash", who, batch_size=100, block_ms=20, min_idle_ms=0)
stats = run_consume_redis(url, settings, ledger_path=Path(ledger), idle_reads=2, stats_sink=say,
                          stats_every_seconds=1e-9)
print("done", stats.processed, stats.duplicates, stats.reclaimed, flush=True)
"""


@pytest.mark.redis
def test_sigkilled_consumers_lose_nothing_and_process_nothing_twice(
    stream: tuple[object, str], tmp_path: Path, redis_url: str
) -> None:
    client, name = stream
    ids = {i.decode() for i in _publish(client, name, list(synthetic_lines(5000, seed=9)))}
    ledger = tmp_path / "crash.sqlite"
    for run, kill_after in enumerate((600, 400, 900)):  # processed events seen by that run
        argv = [sys.executable, "-c", CRASH_RUNNER, redis_url, name, f"c{run % 2}", str(ledger)]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=os.environ.copy())
        assert proc.stdout is not None
        line = ""
        for line in proc.stdout:
            if line.startswith("done") or int(line) >= kill_after:
                break
        assert not line.startswith("done")  # killed in the middle of the stream
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    final = subprocess.run(
        [sys.executable, "-c", CRASH_RUNNER, redis_url, name, "c9", str(ledger)],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    )
    assert final.stdout.splitlines()[-1].startswith("done")
    recorded = SqliteLedger(ledger)
    assert recorded.count() == 5000 and recorded.recorded(sorted(ids)) == ids
    assert client.xpending(name, "crash")["pending"] == 0  # type: ignore[attr-defined]
    counts = final.stdout.split()[-3:]  # processed, duplicates, reclaimed by the last run
    assert int(counts[0]) <= 5000 - 1900  # the killed runs did their share
    recorded.close()


def test_the_memory_ledger_keeps_only_the_newest_entries() -> None:
    from harvester.live.ledger import LedgerEntry

    ledger = MemoryLedger(capacity=3)
    assert ledger.record([LedgerEntry(str(i), "ok") for i in range(5)]) == 5
    assert list(ledger.entries) == ["2", "3", "4"] and ledger.recorded(["0", "4"]) == {"4"}


@given(
    st.lists(st.lists(st.tuples(st.integers(0, 12), st.sampled_from(["ok", "dead"])), max_size=6)),
    st.integers(1, 6),
)
def test_the_memory_ledger_keeps_what_a_first_come_bounded_log_keeps(
    batches: list[list[tuple[int, str]]], capacity: int
) -> None:
    from collections import OrderedDict

    from harvester.live.ledger import LedgerEntry

    ledger, model = MemoryLedger(capacity=capacity), OrderedDict[str, LedgerEntry]()
    for batch in batches:
        entries = [LedgerEntry(str(i), status) for i, status in batch]
        before = len(model)
        for entry in entries:  # the first entry of an id stays, in its place
            model.setdefault(entry.event_id, entry)
        added = len(model) - before
        while len(model) > capacity:
            model.popitem(last=False)
        assert ledger.record(entries) == added
        assert list(ledger.entries.items()) == list(model.items())
        assert ledger.recorded([str(i) for i in range(13)]) == set(model)


def test_sigterm_sets_the_stop_flag_and_the_old_handler_comes_back() -> None:
    from harvester.app.consume import StopFlag

    before = signal.getsignal(signal.SIGTERM)
    flag = StopFlag()
    with flag.installed():
        assert not flag()
        os.kill(os.getpid(), signal.SIGTERM)
        assert flag()
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_batch_of_valid_events_is_decided_in_one_call_and_a_short_answer_fails() -> None:
    handler, ledger = BatchBuyer(), MemoryLedger()
    dead = Processor(handler, ledger).process([("1", BAR), ("1", BAR), ("2", BAR)])
    assert dead == [] and handler.batches == [["1", "2"]]  # the repeated id decided once
    assert [e.decisions for e in ledger.entries.values()] == [(Decision("A", "buy", "test"),)] * 2

    class Short(BatchBuyer):
        def decide_batch(
            self, events: Sequence[Event], ids: Sequence[str] | None = None
        ) -> list[list[Decision]]:
            return []

    with pytest.raises(ValueError, match="0 lists for 1"):
        Processor(Short(), MemoryLedger()).process([("1", BAR)])


def test_whitespace_only_lines_are_blank_and_line_endings_are_cut() -> None:
    letters: list[tuple[str, DeadLetter]] = []
    lines = [b" \t\r\n", b"nope \r\n", b"\r\n", b"x"]
    stats = consume_lines(
        lines, Processor(_buy_bars, MemoryLedger()), dead_sink=lambda i, d: letters.append((i, d))
    )
    assert stats.dead_lettered == 2
    assert [(i, d.line) for i, d in letters] == [("line:2", b"nope "), ("line:4", b"x")]


def test_ledger_entries_stay_out_of_the_collector_and_the_consumer_freezes_start_up() -> None:
    import gc

    from harvester.live.ledger import LedgerEntry

    entry = LedgerEntry("1", "ok", (Decision("A", "buy"),))
    assert not gc.is_tracked(entry) and entry.decisions[0].action == "buy"
    ledger = MemoryLedger()
    assert ledger.record([entry, LedgerEntry("2", "dead")]) == 2
    assert ledger.record([LedgerEntry("1", "dead"), LedgerEntry("3", "ok")]) == 1
    assert [(k, e.status) for k, e in ledger.entries.items()] == [
        ("1", "ok"), ("2", "dead"), ("3", "ok"),
    ]  # fmt: skip
    consume_lines([BAR], Processor(_buy_bars, MemoryLedger()), dead_sink=lambda i, d: None)
    assert gc.get_freeze_count() > 0
