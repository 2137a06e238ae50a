"""The port between the stream decision loop and the learning loop.

The decision loop (:mod:`harvester.live.brain`) calls a :class:`LearningHooks` at four
points: before a buy (may an active filter rule block it? how large is conviction's size
multiplier?), after an entry and after an exit (record a :class:`Snapshot` of the market
context), and on every trade price (the shadow strategies move their ghost trades).
:class:`NoLearning` is the do-nothing implementation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["LearningHooks", "NoLearning", "Outcome", "Snapshot"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a closed position ended: return in percent, exit reason, time held."""

    pnl_pct: float
    exit_reason: str
    """``stop``, ``target``, ``signal`` (sell consensus) or ``manual``."""
    held_seconds: float


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The market context at one entry or exit (one experience-buffer record)."""

    symbol: str
    time_ns: int
    kind: str
    """``entry`` or ``exit``."""
    setup: str
    """The entry's setup name, e.g. ``consensus_long``; conviction is kept per setup."""
    price: float
    context: Mapping[str, float] = field(default_factory=dict)
    """Indicator values, votes, sentiment, market filter at the decision (NaN = unknown)."""
    outcome: Outcome | None = None
    """Set on an exit."""


class LearningHooks(Protocol):
    """What the decision loop asks of and tells the learning loop."""

    def block_reason(self, snapshot: Snapshot) -> str | None:
        """The reason an active filter rule blocks this buy, or None to allow it."""

    def size_multiplier(self, setup: str) -> float:
        """Conviction's position-size multiplier for ``setup`` (0.5 to 1.5; 1 = neutral)."""

    def on_entry(self, snapshot: Snapshot, *, stop: float, target: float) -> None:
        """A live position was opened at ``snapshot.price`` with these stop/target prices."""

    def on_exit(self, snapshot: Snapshot) -> None:
        """A live position was closed; ``snapshot.outcome`` says how."""

    def on_price(self, symbol: str, time_ns: int, price: float) -> None:
        """A trade printed at ``price`` (shadow strategies move their ghost trades)."""


class NoLearning:
    """Learning switched off: allow every buy at size 1, remember nothing."""

    def block_reason(self, snapshot: Snapshot) -> str | None:
        del snapshot
        return None

    def size_multiplier(self, setup: str) -> float:
        del setup
        return 1.0

    def on_entry(self, snapshot: Snapshot, *, stop: float, target: float) -> None:
        del snapshot, stop, target

    def on_exit(self, snapshot: Snapshot) -> None:
        del snapshot

    def on_price(self, symbol: str, time_ns: int, price: float) -> None:
        del symbol, time_ns, price
