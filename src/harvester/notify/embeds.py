"""Alerts as Discord embeds, clamped to Discord's limits and packed into messages.

Pure functions: an alert value in, JSON-ready dicts out. Discord rejects a whole message
(HTTP 400) when one embed breaks a limit, so every text is cut to its limit with an ellipsis
here, before anything is sent, and many embeds are spread over several messages:

====================  =====
title                 256
description           4096
fields per embed      25
field name / value    256 / 1024
footer text           2048
author name           256
all text, per message 6000
embeds per message    10
colour                an int in 0 .. 0xFFFFFF
====================  =====
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BLUE",
    "GREEN",
    "LIMITS",
    "RED",
    "ExitAlert",
    "RetrainAlert",
    "SignalAlert",
    "clamp_embed",
    "embed_chars",
    "error_embed",
    "exit_embed",
    "messages",
    "retrain_embed",
    "signal_embed",
    "signal_embeds",
]

GREEN = 0x2ECC71
RED = 0xE74C3C
BLUE = 0x3498DB
ELLIPSIS = "…"

LIMITS = {
    "title": 256, "description": 4096, "fields": 25, "field_name": 256, "field_value": 1024,
    "footer": 2048, "author": 256, "total": 6000, "embeds": 10,
}  # fmt: skip

Embed = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SignalAlert:
    """A new entry signal; ``score`` is P(rally) for the rally strategy, else its score."""

    symbol: str
    score: float
    price: float | None = None
    stop: float | None = None
    target: float | None = None
    size: float | None = None  # fraction of equity
    direction: int = 1
    score_label: str = "score"


@dataclass(frozen=True, slots=True)
class ExitAlert:
    """A closed position: why, the return (a fraction) and how long it was held."""

    symbol: str
    reason: str
    pnl_pct: float  # fraction: 0.035 is +3.5 %
    bars_held: int
    pnl: float | None = None  # in account currency


@dataclass(frozen=True, slots=True)
class RetrainAlert:
    """A finished retrain: models fresh and stale afterwards, how many it trained, how long."""

    fresh: int
    stale: int
    elapsed_seconds: float
    trained: int | None = None


# ---- limits -------------------------------------------------------------------------------


def _cut(text: object, limit: int) -> str:
    value = str(text) if text is not None and str(text) != "" else "-"
    return value if len(value) <= limit else value[: limit - 1] + ELLIPSIS


def embed_chars(embed: Embed) -> int:
    """The characters Discord counts towards the 6000 limit of a message."""
    fields = embed.get("fields", [])
    return (
        len(embed.get("title", ""))
        + len(embed.get("description", ""))
        + sum(len(f["name"]) + len(f["value"]) for f in fields)
        + len(embed.get("footer", {}).get("text", ""))
        + len(embed.get("author", {}).get("name", ""))
    )


def clamp_embed(embed: Embed) -> Embed:
    """A copy of ``embed`` inside every per-embed limit (text cut with an ellipsis)."""
    out: Embed = {k: v for k, v in embed.items() if k not in {"fields", "footer", "author"}}
    for key in ("title", "description"):
        if key in out:
            out[key] = _cut(out[key], LIMITS[key])
    out["color"] = int(embed.get("color", 0)) & 0xFFFFFF
    fields = embed.get("fields", [])[: LIMITS["fields"]]
    out["fields"] = [
        {"name": _cut(f["name"], LIMITS["field_name"]),
         "value": _cut(f["value"], LIMITS["field_value"]), "inline": bool(f.get("inline", True))}
        for f in fields
    ]  # fmt: skip
    if "footer" in embed:
        out["footer"] = {"text": _cut(embed["footer"]["text"], LIMITS["footer"])}
    if "author" in embed:
        out["author"] = {"name": _cut(embed["author"]["name"], LIMITS["author"])}
    return _fit_total(out)


def _fit_total(embed: Embed) -> Embed:
    """Drop trailing fields, then shorten the description, until the embed fits in 6000."""
    while embed_chars(embed) > LIMITS["total"] and embed["fields"]:
        embed["fields"].pop()
    excess = embed_chars(embed) - LIMITS["total"]
    if excess > 0 and "description" in embed:
        keep = max(len(embed["description"]) - excess - 1, 0)
        embed["description"] = embed["description"][:keep] + ELLIPSIS
    return embed


def messages(embeds: Iterable[Embed]) -> list[dict[str, Any]]:
    """Clamp ``embeds`` and pack them, in order, into message payloads within the limits."""
    payloads: list[dict[str, Any]] = []
    batch: list[Embed] = []
    size = 0
    for raw in embeds:
        embed = clamp_embed(raw)
        chars = embed_chars(embed)
        if batch and (len(batch) == LIMITS["embeds"] or size + chars > LIMITS["total"]):
            payloads.append({"embeds": batch})
            batch, size = [], 0
        batch.append(embed)
        size += chars
    if batch:
        payloads.append({"embeds": batch})
    return payloads


# ---- the alerts ---------------------------------------------------------------------------


def _money(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:,.2f}"


def _percent(value: float | None, *, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value * 100:+.2f}%" if signed else f"{value * 100:.1f}%"


def _field(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "value": value, "inline": True}


def signal_embed(alert: SignalAlert) -> Embed:
    """Green: a new signal with its score, price, stop, target and size."""
    side = "short" if alert.direction < 0 else "long"
    score = (
        _percent(alert.score) if alert.score_label.lower().startswith("p(") else
        ("-" if not math.isfinite(alert.score) else f"{alert.score:.3f}")
    )  # fmt: skip
    return {
        "title": f"New signal: {alert.symbol} ({side})",
        "color": GREEN,
        "fields": [
            _field(alert.score_label, score),
            _field("Price", _money(alert.price)),
            _field("Stop", _money(alert.stop)),
            _field("Target", _money(alert.target)),
            _field("Size", _percent(alert.size)),
        ],
    }


def exit_embed(alert: ExitAlert) -> Embed:
    """Green on a profit, red on a loss: why the position closed, its P&L and bars held."""
    fields = [
        _field("Reason", alert.reason),
        _field("P&L", _percent(alert.pnl_pct, signed=True)),
        _field("Bars held", str(alert.bars_held)),
    ]
    if alert.pnl is not None:
        fields.append(_field("P&L $", f"{alert.pnl:+,.2f}"))
    return {
        "title": f"Exit: {alert.symbol}",
        "color": GREEN if alert.pnl_pct > 0 else RED,
        "fields": fields,
    }


def retrain_embed(alert: RetrainAlert) -> Embed:
    """Blue: how many models are fresh and stale after a retrain, and how long it took."""
    minutes, seconds = divmod(round(alert.elapsed_seconds), 60)
    return {
        "title": "Retrain complete",
        "color": BLUE,
        "fields": [
            _field("Fresh", str(alert.fresh)),
            _field("Stale", str(alert.stale)),
            *([_field("Trained", str(alert.trained))] if alert.trained is not None else []),
            _field("Elapsed", f"{minutes}m {seconds:02d}s"),
        ],
    }


def error_embed(title: str, detail: str = "") -> Embed:
    """Red: an error title and its details (a long traceback is cut to fit)."""
    embed: Embed = {"title": f"Error: {title}", "color": RED, "fields": []}
    if detail:
        embed["description"] = detail
    return embed


def signal_embeds(alerts: Sequence[SignalAlert]) -> list[Embed]:
    """One green embed per signal, best first as given."""
    return [signal_embed(a) for a in alerts]
