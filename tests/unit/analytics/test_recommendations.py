"""Each rule fires just past its threshold and not at it; confidence bands; the report shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
from tests.unit.analytics.test_trades_analytics import ten_trades

from harvester.analytics.recommendations import (
    Action,
    Thresholds,
    build_report,
    confidence_level,
    confidence_score,
    recommend,
    recommendations_payload,
)

QUIET = {  # metrics that fire no rule in either regime
    "symbol": "AAA",
    "trades": 50,
    "exit_efficiency": 0.6,
    "expectancy": 1.0,
    "avg_hours": 0.5,
    "time_efficiency": 2.0,
    "adverse_recovery_rate": 0.9,
    "avg_mae": -0.01,
    "avg_mfe": 0.01,
    "payoff_ratio": 1.0,
    "win_rate": 0.6,
}


def _advice(regime: str, **changes: Any) -> list[tuple[str, Action]]:
    row = pd.DataFrame([{**QUIET, "regime": regime, **changes}])
    return [(r.rule_name, r.action) for r in recommend(row)]


MAINTAIN = [("harvest", Action.MAINTAIN)]
CASES = [  # regime, rule, action, firing metrics, the same metrics at the threshold
    ("trend", "partial_ladder", Action.WIDEN, {"exit_efficiency": 0.76}, {"exit_efficiency": 0.75}),
    (
        "trend",
        "time_stop",
        Action.TIGHTEN,
        {"avg_hours": 2.1, "time_efficiency": 0.0},
        {"avg_hours": 2.0, "time_efficiency": 0.0},
    ),
    (
        "trend",
        "stop_loss",
        Action.TIGHTEN,
        {"adverse_recovery_rate": 0.49, "avg_mae": -0.02},
        {"adverse_recovery_rate": 0.5, "avg_mae": -0.02},
    ),
    (
        "chop",
        "partial_25",
        Action.ACCELERATE,
        {"exit_efficiency": 0.49, "avg_mfe": 0.02},
        {"exit_efficiency": 0.5, "avg_mfe": 0.02},
    ),
    (
        "chop",
        "take_profit",
        Action.TIGHTEN,
        {"payoff_ratio": 2.01, "win_rate": 0.49},
        {"payoff_ratio": 2.0, "win_rate": 0.49},
    ),
    (
        "chop",
        "time_stop",
        Action.TIGHTEN,
        {"avg_hours": 1.1, "expectancy": 0.0},
        {"avg_hours": 1.0, "expectancy": 0.0},
    ),
]


@pytest.mark.parametrize(("regime", "rule", "action", "fires", "at_threshold"), CASES)
def test_rule_fires_past_its_threshold_only(
    regime: str, rule: str, action: Action, fires: dict[str, float], at_threshold: dict[str, float]
) -> None:
    assert _advice(regime, **fires) == [(rule, action)]
    assert _advice(regime, **at_threshold) == MAINTAIN


def test_second_conditions_gate_the_rules() -> None:
    assert _advice("trend", exit_efficiency=0.9, expectancy=0.0) == MAINTAIN
    assert _advice("trend", avg_hours=3.0, time_efficiency=0.01) == MAINTAIN
    assert _advice("trend", adverse_recovery_rate=0.1, avg_mae=-0.0199) == MAINTAIN
    assert _advice("chop", exit_efficiency=0.1, avg_mfe=0.0199) == MAINTAIN
    assert _advice("chop", payoff_ratio=3.0, win_rate=0.5) == MAINTAIN
    assert _advice("chop", avg_hours=3.0, expectancy=0.01) == MAINTAIN


def test_only_trend_and_chop_with_enough_trades_get_advice() -> None:
    assert _advice("volatile", exit_efficiency=0.9) == []
    assert _advice("trend", exit_efficiency=0.9, trades=9) == []
    assert _advice("trend", exit_efficiency=0.9, trades=10) == [("partial_ladder", Action.WIDEN)]
    assert _advice("trend", exit_efficiency=float("nan")) == MAINTAIN  # undefined fires nothing


def test_reason_quotes_the_numbers() -> None:
    row = pd.DataFrame(
        [{**QUIET, "regime": "chop", "exit_efficiency": 0.42, "avg_mfe": 0.031, "trades": 57}]
    )
    (rec,) = recommend(row)
    assert "exit efficiency 0.42 < 0.5" in rec.reason and "3.10%" in rec.reason
    assert rec.reason.endswith("(57 trades)")


@pytest.mark.parametrize(
    ("trades", "level", "score"),
    [
        (0, "low", 0.0),
        (10, "low", 0.25),
        (19, "low", 0.475),
        (20, "moderate", 0.5),
        (30, "moderate", 0.65),
        (40, "moderate", 0.8),
        (41, "high", 0.80125),
        (200, "high", 1.0),
        (500, "high", 1.0),
    ],
)
def test_confidence_bands(trades: int, level: str, score: float) -> None:
    assert confidence_level(trades) == level
    assert confidence_score(trades) == pytest.approx(score)


def test_report_shape_on_the_ten_trades() -> None:
    now = datetime(2026, 1, 27, 3, 30, tzinfo=UTC)
    report = build_report(ten_trades(), generated_at=now, thresholds=Thresholds(min_trades=1))
    assert list(report) == [
        "generated_at",
        "analysis_window",
        "performance_by_regime",
        "recommendations",
        "top_performers",
        "improvement_areas",
        "summary",
    ]
    assert report["generated_at"] == "2026-01-27T03:30:00+00:00"
    assert report["analysis_window"] == "Last 200 trades"
    perf = report["performance_by_regime"]
    assert set(perf) == {"AAA_trend", "AAA_chop", "BBB_chop"}
    assert perf["AAA_trend"]["expectancy"] == pytest.approx(5.0)
    assert perf["AAA_chop"]["profit_factor"] is None  # +inf (no losses) is null in JSON
    # BBB chop: exit efficiency 0.125 < 0.5 with average MFE 2.25 %; payoff 6 > 2, win 0.25
    advice = {
        (r["symbol"], r["regime"], r["rule_name"], r["action"]) for r in report["recommendations"]
    }
    assert advice == {
        ("BBB", "chop", "partial_25", "accelerate"),
        ("BBB", "chop", "take_profit", "tighten"),
        ("AAA", "trend", "harvest", "maintain"),
        ("AAA", "chop", "harvest", "maintain"),
    }
    assert all(r["confidence_level"] == "low" for r in report["recommendations"])
    # expectancy: AAA chop 7.5 > AAA trend 5 > BBB chop 3.75; none at or below 0
    assert [(p["symbol"], p["regime"]) for p in report["top_performers"]] == [
        ("AAA", "chop"),
        ("AAA", "trend"),
        ("BBB", "chop"),
    ]
    assert report["improvement_areas"] == []
    # (30 - 10 + 0 + 20 + 15 - 20 - 5 - 5 - 5 + 30) / 10 = 5.00; 4 wins of 10
    assert report["summary"].startswith(
        "10 trades in 3 symbol-regime group(s); expectancy 5.00 per trade, win rate 0.40; "
        "2 change(s) advised (0 high confidence), 2 maintain."
    )
    json.dumps(report, allow_nan=False)  # strictly valid JSON


def test_default_report_needs_ten_trades_per_group() -> None:
    now = datetime(2026, 1, 27, tzinfo=UTC)
    report = build_report(ten_trades(), generated_at=now, window=3)
    assert report["recommendations"] == [] and report["analysis_window"] == "Last 3 trades"
    worst = build_report(ten_trades().assign(pnl=-1.0), generated_at=now)["improvement_areas"]
    assert [w["expectancy"] for w in worst] == [-1.0, -1.0, -1.0]


def test_recommendations_payload() -> None:
    row = pd.DataFrame([{**QUIET, "regime": "trend", "exit_efficiency": 0.8}])
    payload = recommendations_payload(recommend(row), timestamp=1706323200.0)
    assert payload["count"] == 1 and payload["timestamp"] == 1706323200.0
    assert payload["recommendations"][0]["confidence"] == pytest.approx(0.8 + 0.2 * 10 / 160)
