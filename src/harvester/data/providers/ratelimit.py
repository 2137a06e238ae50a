"""A token-bucket rate limiter with an injectable clock and sleep.

The bucket is kept in its "virtual scheduling" form (GCRA), which is equivalent to a token
bucket of ``capacity`` tokens refilled at ``rate_per_second``: each caller reserves the next
free slot without waiting on the others, so concurrent callers are paced in arrival order and
a fake clock sees exactly one sleep per delayed request.

Examples
--------
>>> import asyncio
>>> now, slept = [0.0], []
>>> async def fake_sleep(seconds: float) -> None:
...     slept.append(seconds)
...     now[0] += seconds
>>> bucket = TokenBucket(2.0, clock=lambda: now[0], sleep=fake_sleep)
>>> async def three() -> None:
...     for _ in range(3):
...         await bucket.acquire()
>>> asyncio.run(three())
>>> slept
[0.5, 0.5]
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

__all__ = ["Sleep", "TokenBucket"]

Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    """Allow at most ``rate_per_second`` acquisitions per second, bursts up to ``capacity``.

    Parameters
    ----------
    rate_per_second
        Sustained rate; must be positive.
    capacity
        Tokens available at once (1 paces every request evenly).
    clock
        Monotonic time in seconds (``time.monotonic`` by default).
    sleep
        Awaitable sleep (``asyncio.sleep`` by default).
    """

    def __init__(
        self,
        rate_per_second: float,
        *,
        capacity: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate_per_second <= 0 or capacity < 1:
            raise ValueError("rate_per_second must be > 0 and capacity >= 1")
        self._interval_seconds = 1.0 / rate_per_second
        self._tolerance_seconds = (capacity - 1.0) * self._interval_seconds
        self._clock = clock
        self._sleep = sleep
        self._next_slot: float | None = None

    async def acquire(self) -> float:
        """Wait until a token is available, take it, and return the seconds waited."""
        now = self._clock()
        slot = now if self._next_slot is None else max(self._next_slot, now)
        self._next_slot = slot + self._interval_seconds
        wait_seconds = slot - self._tolerance_seconds - now
        if wait_seconds <= 0:
            return 0.0
        await self._sleep(wait_seconds)
        return wait_seconds
