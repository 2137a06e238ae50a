"""The deterministic command parser: chat text → one command call, or a usage hint.

``parse`` returns a :class:`Command` (a :class:`~harvester.bot.commands.BotCommands` method
name and its arguments, without the user), a :class:`Malformed` with a helpful reply when
the text starts like a command but does not fit it ("enter at", "buy AAPL at -3"), or None
when it is not a command at all (the LLM, when configured, gets those).

Accepted (case-insensitive, ``$`` optional before prices and tickers, ``@`` or ``at``)::

    enter AAPL at 185.50        buy 10 AAPL @185.5        buy 10 shares of AAPL at 185.5
    exit AAPL at 190            sell 5 AAPL @ 190         sell half MSFT at 300   sell all ...
    capital 25000               set capital to $25,000
    positions  pnl  history [N]  signals  exposure  stale  help
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Command", "Malformed", "parse"]

NUMBER = r"-?\$?-?[\d,]*\.?\d+"
TRADE = re.compile(
    rf"^(?P<verb>enter|buy|long|exit|sell|close)\s+"
    rf"(?:(?P<qty>half|all|{NUMBER})\s+(?:shares?\s+(?:of\s+)?)?)?"
    rf"(?P<ticker>\$?[a-z^][a-z0-9.\-=^]*)\s*(?:at|@)\s*(?P<price>{NUMBER})$",
    re.IGNORECASE,
)
CAPITAL = re.compile(rf"^(?:set\s+)?(?:my\s+)?capital\s+(?:to\s+|=\s*)?(?P<amount>{NUMBER})$", re.I)
HISTORY = re.compile(r"^history(?:\s+(?P<n>\d+))?$", re.IGNORECASE)
WORDS = {
    "positions": "positions", "pos": "positions", "pnl": "pnl", "p&l": "pnl",
    "signals": "signals_today", "exposure": "exposure", "stale": "stale_models",
    "help": "help", "?": "help",
}  # fmt: skip
VERBS = {"enter": "enter", "buy": "enter", "long": "enter",
         "exit": "exit", "sell": "exit", "close": "exit"}  # fmt: skip
USAGE = {
    "enter": "Write `enter AAPL at 185.50` or `buy 10 AAPL @185.5`.",
    "exit": "Write `exit AAPL at 190`, `sell 5 AAPL @190` or `sell half AAPL at 190`.",
    "set_capital": "Write `capital 25000`.",
}


@dataclass(frozen=True, slots=True)
class Command:
    """A command method name and its keyword arguments (the user is added by the caller)."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Malformed:
    """Text that looks like a command but does not fit: the reply says how to write it."""

    reply: str


def _number(text: str) -> float:
    cleaned = text.replace("$", "").replace(",", "")
    return float(cleaned)


def _trade(match: re.Match[str]) -> Command | Malformed:
    name = VERBS[match["verb"].lower()]
    args: dict[str, Any] = {"ticker": match["ticker"], "price": _number(match["price"])}
    qty = (match["qty"] or "").lower()
    if qty == "half":
        if name == "enter":
            return Malformed("How many shares? " + USAGE["enter"])
        args["fraction"] = 0.5
    elif qty and qty != "all":
        args["qty"] = _number(qty)
    return Command(name, args)


def parse(text: str) -> Command | Malformed | None:
    """Parse one chat message (see the module docstring)."""
    words = " ".join(text.strip().lstrip("/!").split())
    if not words:
        return None
    lowered = words.lower()
    if lowered in WORDS:
        return Command(WORDS[lowered])
    if (match := HISTORY.match(words)) is not None:
        return Command("history", {"n": int(match["n"])} if match["n"] else {})
    if (match := CAPITAL.match(words)) is not None:
        return Command("set_capital", {"amount": _number(match["amount"])})
    if (match := TRADE.match(words)) is not None:
        return _trade(match)
    first = lowered.split()[0]
    if first in VERBS:
        return Malformed("I couldn't read that trade. " + USAGE[VERBS[first]])
    if first in {"capital", "set"} and "capital" in lowered:
        return Malformed("I couldn't read the amount. " + USAGE["set_capital"])
    return None
