"""The service switch: skip with a reason on a user's machine, fail under CI."""

from __future__ import annotations

import socket

import pytest

MARKED_TEST = """
import pytest

@pytest.mark.redis
def test_needs_redis(redis_url):
    assert redis_url

@pytest.mark.postgres
def test_needs_postgres(postgres_url):
    pytest.skip("driver missing")
"""

CONFIG = """
[pytest]
markers =
    postgres: needs PostgreSQL
    redis: needs Redis
"""


@pytest.fixture
def closed_port_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Port 1 on loopback is never served, so the connection is refused at once.
    monkeypatch.setenv("HARVESTER_TEST_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("HARVESTER_TEST_POSTGRES_URL", "postgresql://127.0.0.1:1/test")


def test_unreachable_service_skips_with_reason(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, closed_port_env: None
) -> None:
    monkeypatch.delenv("HARVESTER_REQUIRE_SERVICES", raising=False)
    pytester.makeini(CONFIG)
    pytester.makepyfile(MARKED_TEST)
    result = pytester.runpytest("-p", "harvester.testing.services", "-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*redis not reachable at 127.0.0.1:1*"])


def test_required_services_turn_skips_into_failures(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, closed_port_env: None
) -> None:
    monkeypatch.setenv("HARVESTER_REQUIRE_SERVICES", "1")
    pytester.makeini(CONFIG)
    pytester.makepyfile(MARKED_TEST)
    result = pytester.runpytest("-p", "harvester.testing.services")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*HARVESTER_REQUIRE_SERVICES=1 forbids skipping*"])
    assert result.ret != 0


def test_required_services_fail_a_marked_test_that_skips_itself(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        monkeypatch.setenv("HARVESTER_TEST_POSTGRES_URL", f"postgresql://127.0.0.1:{port}/test")
        monkeypatch.setenv("HARVESTER_TEST_REDIS_URL", f"redis://127.0.0.1:{port}/0")
        monkeypatch.setenv("HARVESTER_REQUIRE_SERVICES", "1")
        pytester.makeini(CONFIG)
        pytester.makepyfile(MARKED_TEST)
        result = pytester.runpytest("-p", "harvester.testing.services")
    # The redis test passes; the postgres test skipped itself and is turned into a failure.
    result.assert_outcomes(passed=1, failed=1)
