"""The simulated clock advances only when something sleeps."""

from __future__ import annotations

import asyncio

from harvester.testing import SimClock


def test_sleep_advances_and_is_recorded() -> None:
    clock = SimClock(start_seconds=10.0)

    async def nap() -> None:
        await clock.sleep(1.5)
        await clock.sleep(0.5)

    asyncio.run(nap())
    assert clock.monotonic() == 12.0
    assert clock.sleeps == [1.5, 0.5]
