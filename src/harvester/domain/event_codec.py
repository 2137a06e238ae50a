"""Decode NDJSON lines into events, never raising: a bad line becomes a DeadLetter.

:func:`decode_event` is the one parser every consumer uses. It validates with msgspec in C
(types, ranges, required fields, the ``type`` tag) plus each event's own checks (a bar's
high above its low, a quote's bid below its ask), and turns any failure into a
:class:`~harvester.domain.events.DeadLetter` whose reason is one line for people.

Examples
--------
>>> decode_event(b'{"type":"control","ts":"2026-01-02T14:30:00Z"}').kind
'heartbeat'
>>> decode_event(b'{"type":"trade"}').reason
'Object missing required field `symbol`'
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import msgspec

from harvester.domain.events import EVENT_SCHEMA_PATH, DeadLetter, Event

__all__ = ["decode_event", "decode_events", "encode_event", "event_schema", "shipped_schema"]

_DECODER: msgspec.json.Decoder[Event] = msgspec.json.Decoder(Event)
_ENCODER = msgspec.json.Encoder()
_MAX_REASON = 200


def decode_event(line: bytes | str, *, received_ns: int | None = None) -> Event | DeadLetter:
    """Return the event on ``line``, or a DeadLetter with the reason it is not one.

    Parameters
    ----------
    line
        One NDJSON line (surrounding whitespace and the newline are ignored).
    received_ns
        Our receive time in Unix nanoseconds, stamped on the event when given.
    """
    try:
        event = _DECODER.decode(line)
    except (msgspec.DecodeError, ValueError, TypeError, UnicodeError, RecursionError) as error:
        return _dead(line, str(error))
    if received_ns is not None:
        msgspec.structs.force_setattr(event, "received_ns", received_ns)
    return event


def decode_events(
    lines: Iterable[bytes | str], *, received_ns: int | None = None
) -> list[Event | DeadLetter]:
    """:func:`decode_event` of each of ``lines``, in order (one call for a consumer's batch)."""
    decode, stamp = _DECODER.decode, msgspec.structs.force_setattr
    out: list[Event | DeadLetter] = []
    add = out.append
    for line in lines:
        try:
            event = decode(line)
        except (msgspec.DecodeError, ValueError, TypeError, UnicodeError, RecursionError) as error:
            add(_dead(line, str(error)))
            continue
        if received_ns is not None:
            stamp(event, "received_ns", received_ns)
        add(event)
    return out


def _dead(line: bytes | str, reason: str) -> DeadLetter:
    raw = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else bytes(line)
    text = " ".join(reason.split()) or "invalid event"
    return DeadLetter(raw, text[:_MAX_REASON])


def encode_event(event: Event) -> bytes:
    """Return ``event`` as one compact JSON line without the trailing newline."""
    return _ENCODER.encode(event)


def event_schema() -> dict[str, Any]:
    """Return the JSON Schema of one event line, generated from the event types."""
    schema = msgspec.json.schema(Event)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "harvester market event (one NDJSON line)"
    return schema


def shipped_schema() -> dict[str, Any]:
    """Return the JSON Schema file shipped in the package (``events.schema.json``)."""
    loaded: dict[str, Any] = json.loads(EVENT_SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded
