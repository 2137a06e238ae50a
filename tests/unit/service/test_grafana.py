"""The shipped Grafana dashboard: Grafana's import format, 12 panels, only exported metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from harvester.service import build_metrics
from harvester.service.refresh_metrics import RefreshMetrics

DASHBOARD = Path(__file__).parents[3] / "deploy" / "grafana" / "harvester-dashboard.json"
SPEC_PANELS = [  # the Harvest Optimizer spec's list, in order
    "Expectancy by Regime",
    "Profit Factor by Regime",
    "Exit Efficiency",
    "Time Efficiency",
    "Win Rate by Regime",
    "Payoff Ratio",
    "Adverse Recovery Rate",
    "Average Time in Trade",
    "Recommendation Scores",
    "Regime Stability",
    "Reports Generated",
    "Last Update",
]
# Series names each metric type exposes (the Prometheus exposition format's suffixes).
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gauge": ("",),
    "summary": ("", "_sum", "_count", "_created"),
}


def _exported() -> set[str]:
    registry = CollectorRegistry()
    build_metrics(registry)
    RefreshMetrics.create(registry)  # the serving process's own, in the same scrape
    return {f.name + s for f in registry.collect() for s in SUFFIXES[f.type]}


def _metric_names(expr: str) -> set[str]:
    """Identifiers that name a metric: not a function call, label, keyword or range."""
    no_labels = re.sub(r"\{[^}]*\}", "", expr)
    no_ranges = re.sub(r"\[[^\]]*\]", "", no_labels)
    no_groupings = re.sub(r"\b(by|without)\s*\([^)]*\)", "", no_ranges)
    names = re.findall(r"(?<![\w.])[A-Za-z_:][\w:]*\b(?!\s*\()", no_groupings)
    return {n for n in names if not n[0].isdigit()} - {"sum", "avg", "rate", "time"}


def _load() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text(encoding="utf-8")))


def test_import_format() -> None:
    dashboard = _load()
    assert dashboard["title"]
    assert dashboard["__inputs"][0]["name"] == "DS_PROMETHEUS"
    assert dashboard["__inputs"][0]["pluginId"] == "prometheus"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(set(ids)) == len(ids)
    for panel in dashboard["panels"]:
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        assert panel["type"] in {"timeseries", "table", "gauge", "stat"}
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}"
        assert all(t["datasource"]["uid"] == "${DS_PROMETHEUS}" for t in panel["targets"])


def test_the_spec_s_twelve_panels() -> None:
    assert [p["title"] for p in _load()["panels"]] == SPEC_PANELS


def test_every_query_names_only_metrics_the_service_exports() -> None:
    exported = _exported()
    for panel in _load()["panels"]:
        for target in panel["targets"]:
            names = _metric_names(target["expr"])
            assert names, f"{panel['title']}: no metric in {target['expr']!r}"
            assert names <= exported, f"{panel['title']}: {names - exported} not exported"


def test_the_name_parser() -> None:
    expr = 'histogram_quantile(0.99, sum by (le) (rate(harvester_x_bucket{a="b"}[5m])))'
    assert _metric_names(expr) == {"harvester_x_bucket"}
    assert _metric_names("time() - harvester_last") == {"harvester_last"}
    assert "harvester_reports_generated_total" in _exported()
    assert "harvester_reports_generated" not in _exported()
