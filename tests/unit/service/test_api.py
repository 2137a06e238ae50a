"""The endpoints' JSON equals numbers computed by hand from the seed (conftest docstring)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from tests.unit.service.conftest import Clock

from harvester.service import ServiceSettings, ServiceState, create_app


@pytest.fixture
def client(state: ServiceState) -> Iterator[TestClient]:
    with TestClient(create_app(state)) as test_client:
        yield test_client


def test_equity_has_hand_computed_drawdown_and_day_pnl(client: TestClient) -> None:
    body = client.get("/api/equity").json()
    rows = body["rows"]
    assert [r["date"] for r in rows] == ["2024-02-26", "2024-02-27", "2024-02-28", "2024-02-29"]
    assert [r["equity"] for r in rows] == [1000.0, 1100.0, 990.0, 1045.0]
    # peak 1000, 1100, 1100, 1100
    assert [r["drawdown"] for r in rows] == pytest.approx([0.0, 0.0, 110 / 1100, 55 / 1100])
    assert [r["day_pnl"] for r in rows] == [None, 100.0, -110.0, 55.0]
    assert body["latest"]["equity"] == 1045.0


def test_positions(client: TestClient) -> None:
    body = client.get("/api/positions").json()
    assert body["count"] == 2
    got = {(p["symbol"], p["side"], p["qty"], p["avg_price"]) for p in body["positions"]}
    assert got == {("AAPL", 1, 10.0, 150.0), ("MSFT", -1, 5.0, 300.0)}


def test_trades_filters_and_order(client: TestClient) -> None:
    everything = client.get("/api/trades").json()
    assert everything["count"] == 14
    assert everything["trades"][0]["exit_date"] == "2024-02-11"  # newest first: SPY's last
    assert everything["filters"] == {
        "symbol": ["AAPL", "MSFT", "SPY"],
        "regime": ["chop", "trend"],
        "exit_type": ["stop_loss", "take_profit", "time_stop"],
    }
    aapl_tp = client.get("/api/trades", params={"symbol": "AAPL", "exit_type": "take_profit"})
    assert [t["pnl"] for t in aapl_tp.json()["trades"]] == [20.0, 30.0]
    chop = client.get("/api/trades", params={"regime": "chop"}).json()["trades"]
    assert [(t["symbol"], t["pnl"]) for t in chop] == [("MSFT", -5.0)]
    assert client.get("/api/trades", params={"limit": 3}).json()["count"] == 3
    assert client.get("/api/trades", params={"limit": 0}).status_code == 422


def test_signals_are_the_latest_day_and_the_watchlist_the_latest_scan(client: TestClient) -> None:
    body = client.get("/api/signals").json()
    assert body["date"] == "2024-02-29"
    assert [(s["symbol"], s["conviction"]) for s in body["signals"]] == [
        ("AAPL", 0.8),
        ("MSFT", 0.6),
    ]
    assert [(w["rank"], w["symbol"]) for w in body["watchlist"]] == [(1, "NVDA"), (2, "AAPL")]


def test_report_matches_hand_computed_analytics(client: TestClient) -> None:
    report = client.get("/report").json()
    aapl = report["performance_by_regime"]["AAPL_trend"]
    assert aapl["trades"] == 3
    assert aapl["expectancy"] == pytest.approx((30 - 10 + 20) / 3)
    assert aapl["win_rate"] == pytest.approx(2 / 3)
    assert aapl["profit_factor"] == pytest.approx(50 / 10)
    assert aapl["payoff_ratio"] == pytest.approx(25 / 10)
    # captured share of MFE: .03/.04, a loss captures 0, .02/.02
    assert aapl["exit_efficiency"] == pytest.approx((0.75 + 0 + 1) / 3)
    # (r - mae) / (mfe - mae): .04/.05, .01/.03, .02/.02
    assert aapl["adverse_recovery_rate"] == pytest.approx((0.8 + 1 / 3 + 1) / 3)
    assert aapl["avg_hours"] == pytest.approx((24 + 48 + 24) / 3)
    assert aapl["time_efficiency"] == pytest.approx((40 / 3) / 32)
    assert report["performance_by_regime"]["MSFT_chop"]["expectancy"] == -5.0
    assert [p["symbol"] for p in report["top_performers"]] == ["AAPL", "SPY"]
    assert [p["symbol"] for p in report["improvement_areas"]] == ["MSFT"]
    assert report["generated_at"] == "2024-03-01T12:00:00+00:00"
    assert report["peers"] == []


def test_recommendations_payload(client: TestClient) -> None:
    body = client.get("/recommendations").json()
    assert body["count"] == 1
    (rec,) = body["recommendations"]
    assert (rec["symbol"], rec["regime"], rec["rule_name"], rec["action"]) == (
        "SPY",
        "trend",
        "partial_ladder",
        "widen",
    )
    assert rec["confidence"] == pytest.approx(0.5 * 10 / 20)  # low: 0.5 * n / 20
    assert body["timestamp"] == 1709294400.0  # 2024-03-01T12:00:00Z


def test_health_ok_and_refresh_follows_the_clock(
    client: TestClient, state: ServiceState, clock: Clock
) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert (health["tracked_configs"], health["redis"], health["peers"]) == (3, "disabled", [])
    first = health["last_update"]
    clock.advance(29)
    assert client.get("/health").json()["last_update"] == first  # still cached
    clock.advance(1)
    assert client.get("/health").json()["last_update"] == first + 30


def test_openapi_lists_every_endpoint(client: TestClient) -> None:
    paths = set(client.get("/openapi.json").json()["paths"])
    assert paths == {
        "/health",
        "/metrics",
        "/report",
        "/recommendations",
        "/api/equity",
        "/api/positions",
        "/api/trades",
        "/api/signals",
    }


def test_a_missing_database_serves_empty_data_and_says_why(tmp_path: Path, clock: Clock) -> None:
    settings = ServiceSettings(database=make_url(f"sqlite:///{tmp_path / 'absent.db'}"))
    with TestClient(create_app(ServiceState(settings, clock=clock))) as client:
        health = client.get("/health").json()
        assert (health["status"], health["tracked_configs"]) == ("degraded", 0)
        assert "no database" in health["database_error"]
        assert client.get("/api/trades").json()["count"] == 0
        assert client.get("/api/equity").json() == {"account": "paper", "latest": None, "rows": []}
        assert client.get("/api/signals").json()["signals"] == []
        assert client.get("/report").json()["summary"] == "No trades to analyse."
        assert client.get("/metrics").status_code == 200
    assert not (tmp_path / "absent.db").exists()
