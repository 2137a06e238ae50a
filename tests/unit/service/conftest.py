"""Fixtures of the service tests over the hand-made seed of
:mod:`harvester.testing.service_seed`."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from harvester.service import ServiceState
from harvester.store import Store
from harvester.testing.service_seed import Clock, no_network, seed, settings_for

__all__ = ["Clock", "seed", "settings_for"]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def seeded(store: Store) -> Store:
    seed(store)
    return store


@pytest.fixture
def state(seeded: Store, clock: Clock) -> Iterator[ServiceState]:
    """A service state over the seeded store (no peers, no Redis)."""
    service = ServiceState(
        settings_for(seeded),
        clock=clock,
        http=httpx.Client(transport=httpx.MockTransport(no_network)),
    )
    try:
        yield service
    finally:
        service.close()
