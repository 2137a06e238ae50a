"""``/metrics``: Prometheus text with the seed's hand-computed samples; peers; Redis."""

from __future__ import annotations

import json
import math
import socket

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from tests.unit.service.conftest import Clock, settings_for

from harvester.service import ServiceState, build_metrics, create_app
from harvester.service.state import REDIS_REPORT_KEY, REDIS_UPDATED_KEY
from harvester.store import Store


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples[(name, frozenset(labels.items()))]


def test_metrics_text_holds_the_seed_values(state: ServiceState) -> None:
    with TestClient(create_app(state)) as client:
        response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    s = _samples(response.text)
    assert _value(s, "harvester_equity_total") == 1045.0
    assert _value(s, "harvester_drawdown_percentage") == pytest.approx(100 * 55 / 1100)
    assert _value(s, "harvester_daily_pnl") == 55.0
    assert _value(s, "harvester_positions_open") == 2.0
    assert math.isnan(_value(s, "harvester_g_score"))  # no peer reports it
    assert _value(s, "harvester_signal_conviction", symbol="AAPL", strategy="panic") == 0.8
    aapl = {"symbol": "AAPL", "regime": "trend"}
    assert _value(s, "harvester_expectancy", **aapl, exit_type="all") == pytest.approx(40 / 3)
    assert _value(s, "harvester_expectancy", **aapl, exit_type="take_profit") == 25.0
    assert _value(s, "harvester_win_rate", **aapl, exit_type="stop_loss") == 0.0
    assert _value(s, "harvester_profit_factor", **aapl) == pytest.approx(5.0)
    assert _value(s, "harvester_avg_time_seconds", **aapl) == pytest.approx(32 * 3600)
    assert _value(s, "harvester_regime_stability", **aapl) == 1.0
    assert _value(
        s, "harvester_recommendation_score", symbol="SPY", regime="trend", rule="partial_ladder"
    ) == pytest.approx(0.25)
    assert _value(s, "harvester_reports_generated_total") == 1.0
    assert _value(s, "harvester_last_update_timestamp_seconds") == 1709294400.0
    assert _value(s, "harvester_refresh_duration_seconds_count") == 1.0


def test_build_metrics_uses_only_the_given_registry() -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    build_metrics(first).equity.set(5.0)
    build_metrics(second)  # a second set on another registry does not collide
    assert first.get_sample_value("harvester_equity_total") == 5.0
    assert second.get_sample_value("harvester_equity_total") == 0.0


def _dead_port() -> int:
    with socket.socket() as s:  # bound then closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def peer_text(state: ServiceState) -> str:
    """The /metrics of a second in-process service (same seed), as a live loop with a G-Score."""
    with TestClient(create_app(state)) as client:
        text: str = client.get("/metrics").text
    assert "harvester_g_score NaN" in text
    return text.replace("harvester_g_score NaN", "harvester_g_score 2.0")


def test_peers_are_merged_and_a_dead_one_degrades_health(
    seeded: Store, clock: Clock, peer_text: str
) -> None:
    dead = f"http://127.0.0.1:{_dead_port()}/metrics"
    live = "http://peer.test/metrics"

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.host == "peer.test":
            return httpx.Response(200, text=peer_text)
        return httpx.HTTPTransport().handle_request(request)  # a real loopback connect

    settings = settings_for(seeded, peers=(live, dead))
    service = ServiceState(
        settings, clock=clock, http=httpx.Client(transport=httpx.MockTransport(route))
    )
    with TestClient(create_app(service)) as client:
        health = client.get("/health").json()
        report = client.get("/report").json()
        metrics = _samples(client.get("/metrics").text)
    assert health["status"] == "degraded"
    assert [(p["url"], p["status"]) for p in health["peers"]] == [
        (live, "up"),
        (dead, "unavailable"),
    ]
    assert "ConnectError" in health["peers"][1]["error"]
    merged = {m["name"]: m["value"] for m in report["peers"][0]["metrics"] if not m["labels"]}
    assert merged["harvester_equity_total"] == 1045.0
    assert report["peers"][1]["metrics"] == []
    assert report["performance_by_regime"]["AAPL_trend"]["trades"] == 3  # own data still there
    assert _value(metrics, "harvester_g_score") == 2.0  # taken from the live peer
    assert _value(metrics, "harvester_peer_up", peer=live) == 1.0
    assert _value(metrics, "harvester_peer_up", peer=dead) == 0.0


def test_a_peer_answering_garbage_is_unavailable(seeded: Store, clock: Clock) -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(200, text="{not prometheus"))
    service = ServiceState(
        settings_for(seeded, peers=("http://bad.test/metrics",)),
        clock=clock,
        http=httpx.Client(transport=transport),
    )
    try:
        assert service.health()["peers"][0]["status"] == "unavailable"
    finally:
        service.close()


@pytest.mark.redis
@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_the_report_is_written_to_redis(seeded: Store, clock: Clock, redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.delete(REDIS_REPORT_KEY, REDIS_UPDATED_KEY)
    service = ServiceState(settings_for(seeded, redis_url=redis_url), clock=clock)
    try:
        report = service.report()
        assert service.health()["redis"] == "ok"
        assert json.loads(client.get(REDIS_REPORT_KEY) or b"") == report
        assert float(client.get(REDIS_UPDATED_KEY) or b"nan") == 1709294400.0
        keys = {REDIS_REPORT_KEY.encode(), REDIS_UPDATED_KEY.encode()}
        assert set(client.scan_iter("harvester:obs:*")) == keys  # its only writes
    finally:
        client.delete(REDIS_REPORT_KEY, REDIS_UPDATED_KEY)
        client.close()
        service.close()


class _RefusingRedis:
    """A client whose every write fails as a Redis that went away."""

    def pipeline(self) -> _RefusingRedis:
        return self

    def set(self, *_: object) -> None:
        return None

    def execute(self) -> None:
        raise redis.ConnectionError("Connection refused")


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_redis_down_degrades_health(seeded: Store, clock: Clock) -> None:
    service = ServiceState(settings_for(seeded), clock=clock, redis=_RefusingRedis())
    try:
        health = service.health()
    finally:
        service.close()
    assert health["status"] == "degraded"
    assert health["redis"] == "error: ConnectionError: Connection refused"
