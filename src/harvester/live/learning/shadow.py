"""Shadow strategies: ghost trades with other stop/target distances, compared with live.

Each live entry at price ``p`` with stop ``s`` and target ``t`` opens one ghost trade per
:class:`ShadowVariant`, with its stop at ``p - stop_mult * (p - s)`` and its target at
``p + target_mult * (t - p)`` (the same formulas hold for a short, whose distances are
negative). The defaults:

========  =========  ===========
variant   stop_mult  target_mult
========  =========  ===========
tighter   0.5        0.75
wider     1.5        1.5
scalp     0.5        0.33
========  =========  ===========

Every trade print of the symbol moves its open ghosts: a print at or through the stop
closes the ghost at that print's price (``stop``), otherwise one at or through the target
closes it there (``target``); the stop is checked first, so a ghost whose levels are both
crossed counts as stopped (the conservative reading). When the live trade exits on a sell
signal or by hand, its still-open ghosts close at the live exit price with the same reason
(the signal applies to every variant); after a live stop or target exit they run on to their
own levels. A new live entry of the symbol closes any ghost still open there at the entry
price (``replaced``), so at most one ghost per variant and symbol is open.

A ghost trade is *settled* once it is closed and its live trade has exited; the last 1,000
settled trades per variant are kept and compared with live's returns on the same trades.
When a variant has at least 30 of them and its total return beats live's, a warning is
logged once and :meth:`ShadowBook.report` lists it under ``outperforming``.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harvester.live.learning.hooks import Snapshot

__all__ = ["DEFAULT_VARIANTS", "GhostTrade", "ShadowBook", "ShadowVariant"]

log = logging.getLogger(__name__)

_CARRIED_EXITS = frozenset({"signal", "manual"})


@dataclass(frozen=True, slots=True)
class ShadowVariant:
    """A ghost strategy: the live stop and target distances scaled by these multiples."""

    name: str
    stop_mult: float
    target_mult: float


DEFAULT_VARIANTS = (
    ShadowVariant("tighter", 0.5, 0.75),
    ShadowVariant("wider", 1.5, 1.5),
    ShadowVariant("scalp", 0.5, 0.33),
)


@dataclass(slots=True)
class GhostTrade:
    """One variant's trade beside one live trade."""

    variant: str
    symbol: str
    entry: float
    stop: float
    target: float
    direction: int
    exit_price: float | None = None
    exit_reason: str | None = None
    live_pnl_pct: float | None = None

    @property
    def pnl_pct(self) -> float:
        """Return in percent (0 while open)."""
        if self.exit_price is None:
            return 0.0
        return self.direction * (self.exit_price / self.entry - 1.0) * 100.0

    def close(self, price: float, reason: str) -> None:
        self.exit_price, self.exit_reason = price, reason

    def move(self, price: float) -> None:
        """Close on a print at or through the stop (checked first) or the target."""
        if self.direction * (price - self.stop) <= 0:
            self.close(price, "stop")
        elif self.direction * (price - self.target) >= 0:
            self.close(price, "target")


@dataclass(slots=True)
class _Tally:
    """The settled trades of one variant: (ghost return, live return) pairs."""

    pairs: deque[tuple[float, float]]

    def stats(self, min_trades: int) -> dict[str, Any]:
        n = len(self.pairs)
        ghost = sum(g for g, _ in self.pairs)
        live = sum(v for _, v in self.pairs)
        return {
            "trades": n,
            "ghost_total_pct": ghost,
            "live_total_pct": live,
            "ghost_mean_pct": ghost / n if n else 0.0,
            "live_mean_pct": live / n if n else 0.0,
            "ghost_win_rate": sum(g > 0 for g, _ in self.pairs) / n if n else 0.0,
            "outperforms": n >= min_trades and ghost > live,
        }


class ShadowBook:
    """The ghost trades of every variant, and how they compare with live."""

    def __init__(
        self,
        variants: Sequence[ShadowVariant] = DEFAULT_VARIANTS,
        *,
        keep: int = 1000,
        min_trades: int = 30,
    ) -> None:
        self.variants = tuple(variants)
        self.min_trades = min_trades
        self._open: dict[str, list[GhostTrade]] = {}
        self._tallies = {v.name: _Tally(deque(maxlen=keep)) for v in self.variants}
        self._warned: set[str] = set()

    def open_ghosts(self, symbol: str) -> list[GhostTrade]:
        """The unsettled ghosts of ``symbol`` (open, or closed awaiting the live exit)."""
        return list(self._open.get(symbol, ()))

    def on_entry(self, snapshot: Snapshot, *, stop: float, target: float) -> None:
        """Open one ghost per variant beside the live entry."""
        price, symbol = snapshot.price, snapshot.symbol
        direction = 1 if target > price else -1
        if (stop - price) * direction >= 0 or target == price:
            log.debug("no ghosts for %s: stop %s, target %s, price %s", symbol, stop, target, price)
            return
        for ghost in self._open.pop(symbol, ()):
            if ghost.exit_price is None:
                ghost.close(price, "replaced")
            self._keep(ghost)
        self._open[symbol] = [
            GhostTrade(
                variant=v.name,
                symbol=symbol,
                entry=price,
                direction=direction,
                stop=price + v.stop_mult * (stop - price),
                target=price + v.target_mult * (target - price),
            )
            for v in self.variants
        ]

    def on_price(self, symbol: str, price: float) -> None:
        """Move the symbol's open ghosts with a trade print."""
        ghosts = self._open.get(symbol)
        if not ghosts:
            return
        for ghost in ghosts:
            if ghost.exit_price is None:
                ghost.move(price)
        self._settle(symbol)

    def on_exit(self, snapshot: Snapshot) -> None:
        """Record the live outcome beside the symbol's ghosts."""
        outcome = snapshot.outcome
        if outcome is None:
            return
        for ghost in self._open.get(snapshot.symbol, ()):
            if ghost.live_pnl_pct is not None:
                continue
            ghost.live_pnl_pct = outcome.pnl_pct
            if ghost.exit_price is None and outcome.exit_reason in _CARRIED_EXITS:
                ghost.close(snapshot.price, outcome.exit_reason)
        self._settle(snapshot.symbol)

    def _keep(self, ghost: GhostTrade) -> None:
        if ghost.exit_price is not None and ghost.live_pnl_pct is not None:
            self._tallies[ghost.variant].pairs.append((ghost.pnl_pct, ghost.live_pnl_pct))

    def _settle(self, symbol: str) -> None:
        ghosts = self._open.get(symbol, [])
        done = [g for g in ghosts if g.exit_price is not None and g.live_pnl_pct is not None]
        if not done:
            return
        for ghost in done:
            self._keep(ghost)
        remaining = [g for g in ghosts if g.exit_price is None or g.live_pnl_pct is None]
        if remaining:
            self._open[symbol] = remaining
        else:
            del self._open[symbol]
        self._warn_outperformers()

    def _warn_outperformers(self) -> None:
        for name, tally in self._tallies.items():
            if name in self._warned:
                continue
            stats = tally.stats(self.min_trades)
            if stats["outperforms"]:
                self._warned.add(name)
                log.warning(
                    "shadow %r beats live over %d ghost trades: %+.2f%% vs %+.2f%% total",
                    name, stats["trades"], stats["ghost_total_pct"], stats["live_total_pct"],
                )  # fmt: skip

    def report(self) -> dict[str, Any]:
        """Per variant: settled trades, total/mean returns beside live's, and who beats live."""
        shadows = {name: t.stats(self.min_trades) for name, t in self._tallies.items()}
        return {
            "min_trades": self.min_trades,
            "open_symbols": len(self._open),
            "shadows": shadows,
            "outperforming": [name for name, s in shadows.items() if s["outperforms"]],
        }
