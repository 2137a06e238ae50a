"""A simulated clock: time moves only when something sleeps, so tests never wait."""

from __future__ import annotations

__all__ = ["SimClock"]


class SimClock:
    """Monotonic seconds that advance only through ``sleep``; every sleep is recorded."""

    def __init__(self, start_seconds: float = 0.0) -> None:
        self.seconds = start_seconds
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """Return the simulated monotonic time in seconds."""
        return self.seconds

    async def sleep(self, seconds: float) -> None:
        """Record the sleep and advance the clock by ``seconds`` at once."""
        self.sleeps.append(seconds)
        self.seconds += seconds
