"""Conviction sizing: recent outcomes of a setup scale its position size.

Each exit scores a reward: +1 when it made money (``pnl_pct > 0``, whatever the exit
reason), -2 when it lost at the stop (``exit_reason == "stop"`` and ``pnl_pct <= 0``),
0 otherwise. A setup's score is the sum over its last ``window`` exits (20 by default) and
its size multiplier is ``clip(1 + score / scale, 0.5, 1.5)`` with ``scale`` 10: five net
wins reach the 1.5x ceiling, three stops in a row bring it to 0.4 -> clipped to 0.5.
An unseen setup is neutral (1.0). Memory is one bounded window per setup.
"""

from __future__ import annotations

from collections import deque

from harvester.live.learning.hooks import Outcome

__all__ = ["Conviction", "reward"]


def reward(outcome: Outcome) -> int:
    """+1 for a profitable exit, -2 for a losing stop, 0 otherwise."""
    if outcome.pnl_pct > 0:
        return 1
    return -2 if outcome.exit_reason == "stop" else 0


class Conviction:
    """Per-setup reward windows and the size multipliers they map to."""

    def __init__(
        self, *, window: int = 20, scale: float = 10.0, low: float = 0.5, high: float = 1.5
    ) -> None:
        if window < 1 or scale <= 0 or not low <= 1.0 <= high:
            raise ValueError("need window >= 1, scale > 0 and low <= 1 <= high")
        self.window, self.scale, self.low, self.high = window, scale, low, high
        self._rewards: dict[str, deque[int]] = {}

    def record(self, setup: str, outcome: Outcome) -> None:
        """Add one exit's reward to the setup's window."""
        window = self._rewards.setdefault(setup, deque(maxlen=self.window))
        window.append(reward(outcome))

    def score(self, setup: str) -> int:
        return sum(self._rewards.get(setup, ()))

    def multiplier(self, setup: str) -> float:
        """``clip(1 + score / scale, low, high)``; 1.0 for an unseen setup."""
        return min(self.high, max(self.low, 1.0 + self.score(setup) / self.scale))

    def report(self) -> dict[str, dict[str, float]]:
        return {
            setup: {"score": self.score(setup), "multiplier": self.multiplier(setup)}
            for setup in sorted(self._rewards)
        }
