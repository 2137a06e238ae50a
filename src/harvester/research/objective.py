"""Optimisation objectives: one metric of the out-of-sample run, or the composite score.

An :class:`Objective` turns the metrics of a walk-forward's stitched out-of-sample result
(the dict of :func:`harvester.analytics.metrics.compute_metrics`) into the one number a study
maximises (or minimises, for ``annual_volatility``, ``max_drawdown_duration_bars`` and
``turnover``). Its name is a metric key (``sharpe``, ``cagr``, ``calmar``, ``sortino``,
``total_return``, ``win_rate`` ...) or ``composite``.

The composite score (Composer spec, "Level 2: performance weight optimisation")::

    score = α·CAGR + β·Sharpe + γ·WinRate + δ·AvgReturn
            − λ_dd · max(0, |MaxDrawdown| − dd_limit)
            − λ_trades · max(0, min_trades − trades) / min_trades

with CAGR, win rate, average trade return and max drawdown as fractions (0.12 = 12 %). The
spec names the terms but gives no numbers; the defaults (:class:`CompositeWeights`) are
α = 1, β = 0.5, γ = 0.25, δ = 1, dd_limit = 0.20, λ_dd = 2, min_trades = 10,
λ_trades = 1: a Sharpe of 1 weighs like 50 % CAGR, a drawdown 10 points past 20 % costs
0.2, and a run with no closed trade loses a full point. A NaN term (no trades: win rate and
average return are NaN; a flat curve: Sharpe is NaN) counts as 0.

Worked example (``tests/unit/research/test_objective.py``): CAGR 0.12, Sharpe 1.1, win rate
0.55, average trade return 0.004, max drawdown −0.25, 6 trades::

    0.12 + 0.5·1.1 + 0.25·0.55 + 1·0.004 = 0.8115
    − 2·(0.25 − 0.20)                    = − 0.10
    − 1·(10 − 6)/10                      = − 0.40
    score                                = 0.3115
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Literal

from harvester.core.errors import ConfigError

__all__ = [
    "COMPOSITE",
    "METRIC_NAMES",
    "MINIMIZED",
    "CompositeWeights",
    "Objective",
    "composite_score",
    "make_objective",
]

COMPOSITE = "composite"
METRIC_NAMES: tuple[str, ...] = (
    "total_return", "cagr", "annual_volatility", "sharpe", "sortino", "calmar",
    "max_drawdown", "max_drawdown_duration_bars", "number_of_trades", "win_rate",
    "profit_factor", "average_trade_return", "average_trade", "expectancy",
    "payoff_ratio", "exposure", "turnover", "best_period", "worst_period", "end_equity",
)  # fmt: skip
"""The metric keys an objective may name (those of ``compute_metrics`` that rank runs)."""

MINIMIZED = frozenset({"annual_volatility", "max_drawdown_duration_bars", "turnover"})
"""Metrics where lower is better; every other objective is maximised."""

Direction = Literal["maximize", "minimize"]


@dataclass(frozen=True, slots=True)
class CompositeWeights:
    """The composite score's weights and penalties (see the module docstring)."""

    alpha_cagr: float = 1.0
    beta_sharpe: float = 0.5
    gamma_win_rate: float = 0.25
    delta_avg_return: float = 1.0
    drawdown_limit: float = 0.20
    drawdown_penalty: float = 2.0
    min_trades: int = 10
    trades_penalty: float = 1.0

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


def _term(metrics: Mapping[str, float], key: str) -> float:
    value = float(metrics.get(key, math.nan))
    return value if math.isfinite(value) else 0.0


def composite_score(
    metrics: Mapping[str, float], weights: CompositeWeights = CompositeWeights()
) -> float:
    """The Composer composite score of ``metrics`` (formula in the module docstring)."""
    w = weights
    gain = (
        w.alpha_cagr * _term(metrics, "cagr")
        + w.beta_sharpe * _term(metrics, "sharpe")
        + w.gamma_win_rate * _term(metrics, "win_rate")
        + w.delta_avg_return * _term(metrics, "average_trade_return")
    )
    excess_drawdown = max(0.0, abs(_term(metrics, "max_drawdown")) - w.drawdown_limit)
    trades = _term(metrics, "number_of_trades")
    shortfall = max(0.0, w.min_trades - trades) / w.min_trades if w.min_trades > 0 else 0.0
    return gain - w.drawdown_penalty * excess_drawdown - w.trades_penalty * shortfall


@dataclass(frozen=True, slots=True)
class Objective:
    """A named score of out-of-sample metrics and the direction the study pushes it."""

    name: str
    weights: CompositeWeights = field(default_factory=CompositeWeights)

    @property
    def direction(self) -> Direction:
        return "minimize" if self.name in MINIMIZED else "maximize"

    def __call__(self, metrics: Mapping[str, float]) -> float:
        """The score; NaN when the metric is NaN (the trial then fails with a reason)."""
        if self.name == COMPOSITE:
            return composite_score(metrics, self.weights)
        return float(metrics.get(self.name, math.nan))

    def better(self, a: float, b: float) -> bool:
        """True when score ``a`` beats score ``b``."""
        return a < b if self.direction == "minimize" else a > b

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {"name": self.name, "direction": self.direction}
        if self.name == COMPOSITE:
            out["weights"] = self.weights.as_dict()
        return out


def make_objective(name: str, weights: CompositeWeights | None = None) -> Objective:
    """The objective called ``name`` (``composite`` or a metric key).

    Raises
    ------
    ConfigError
        On an unknown name (the message lists the known ones).
    """
    key = name.strip().lower()
    if key != COMPOSITE and key not in METRIC_NAMES:
        known = ", ".join((COMPOSITE, *METRIC_NAMES))
        raise ConfigError(f"unknown objective {name!r}; choose one of {known}")
    return Objective(key, weights or CompositeWeights())
