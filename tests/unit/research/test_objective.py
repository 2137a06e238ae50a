"""Objectives: the Composer composite score by hand, metric objectives and their direction."""

from __future__ import annotations

import math

import pytest

from harvester.core.errors import ConfigError
from harvester.research.objective import CompositeWeights, composite_score, make_objective


def test_composite_score_worked_example() -> None:
    metrics = {
        "cagr": 0.12, "sharpe": 1.1, "win_rate": 0.55, "average_trade_return": 0.004,
        "max_drawdown": -0.25, "number_of_trades": 6.0,
    }  # fmt: skip
    # 0.12 + 0.5·1.1 + 0.25·0.55 + 1·0.004 = 0.8115; − 2·(0.25 − 0.20) − 1·(10 − 6)/10
    assert composite_score(metrics) == pytest.approx(0.8115 - 0.10 - 0.40, abs=1e-12)
    assert make_objective("composite")(metrics) == pytest.approx(0.3115, abs=1e-12)


def test_composite_score_without_penalties_and_with_custom_weights() -> None:
    metrics = {
        "cagr": 0.10, "sharpe": 2.0, "win_rate": 0.6, "average_trade_return": 0.01,
        "max_drawdown": -0.05, "number_of_trades": 40.0,
    }  # fmt: skip
    assert composite_score(metrics) == pytest.approx(0.10 + 1.0 + 0.15 + 0.01)
    weights = CompositeWeights(alpha_cagr=2.0, beta_sharpe=0.0, gamma_win_rate=0.0,
                               delta_avg_return=0.0, drawdown_limit=0.0)  # fmt: skip
    assert composite_score(metrics, weights) == pytest.approx(0.20 - 2.0 * 0.05)


def test_composite_score_counts_nan_terms_as_zero() -> None:
    metrics = {
        "cagr": 0.0,
        "sharpe": math.nan,
        "win_rate": math.nan,
        "average_trade_return": math.nan,
        "max_drawdown": 0.0,
        "number_of_trades": 0.0,
    }
    assert composite_score(metrics) == pytest.approx(-1.0)  # the full trade penalty


def test_metric_objectives_and_directions() -> None:
    metrics = {"sharpe": 1.5, "annual_volatility": 0.2}
    sharpe = make_objective("Sharpe")
    assert sharpe(metrics) == 1.5 and sharpe.direction == "maximize"
    vol = make_objective("annual_volatility")
    assert vol.direction == "minimize" and vol.better(0.1, 0.2)
    assert math.isnan(make_objective("calmar")(metrics))
    assert make_objective("composite").weights.as_dict()["min_trades"] == 10.0


def test_unknown_objective_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown objective 'sharp'.*composite, total_return"):
        make_objective("sharp")
