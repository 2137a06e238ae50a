"""The acceptance loop of the research toolkit, end to end: ``optimize`` a strategy, then
``bias-check`` the study it leaves.

- No edge: random-walk prices and random signals. The best of 200 trials looks good in
  sample, and the overfitting checks flag it: a deflated Sharpe probability below 0.95 and
  a probability of backtest overfitting above 0.5. (For skill-less trials the PBO is about
  one half on average — the in-sample best lands anywhere out of sample — so whether it is
  above or below 0.5 depends on the draw: this test fixes the seeds. The DSR flag does not
  depend on them: tests/unit/research/test_bias.py checks several.)
- A planted edge: one symbol of the random walk drifts up strongly; a strategy whose one
  parameter picks which symbol to hold finds it, and the same checks pass it.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from harvester.config.models import HarvesterConfig
from harvester.data.panel import Panel
from harvester.research.bias import overfitting_findings
from harvester.research.folds import plan_folds
from harvester.research.objective import make_objective
from harvester.research.optimize import OptimizeResult, optimize
from harvester.research.spaces import Param
from harvester.strategies.base import Strategy, StrategyOutput
from harvester.strategies.signals import Signals

N_SYMBOLS, N_BARS = 4, 756
# The searched key: any int of the config works, the test strategies only read it.
KEY = "strategies.composer.mean_reversion_lookback"


def _walk(drifts: tuple[float, ...], seed: int) -> Panel:
    """Geometric random walks (1 % daily noise) with the given daily drift per symbol."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 0.01, (N_BARS, N_SYMBOLS)) + np.asarray(drifts)
    close = 100.0 * np.exp(np.cumsum(steps, axis=0))
    fields = {"open": close, "high": close * 1.002, "low": close * 0.998, "close": close,
              "volume": np.full(close.shape, 1e6)}  # fmt: skip
    index = pd.bdate_range("2015-01-02", periods=N_BARS)
    return Panel(index, tuple(f"S{j}" for j in range(N_SYMBOLS)), fields)


def _random_signals(panel: Panel, config: HarvesterConfig) -> StrategyOutput:
    # Coin flips seeded by the parameter; drawn row by row, so a shorter panel gets the same
    # first rows (causal).
    seed = config.strategies.composer.mean_reversion_lookback
    draws = np.random.default_rng(seed).random(panel.shape)
    direction = np.where(draws < 0.05, 1, 0).astype(np.int8)
    exits = draws > 0.9
    signals = Signals(direction, exits, np.ones(panel.shape), np.zeros(panel.shape))
    return StrategyOutput(signals, {})


def _hold_one(panel: Panel, config: HarvesterConfig) -> StrategyOutput:
    # Hold the symbol the parameter picks, closing and reopening every 21 bars.
    pick = config.strategies.composer.mean_reversion_lookback % N_SYMBOLS
    direction = np.zeros(panel.shape, dtype=np.int8)
    direction[:, pick] = 1
    exits = np.zeros(panel.shape, dtype=bool)
    exits[np.arange(panel.shape[0]) % 21 == 20, :] = True
    direction[exits] = 0
    signals = Signals(direction, exits, np.ones(panel.shape), np.zeros(panel.shape))
    return StrategyOutput(signals, {})


def _study(
    strategy: Strategy, panel: Panel, trials: int, param: Param, sampler: str,
    config: HarvesterConfig | None = None,
) -> OptimizeResult:  # fmt: skip
    folds = plan_folds(panel.shape[0], train_len=252, test_len=252, purge=5)
    return optimize(
        panel, strategy, config or HarvesterConfig(), space=(param,),
        objective=make_objective("sharpe"), n_trials=trials, folds=folds,
        sampler=sampler, seed=7,  # type: ignore[arg-type]
    )  # fmt: skip


@cache
def _no_edge() -> OptimizeResult:
    random = Strategy("random", "coin flips", lambda c: c.strategies.composer, _random_signals)
    seeds = Param(KEY, "int", 2, 100_000)
    return _study(random, _walk((0.0,) * N_SYMBOLS, seed=3), 200, seeds, "random")


def test_the_best_of_200_skill_less_trials_looks_good_in_sample() -> None:
    result = _no_edge()
    assert len(result.completed) == 200
    assert result.best is not None and (result.best.value or 0.0) > 0.5


def test_bias_check_flags_the_best_of_200_skill_less_trials() -> None:
    findings, details = overfitting_findings(_no_edge().trial_returns)
    assert details["trials"] == len(_no_edge().completed)
    assert details["dsr_probability"] < 0.95
    assert details["pbo"] > 0.5
    assert [f.severity for f in findings] == ["fail", "fail"]


def test_a_planted_edge_is_found_and_passes() -> None:
    hold = Strategy("hold-one", "hold one symbol", lambda c: c.strategies.composer, _hold_one)
    drifts = (0.0, 0.0, 0.003, 0.0)  # S2 drifts up 0.3 %/day: an annual Sharpe near 5
    # A grid of the 4 symbols (2..5 mod 4): the study stops once each was tried.
    # Wide stops and no target: the position is held between the planned exits.
    wide = HarvesterConfig.model_validate({"risk_management": {
        "stop_loss_atr": 50.0, "take_profit_atr": 100.0, "trailing_stops": {"enabled": False},
    }})  # fmt: skip
    grid = Param(KEY, "int", 2, 5, step=1)
    result = _study(hold, _walk(drifts, seed=3), 10, grid, "grid", wide)
    assert len(result.trials) == 4
    assert result.best is not None and int(result.best.params[KEY]) % N_SYMBOLS == 2
    findings, details = overfitting_findings(result.trial_returns)
    assert details["dsr_probability"] >= 0.95
    assert details["pbo"] <= 0.5
    assert [f.severity for f in findings] == ["info", "info"]
