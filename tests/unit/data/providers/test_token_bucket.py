"""The token bucket paces acquisitions with an injected clock and sleep."""

from __future__ import annotations

import asyncio

import pytest

from harvester.data.providers import TokenBucket
from harvester.testing import SimClock


def _acquire_times(bucket: TokenBucket, clock: SimClock, count: int) -> list[float]:
    async def go() -> list[float]:
        times = []
        for _ in range(count):
            await bucket.acquire()
            times.append(clock.seconds)
        return times

    return asyncio.run(go())


def test_acquire_paces_requests_one_interval_apart() -> None:
    clock = SimClock()
    bucket = TokenBucket(4.0, clock=clock.monotonic, sleep=clock.sleep)

    times = _acquire_times(bucket, clock, 5)

    assert times == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert clock.sleeps == [0.25, 0.25, 0.25, 0.25]


def test_acquire_allows_a_burst_up_to_capacity_then_paces() -> None:
    clock = SimClock()
    bucket = TokenBucket(2.0, capacity=3, clock=clock.monotonic, sleep=clock.sleep)

    times = _acquire_times(bucket, clock, 5)

    assert times == [0.0, 0.0, 0.0, 0.5, 1.0]


def test_acquire_after_an_idle_period_does_not_wait() -> None:
    clock = SimClock()
    bucket = TokenBucket(1.0, clock=clock.monotonic, sleep=clock.sleep)
    _acquire_times(bucket, clock, 1)
    clock.seconds = 10.0

    _acquire_times(bucket, clock, 1)

    assert clock.sleeps == []


def test_concurrent_acquirers_reserve_consecutive_slots() -> None:
    clock = SimClock()
    bucket = TokenBucket(5.0, clock=clock.monotonic, sleep=_no_sleep)

    # The clock never moves while the four reserve, so each waits one interval more.
    waits = asyncio.run(_gather(bucket, 4))

    assert waits == pytest.approx([0.0, 0.2, 0.4, 0.6])


async def _no_sleep(seconds: float) -> None:
    return None


async def _gather(bucket: TokenBucket, count: int) -> list[float]:
    return list(await asyncio.gather(*(bucket.acquire() for _ in range(count))))


@pytest.mark.parametrize(("rate", "capacity"), [(0.0, 1.0), (-1.0, 1.0), (1.0, 0.5)])
def test_token_bucket_rejects_bad_parameters(rate: float, capacity: float) -> None:
    with pytest.raises(ValueError, match="rate_per_second"):
        TokenBucket(rate, capacity=capacity)
