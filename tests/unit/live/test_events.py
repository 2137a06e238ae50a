"""The event schema and decoder: every line is an Event or a DeadLetter with a reason."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harvester.domain.event_codec import decode_event, encode_event, event_schema, shipped_schema
from harvester.domain.events import (
    EVENT_TYPES,
    Bar,
    Control,
    DeadLetter,
    News,
    Quote,
    Trade,
    Volatility,
)
from harvester.live.replay import synthetic_lines

DOCS = Path(__file__).parents[3] / "docs" / "events.md"
TS = datetime(2026, 1, 2, 14, 30, tzinfo=UTC)
VALID = [
    b'{"type":"bar","symbol":"AAPL","open":10,"high":11,"low":9.5,"close":10.5,'
    b'"volume":1200,"ts":"2026-01-02T14:30:00Z"}',
    b'{"type":"trade","symbol":"AAPL","price":10.5,"size":100,"bid":10.4,"ask":10.6,'
    b'"ts":"2026-01-02T14:30:00.123+00:00","id":"t-1"}',
    b'{"type":"quote","symbol":"AAPL","bid":10.4,"ask":10.6,"ts":"2026-01-02T14:30:00Z"}',
    b'{"type":"news","symbols":["AAPL","MSFT"],"headline":"Deal","ts":"2026-01-02T14:30:00Z"}',
    b'{"type":"volatility","symbol":"AAPL","zscore":-2.5,"volume_ratio":1.8,'
    b'"ts":"2026-01-02T14:30:00Z"}',
    b'{"type":"control","kind":"heartbeat","ts":"2026-01-02T14:30:00Z"}',
]


def test_the_shipped_schema_is_the_one_the_types_generate() -> None:
    assert shipped_schema() == event_schema()
    assert set(EVENT_TYPES) == {"bar", "trade", "quote", "news", "volatility", "control"}


@pytest.mark.parametrize("line", VALID)
def test_valid_lines_decode_and_round_trip(line: bytes) -> None:
    event = decode_event(line, received_ns=7)
    assert not isinstance(event, DeadLetter), event
    assert event.received_ns == 7
    assert event.ts == TS.replace(microsecond=event.ts.microsecond)
    assert decode_event(encode_event(event)) == event


def test_fields_arrive_typed() -> None:
    trade = decode_event(VALID[1])
    assert trade == Trade("AAPL", 10.5, 100.0, 10.4, 10.6, ts=trade.ts, id="t-1")  # type: ignore[union-attr]
    news = decode_event(VALID[3])
    assert isinstance(news, News) and news.symbols == ("AAPL", "MSFT") and news.summary == ""
    assert isinstance(decode_event(VALID[4]), Volatility)
    assert isinstance(decode_event(VALID[2]), Quote)
    assert isinstance(decode_event(VALID[5]), Control)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"", "truncated"),
        (b"not json", "malformed"),
        (b'{"type":"tick","ts":"2026-01-02T14:30:00Z"}', "Invalid value 'tick'"),
        (b'{"symbol":"A"}', "missing required field `type`"),
        (b'{"type":"control","ts":"2026-01-02T14:30:00"}', "timezone"),
        (VALID[0].replace(b'"high":11', b'"high":8'), "low <= open, close <= high"),
        (VALID[2].replace(b'"bid":10.4', b'"bid":10.7'), "bid > ask"),
        (VALID[1].replace(b'"price":10.5', b'"price":-1'), "$.price"),
        (VALID[1].replace(b'"price":10.5', b'"price":1e999'), "out of range"),
        (VALID[3].replace(b'["AAPL","MSFT"]', b"[]"), "$.symbols"),
    ],
)
def test_bad_lines_become_dead_letters_with_the_reason(line: bytes, reason: str) -> None:
    letter = decode_event(line)
    assert isinstance(letter, DeadLetter)
    assert reason in letter.reason and letter.line == line


def test_every_docs_example_is_valid_and_every_type_has_one() -> None:
    blocks = re.findall(r"```json\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    lines = [line for block in blocks for line in block.splitlines() if line.startswith("{")]
    events = [decode_event(line.encode()) for line in lines]
    assert all(not isinstance(e, DeadLetter) for e in events), events
    assert {type(e) for e in events} == set(EVENT_TYPES.values())


def test_synthetic_replay_lines_are_all_valid() -> None:
    events = [decode_event(line) for line in synthetic_lines(500, seed=4)]
    assert not [e for e in events if isinstance(e, DeadLetter)]
    assert {type(e) for e in events} == {Bar, Trade, Quote, Control, Volatility, News}


def _check(line: bytes) -> None:
    outcome = decode_event(line)
    if isinstance(outcome, DeadLetter):
        assert outcome.reason.strip() and "\n" not in outcome.reason
        assert outcome.line == line
    else:
        assert type(outcome) in EVENT_TYPES.values()


@given(st.binary(max_size=300))
def test_fuzz_random_bytes_never_raise(line: bytes) -> None:
    _check(line)


@given(st.sampled_from(VALID), st.data())
def test_fuzz_truncated_valid_lines_are_dead_letters(line: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(line) - 1))
    outcome = decode_event(line[:cut])
    assert isinstance(outcome, DeadLetter) and outcome.reason


@given(
    st.sampled_from(VALID),
    st.dictionaries(
        st.sampled_from(["symbol", "price", "size", "ts", "bid", "open", "kind", "symbols"]),
        st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=5), st.booleans()),
        max_size=3,
    ),
)
def test_fuzz_mutated_fields_never_raise(line: bytes, changes: dict[str, object]) -> None:
    record = json.loads(line)
    record.update(changes)
    _check(json.dumps(record).encode())


@given(st.text(max_size=200))
def test_fuzz_text_lines_never_raise(text: str) -> None:
    outcome = decode_event(text)
    assert isinstance(outcome, DeadLetter | Bar | Trade | Quote | News | Volatility | Control)
