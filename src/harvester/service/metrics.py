"""The Prometheus metrics of harvester, all named ``harvester_*``, built on a given registry.

:func:`build_metrics` creates them on a registry the caller owns (never the global one), so
the service, the live loop and the event consumer can each expose the ones they fill.

Account (Harvester II's list):

- ``harvester_equity_total``: equity at the last snapshot;
- ``harvester_drawdown_percentage``: drawdown from the running peak in percent (≥ 0);
- ``harvester_positions_open``: open positions; ``harvester_daily_pnl``: the last day's P&L;
- ``harvester_g_score``: the macro-risk G-Score (0–3; NaN while unknown: the service takes
  it from a peer that exports it, e.g. the live loop);
- ``harvester_signal_conviction{symbol,strategy}``: conviction of the latest signals.

Trade analytics (Harvest Optimizer's list, last N trades; NaN = undefined):

- ``harvester_expectancy`` and ``harvester_win_rate`` with ``symbol, regime, exit_type``
  (``exit_type="all"`` is the symbol × regime group over every exit type);
- ``harvester_profit_factor``, ``harvester_payoff_ratio``, ``harvester_exit_efficiency``,
  ``harvester_time_efficiency`` (P&L per hour held), ``harvester_adverse_recovery_rate``,
  ``harvester_avg_time_seconds``, ``harvester_regime_stability`` with ``symbol, regime``;
- ``harvester_recommendation_score{symbol,regime,rule}``: the recommendation's confidence.

Service: ``harvester_peer_up{peer}``; the serving process adds the refresh's own count, time
and histogram (:mod:`harvester.service.refresh_metrics`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from prometheus_client import CollectorRegistry, Gauge

from harvester.analytics.recommendations import Recommendation

__all__ = [
    "ANALYTICS_GAUGES",
    "HarvesterMetrics",
    "build_metrics",
    "set_account",
    "set_analytics",
    "set_convictions",
]

_SECONDS_PER_HOUR = 3600.0
_REGIME = ("symbol", "regime")
_EXIT = ("symbol", "regime", "exit_type")
ALL_EXITS = "all"

# metric suffix → (analytics column, help); symbol × regime gauges.
ANALYTICS_GAUGES: Mapping[str, tuple[str, str]] = {
    "profit_factor": ("profit_factor", "Gross profit over gross loss of the last N trades."),
    "payoff_ratio": ("payoff_ratio", "Average win over average loss."),
    "exit_efficiency": ("exit_efficiency", "Share of the MFE captured at exit (0-1)."),
    "time_efficiency": ("time_efficiency", "Expectancy per hour held (currency per hour)."),
    "adverse_recovery_rate": ("adverse_recovery_rate", "(exit - MAE) / (MFE - MAE), 0-1."),
    "regime_stability": ("regime_stability", "Share of trades whose next trade stays in regime."),
}


@dataclass(frozen=True, slots=True)
class HarvesterMetrics:
    """Every metric of harvester on one registry."""

    registry: CollectorRegistry
    equity: Gauge
    drawdown: Gauge
    positions: Gauge
    daily_pnl: Gauge
    g_score: Gauge
    conviction: Gauge
    expectancy: Gauge
    win_rate: Gauge
    avg_time: Gauge
    by_regime: Mapping[str, Gauge]
    recommendation: Gauge
    peer_up: Gauge


def build_metrics(registry: CollectorRegistry) -> HarvesterMetrics:
    """Create the ``harvester_*`` metrics on ``registry`` (once per registry)."""
    reg = registry

    def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(f"harvester_{name}", doc, labels, registry=reg)

    g_score = gauge("g_score", "Macro-risk G-Score (0-3); NaN while unknown.")
    g_score.set(math.nan)
    return HarvesterMetrics(
        registry=reg,
        equity=gauge("equity_total", "Portfolio equity at the last snapshot."),
        drawdown=gauge("drawdown_percentage", "Drawdown from the running equity peak, percent."),
        positions=gauge("positions_open", "Number of open positions."),
        daily_pnl=gauge("daily_pnl", "Profit or loss of the last day."),
        g_score=g_score,
        conviction=gauge(
            "signal_conviction", "Conviction of the latest signals.", ("symbol", "strategy")
        ),
        expectancy=gauge("expectancy", "Mean P&L per trade of the last N trades.", _EXIT),
        win_rate=gauge("win_rate", "Share of winning trades (0-1).", _EXIT),
        avg_time=gauge("avg_time_seconds", "Average time in trade, seconds.", _REGIME),
        by_regime={k: gauge(k, doc, _REGIME) for k, (_, doc) in ANALYTICS_GAUGES.items()},
        recommendation=gauge(
            "recommendation_score", "Confidence of a recommendation (0-1).", (*_REGIME, "rule")
        ),
        peer_up=gauge(
            "peer_up", "1 when the peer's /metrics answered at the last refresh.", ("peer",)
        ),
    )


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def set_account(
    metrics: HarvesterMetrics, latest: Mapping[str, Any] | None, open_positions: int
) -> None:
    """Equity, drawdown (fraction → percent) and day P&L of the last snapshot; positions."""
    metrics.positions.set(open_positions)
    if latest is None:
        for gauge in (metrics.equity, metrics.drawdown, metrics.daily_pnl):
            gauge.set(math.nan)
        return
    metrics.equity.set(_float(latest.get("equity")))
    metrics.drawdown.set(_float(latest.get("drawdown")) * 100.0)
    metrics.daily_pnl.set(_float(latest.get("day_pnl")))


def set_convictions(metrics: HarvesterMetrics, signals: pd.DataFrame) -> None:
    """One conviction sample per latest signal that has one."""
    metrics.conviction.clear()
    for row in signals.to_dict("records"):
        value = _float(row.get("conviction"))
        if not math.isnan(value):
            metrics.conviction.labels(str(row["symbol"]), str(row["strategy"])).set(value)


def _set_exit_rows(metrics: HarvesterMetrics, frame: pd.DataFrame, exit_type: str | None) -> None:
    for m in frame.to_dict("records"):
        labels = (str(m["symbol"]), str(m["regime"]), exit_type or str(m["exit_type"]))
        metrics.expectancy.labels(*labels).set(_float(m["expectancy"]))
        metrics.win_rate.labels(*labels).set(_float(m["win_rate"]))


def set_analytics(
    metrics: HarvesterMetrics,
    by_regime: pd.DataFrame,
    by_exit: pd.DataFrame,
    recommendations: list[Recommendation],
) -> None:
    """Replace the analytics gauges with the groups of ``by_regime`` / ``by_exit``."""
    gauges = [metrics.expectancy, metrics.win_rate, metrics.avg_time, metrics.recommendation]
    for gauge in [*gauges, *metrics.by_regime.values()]:
        gauge.clear()
    _set_exit_rows(metrics, by_exit, None)
    _set_exit_rows(metrics, by_regime, ALL_EXITS)
    for m in by_regime.to_dict("records"):
        labels = (str(m["symbol"]), str(m["regime"]))
        metrics.avg_time.labels(*labels).set(_float(m["avg_hours"]) * _SECONDS_PER_HOUR)
        for name, (column, _) in ANALYTICS_GAUGES.items():
            metrics.by_regime[name].labels(*labels).set(_float(m[column]))
    for r in recommendations:
        metrics.recommendation.labels(r.symbol, r.regime, r.rule_name).set(r.confidence)
