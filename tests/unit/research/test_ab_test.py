"""A/B tests: a variant against itself is no difference; a planted better variant wins."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError
from harvester.data.panel import Panel
from harvester.research.ab_test import ab_markdown, ab_payload, ab_test, layer_config, toggle_config
from harvester.research.folds import plan_folds
from harvester.strategies.base import Strategy, StrategyOutput
from harvester.strategies.signals import Signals
from harvester.testing import SyntheticParams, generate_market


def test_a_variant_against_itself_is_exactly_no_difference() -> None:
    panel = generate_market(SyntheticParams(symbols=4, years=3, seed=5)).panel
    folds = plan_folds(panel.shape[0], train_len=252, test_len=126, purge=5)
    config = HarvesterConfig()
    result = ab_test(panel, "composer", config, config, folds, n_boot=300)
    assert result.sharpe_difference == 0.0
    assert result.bootstrap.ci == (0.0, 0.0)
    assert result.test.p_value == 1.0
    assert all(v == 0.0 for v in result.differences.values())
    assert result.folds_b_better == 0.0
    assert result.verdict == "no significant difference"
    assert math.isnan(result.conviction["a"])  # composer has no conviction
    payload = ab_payload(result)
    assert payload["sharpe_difference"]["difference"] == 0.0
    assert "no significant difference" in ab_markdown(payload)


def _two_symbol_panel(seed: int = 11, bars: int = 1000) -> Panel:
    """TREND drifts up 0.2 %/day with 1 % noise; FLAT is a driftless random walk."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2015-01-01", periods=bars)
    returns = np.column_stack([rng.normal(0.002, 0.01, bars), rng.normal(0.0, 0.01, bars)])
    close = 100 * np.cumprod(1 + returns, axis=0)
    opens = np.vstack([close[:1], close[:-1]])
    fields = {
        "open": opens, "high": np.maximum(opens, close) * 1.002,
        "low": np.minimum(opens, close) * 0.998, "close": close,
        "volume": np.full(close.shape, 1e6),
    }  # fmt: skip
    return Panel(index=index, symbols=("TREND", "FLAT"), fields=fields)


def _pick(panel: Panel, config: HarvesterConfig) -> StrategyOutput:
    """Always long one symbol: TREND when bayesian.enabled, else FLAT (a planted edge)."""
    shape = panel.shape
    direction = np.zeros(shape, np.int8)
    direction[:, 0 if config.bayesian.enabled else 1] = 1
    conviction = np.linspace(0.0, 1.0, shape[0])[:, None] * np.ones(shape)
    signals = Signals(direction, np.zeros(shape, bool), np.ones(shape), np.zeros(shape))
    return StrategyOutput(signals, {"conviction": conviction})


def test_a_planted_better_variant_is_significantly_better() -> None:
    panel = _two_symbol_panel()
    folds = plan_folds(panel.shape[0], train_len=200, test_len=100)
    strategy = Strategy("pick", "long TREND or FLAT", lambda c: c, _pick)
    config_a = layer_config(HarvesterConfig(), {"bayesian": {"enabled": False}})
    config_b = toggle_config(config_a, "bayesian.enabled")
    assert config_b.bayesian.enabled
    result = ab_test(panel, strategy, config_a, config_b, folds, n_boot=500)
    assert result.verdict == "B significantly better", ab_markdown(ab_payload(result))
    assert result.sharpe_difference > 1.0
    assert result.bootstrap.ci[0] > 0
    assert result.test.p_value < 0.01
    assert result.folds_b_better >= 0.75
    assert result.differences["total_return"] > 0


def test_toggle_needs_a_boolean_key() -> None:
    with pytest.raises(ConfigError, match="not a boolean"):
        toggle_config(HarvesterConfig(), "bayesian")
    with pytest.raises(ConfigError, match="no such config key"):
        toggle_config(HarvesterConfig(), "bayesian.nope")
    with pytest.raises(ConfigError):
        layer_config(HarvesterConfig(), {"nope": 1})
