"""Every registered strategy is causal: its output at bar t ignores every bar after t.

For each strategy, the signals (direction, exit, size, score) and every explaining array are
computed on the full synthetic panel and on the panel cut after bar t, for several t; rows
up to t must be identical (NaN equal to NaN). A strategy planted here that trades on
tomorrow's close is caught by the same check.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from harvester.config.models import HarvesterConfig
from harvester.data.panel import Panel
from harvester.strategies.base import Strategy, StrategyOutput
from harvester.strategies.registry import STRATEGIES
from harvester.strategies.signals import Signals
from harvester.testing import SyntheticParams, generate_market

CUTS = (0.35, 0.6, 0.85)


@cache
def _panel() -> Panel:
    return generate_market(SyntheticParams(symbols=4, years=4, seed=23)).panel


def _config(name: str) -> HarvesterConfig:
    # Short walk-forward windows so the model-based strategies trade on four years of data.
    overrides = {"rally": {"strategies": {"rally": {"train_years": 1.0, "test_years": 0.5}}}}
    return HarvesterConfig.model_validate(overrides.get(name, {}))


def _arrays(output: StrategyOutput) -> dict[str, np.ndarray]:
    arrays = {
        f"signals.{k}": np.asarray(v, np.float64) for k, v in output.signals._asdict().items()
    }
    return arrays | {f"details.{k}": np.asarray(v, np.float64) for k, v in output.details.items()}


def _first_leak(strategy: Strategy, config: HarvesterConfig) -> str | None:
    panel = _panel()
    full = _arrays(strategy.generate(panel, config))
    for share in CUTS:
        t = int(share * panel.shape[0])
        cut = _arrays(strategy.generate(panel.slice(end=panel.index[t]), config))
        for name, values in cut.items():
            if not np.array_equal(values[: t + 1], full[name][: t + 1], equal_nan=True):
                return f"{name} changes at or before bar {t} when later bars are removed"
    return None


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_strategy_is_causal(name: str) -> None:
    assert _first_leak(STRATEGIES[name], _config(name)) is None


def _peeking(panel: Panel, config: HarvesterConfig) -> StrategyOutput:
    close = panel.array("close")
    tomorrow = np.vstack([close[1:], np.full((1, close.shape[1]), np.nan)])
    direction = np.where(tomorrow > close, 1, 0).astype(np.int8)
    shape = close.shape
    signals = Signals(direction, np.zeros(shape, bool), np.ones(shape), np.zeros(shape))
    return StrategyOutput(signals, {"tomorrow": tomorrow})


def test_a_strategy_that_reads_tomorrow_is_caught() -> None:
    planted = Strategy("peek", "buys when tomorrow closes higher", lambda c: c, _peeking)
    assert _first_leak(planted, HarvesterConfig()) is not None
