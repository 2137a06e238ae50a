"""Regime-aware harvest recommendations and the Harvest Optimizer's report shapes.

The rules read the metrics of one symbol × regime (:func:`harvester.analytics.trades.
trade_analytics` with ``by=("symbol", "regime")``) and only advise: nothing here changes a
config. Groups with fewer than ``min_trades`` (10, as the spec) get no advice.

Trend (regime ``trend``):

- ``partial_ladder`` / widen: exit efficiency > 0.75 and expectancy > 0;
- ``time_stop`` / tighten: average time in trade > 2 h and time efficiency ≤ 0 (P&L per hour);
- ``stop_loss`` / tighten: adverse recovery < 0.5 and average MAE ≤ −0.02 (2 % of entry).

Chop (regime ``chop``):

- ``partial_25`` / accelerate: exit efficiency < 0.5 and average MFE ≥ 0.02;
- ``take_profit`` / tighten: payoff ratio > 2.0 and win rate < 0.5;
- ``time_stop`` / tighten: average time in trade > 1 h and expectancy ≤ 0.

A trend or chop group where no rule fires gets one ``maintain`` (rule ``harvest``). The spec
names "low" and "large" without numbers; the values above are :class:`Thresholds` defaults.
``delay`` is in the spec's action list but none of its rules emits it.

Confidence comes from the trade count: low < 20 (score 0.5·n/20), moderate 20–40
(0.5 + 0.015·(n − 20), 0.5 … 0.8), high > 40 (0.8 + 0.2·(n − 40)/160, capped at 1.0).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import pandas as pd

from harvester.analytics.trades import DEFAULT_WINDOW, last_trades, trade_analytics

__all__ = [
    "REGIME_KEYS",
    "RULES",
    "Action",
    "Recommendation",
    "Thresholds",
    "build_report",
    "confidence_level",
    "confidence_score",
    "recommend",
    "recommendations_payload",
]

REGIME_KEYS = ("symbol", "regime")
_TOP = 3


class Action(StrEnum):
    """What a recommendation advises doing to a rule's setting."""

    WIDEN = "widen"
    TIGHTEN = "tighten"
    ACCELERATE = "accelerate"
    DELAY = "delay"
    MAINTAIN = "maintain"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The numbers of the rules (hours, fractions of entry, currency per trade or hour)."""

    min_trades: int = 10
    trend_exit_efficiency: float = 0.75
    trend_hours: float = 2.0
    low_time_efficiency: float = 0.0
    low_recovery: float = 0.5
    large_mae: float = 0.02
    chop_exit_efficiency: float = 0.5
    high_mfe: float = 0.02
    high_payoff: float = 2.0
    low_win_rate: float = 0.5
    chop_hours: float = 1.0
    low_expectancy: float = 0.0


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One piece of advice for a symbol in a regime; ``reason`` quotes the numbers."""

    symbol: str
    regime: str
    rule_name: str
    action: Action
    reason: str
    trades: int

    @property
    def confidence(self) -> float:
        return confidence_score(self.trades)

    @property
    def confidence_level(self) -> str:
        return confidence_level(self.trades)

    def to_dict(self) -> dict[str, Any]:
        """The spec's JSON shape (plus the trade count and the confidence level)."""
        return {
            "symbol": self.symbol,
            "regime": self.regime,
            "rule_name": self.rule_name,
            "action": self.action.value,
            "confidence": round(self.confidence, 4),
            "confidence_level": self.confidence_level,
            "trades": self.trades,
            "reason": self.reason,
        }


def confidence_level(trades: int) -> str:
    """``high`` above 40 trades, ``moderate`` from 20 to 40, ``low`` below 20."""
    if trades > 40:
        return "high"
    return "moderate" if trades >= 20 else "low"


def confidence_score(trades: int) -> float:
    """A 0–1 score inside the spec's band of the level (see the module docstring)."""
    if trades > 40:
        return min(1.0, 0.8 + 0.2 * (trades - 40) / 160)
    if trades >= 20:
        return 0.5 + 0.015 * (trades - 20)
    return 0.5 * max(trades, 0) / 20


def _num(value: float) -> str:
    return f"{value:.2f}" if math.isfinite(value) else str(value)


Row = Mapping[Hashable, Any]
Rule = Callable[[Row, Thresholds], str | None]


def _partial_ladder(m: Row, t: Thresholds) -> str | None:
    eff, exp = m["exit_efficiency"], m["expectancy"]
    if eff > t.trend_exit_efficiency and exp > 0:
        return (
            f"exit efficiency {_num(eff)} > {t.trend_exit_efficiency} and expectancy "
            f"{_num(exp)} > 0: trends persist, let winners run longer"
        )
    return None


def _trend_time_stop(m: Row, t: Thresholds) -> str | None:
    hours, te = m["avg_hours"], m["time_efficiency"]
    if hours > t.trend_hours and te <= t.low_time_efficiency:
        return (
            f"average time in trade {_num(hours)} h > {t.trend_hours} h and time efficiency "
            f"{_num(te)}/h <= {t.low_time_efficiency}: capital tied up too long"
        )
    return None


def _stop_loss(m: Row, t: Thresholds) -> str | None:
    rec, mae = m["adverse_recovery_rate"], m["avg_mae"]
    if rec < t.low_recovery and mae <= -t.large_mae:
        return (
            f"adverse recovery {_num(rec)} < {t.low_recovery} and average MAE {mae:.2%} "
            f"<= -{t.large_mae:.2%}: not recovering from drawdown"
        )
    return None


def _partial_25(m: Row, t: Thresholds) -> str | None:
    eff, mfe = m["exit_efficiency"], m["avg_mfe"]
    if eff < t.chop_exit_efficiency and mfe >= t.high_mfe:
        return (
            f"exit efficiency {_num(eff)} < {t.chop_exit_efficiency} and average MFE "
            f"{mfe:.2%} >= {t.high_mfe:.2%}: quick mean reversion, take profits earlier"
        )
    return None


def _take_profit(m: Row, t: Thresholds) -> str | None:
    payoff, wr = m["payoff_ratio"], m["win_rate"]
    if payoff > t.high_payoff and wr < t.low_win_rate:
        return (
            f"payoff ratio {_num(payoff)} > {t.high_payoff} and win rate {_num(wr)} < "
            f"{t.low_win_rate}: targets too ambitious for chop"
        )
    return None


def _chop_time_stop(m: Row, t: Thresholds) -> str | None:
    hours, exp = m["avg_hours"], m["expectancy"]
    if hours > t.chop_hours and exp <= t.low_expectancy:
        return (
            f"average time in trade {_num(hours)} h > {t.chop_hours} h and expectancy "
            f"{_num(exp)} <= {t.low_expectancy}: chop requires faster exits"
        )
    return None


RULES: dict[str, tuple[tuple[str, Action, Rule], ...]] = {
    "trend": (
        ("partial_ladder", Action.WIDEN, _partial_ladder),
        ("time_stop", Action.TIGHTEN, _trend_time_stop),
        ("stop_loss", Action.TIGHTEN, _stop_loss),
    ),
    "chop": (
        ("partial_25", Action.ACCELERATE, _partial_25),
        ("take_profit", Action.TIGHTEN, _take_profit),
        ("time_stop", Action.TIGHTEN, _chop_time_stop),
    ),
}


def _advise(m: Row, t: Thresholds) -> list[Recommendation]:
    n, symbol, regime = int(m["trades"]), str(m["symbol"]), str(m["regime"])
    found = []
    for name, action, rule in RULES.get(regime, ()):
        reason = rule(m, t)  # NaN compares False: an undefined metric fires nothing
        if reason is not None:
            found.append(Recommendation(symbol, regime, name, action, f"{reason} ({n} trades)", n))
    if not found:
        reason = f"no {regime} rule fires over {n} trades: current settings hold"
        found.append(Recommendation(symbol, regime, "harvest", Action.MAINTAIN, reason, n))
    return found


def recommend(
    by_regime: pd.DataFrame, thresholds: Thresholds | None = None
) -> list[Recommendation]:
    """Advice for every trend/chop group of ``by_regime`` with at least ``min_trades``."""
    t = thresholds or Thresholds()
    rows = by_regime[by_regime["regime"].isin(list(RULES)) & (by_regime["trades"] >= t.min_trades)]
    return [rec for m in rows.to_dict("records") for rec in _advise(m, t)]


def _clean(value: Any) -> Any:
    """JSON-safe: Python floats, non-finite → None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalar
        return _clean(value.item())
    return value


_PERFORMANCE = (
    "trades",
    "expectancy",
    "profit_factor",
    "payoff_ratio",
    "win_rate",
    "exit_efficiency",
    "time_efficiency",
    "adverse_recovery_rate",
    "avg_hours",
    "regime_stability",
    "expectancy_smoothed",
)


def _performance(by_regime: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {
        f"{m['symbol']}_{m['regime']}": {
            "symbol": m["symbol"],
            "regime": m["regime"],
            **{k: _clean(m[k]) for k in _PERFORMANCE},
        }
        for m in by_regime.to_dict("records")
    }


def _ranked(by_regime: pd.DataFrame, *, best: bool) -> list[dict[str, Any]]:
    side = (
        by_regime[by_regime["expectancy"] > 0] if best else by_regime[by_regime["expectancy"] <= 0]
    )
    ranked = side.sort_values(["expectancy", "symbol", "regime"], ascending=[not best, True, True])
    keys = ("symbol", "regime", "expectancy", "profit_factor", "win_rate", "trades")
    return [{k: _clean(m[k]) for k in keys} for m in ranked.head(_TOP).to_dict("records")]


def _summary(recent: pd.DataFrame, by_regime: pd.DataFrame, recs: list[Recommendation]) -> str:
    if recent.empty:
        return "No trades to analyse."
    pnl = recent["pnl"].to_numpy(dtype=float)
    advice = [r for r in recs if r.action is not Action.MAINTAIN]
    high = sum(r.confidence_level == "high" for r in advice)
    return (
        f"{len(recent)} trades in {len(by_regime)} symbol-regime group(s); expectancy "
        f"{pnl.mean():.2f} per trade, win rate {(pnl > 0).mean():.2f}; {len(advice)} "
        f"change(s) advised ({high} high confidence), {len(recs) - len(advice)} maintain."
    )


def build_report(
    trades: pd.DataFrame,
    *,
    generated_at: datetime,
    window: int = DEFAULT_WINDOW,
    thresholds: Thresholds | None = None,
) -> dict[str, Any]:
    """The spec's ``/report`` JSON: performance by regime, advice, best, worst, summary.

    ``top_performers`` are the (up to 3) groups with the highest positive expectancy;
    ``improvement_areas`` the (up to 3) with the lowest expectancy at or below 0.
    """
    by_regime = trade_analytics(trades, window=window, by=REGIME_KEYS)
    recs = recommend(by_regime, thresholds)
    return {
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "analysis_window": f"Last {window} trades",
        "performance_by_regime": _performance(by_regime),
        "recommendations": [r.to_dict() for r in recs],
        "top_performers": _ranked(by_regime, best=True),
        "improvement_areas": _ranked(by_regime, best=False),
        "summary": _summary(last_trades(trades, window), by_regime, recs),
    }


def recommendations_payload(recs: list[Recommendation], *, timestamp: float) -> dict[str, Any]:
    """The spec's ``/recommendations`` JSON."""
    return {
        "recommendations": [r.to_dict() for r in recs],
        "count": len(recs),
        "timestamp": timestamp,
    }
