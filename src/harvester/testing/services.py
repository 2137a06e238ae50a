"""Pytest plugin for tests that need the real PostgreSQL or Redis server.

Mark such a test ``@pytest.mark.postgres`` or ``@pytest.mark.redis`` and take the
``postgres_url`` / ``redis_url`` fixture. On a machine without the server the test is
skipped with a visible reason. With ``HARVESTER_REQUIRE_SERVICES=1`` (set by ``.ci/run``)
an unreachable server fails the test instead, and so does any other skip of a marked test,
so CI can never pass by skipping service tests.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Generator
from urllib.parse import urlsplit

import pytest

REQUIRE_ENV = "HARVESTER_REQUIRE_SERVICES"
SERVICE_URLS = {
    "postgres": ("HARVESTER_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test"),
    "redis": ("HARVESTER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
}


def services_required() -> bool:
    """Return True when skipping a service test must fail the run."""
    return os.environ.get(REQUIRE_ENV, "").strip().lower() in {"1", "true", "yes"}


def service_url(service: str) -> str:
    """Return the URL tests use for ``service`` (environment override or the local default)."""
    variable, default = SERVICE_URLS[service]
    return os.environ.get(variable, default)


def unreachable_reason(service: str, *, timeout_seconds: float = 1.0) -> str | None:
    """Return why ``service`` cannot be reached, or None when a TCP connection succeeds."""
    parts = urlsplit(service_url(service))
    host, port = parts.hostname or "127.0.0.1", parts.port or 0
    try:
        with socket.create_connection((host, port), timeout=timeout_seconds):
            return None
    except OSError as e:
        variable = SERVICE_URLS[service][0]
        return f"{service} not reachable at {host}:{port} ({e.strerror or e}); set {variable}"


def _service_markers(item: pytest.Item) -> list[str]:
    return [name for name in SERVICE_URLS if item.get_closest_marker(name) is not None]


def pytest_runtest_setup(item: pytest.Item) -> None:
    for service in _service_markers(item):
        reason = unreachable_reason(service)
        if reason is None:
            continue
        if services_required():
            pytest.fail(f"{reason}; {REQUIRE_ENV}=1 forbids skipping service tests")
        pytest.skip(reason)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.skipped and services_required() and _service_markers(item):
        report.outcome = "failed"
        report.longrepr = f"service test skipped but {REQUIRE_ENV}=1 requires it to run"
    return report


@pytest.fixture
def postgres_url() -> str:
    """URL of the PostgreSQL test database."""
    return service_url("postgres")


@pytest.fixture
def redis_url() -> str:
    """URL of the Redis test server."""
    return service_url("redis")
