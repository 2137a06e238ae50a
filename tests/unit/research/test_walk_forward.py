"""Walk-forward runs: stitching, trade counts, test-window isolation and causality."""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harvester.backtest.engine import run_backtest
from harvester.backtest.inputs import market_arrays
from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError
from harvester.data.panel import Panel
from harvester.research.folds import Fold, plan_folds
from harvester.research.report import write_report
from harvester.research.walk_forward import (
    WalkForwardResult,
    walk_forward,
    walk_forward_metrics,
)
from harvester.strategies.base import Strategy, StrategyOutput
from harvester.strategies.registry import STRATEGIES
from harvester.strategies.signals import Signals, empty_signals
from harvester.testing import SyntheticParams, generate_market

TRAIN_LEN, TEST_LEN, PURGE = 252, 126, 5


@cache
def _panel() -> Panel:
    return generate_market(SyntheticParams(symbols=4, years=4, seed=11)).panel


def _plan(n_bars: int) -> tuple[Fold, ...]:
    return plan_folds(n_bars, train_len=TRAIN_LEN, test_len=TEST_LEN, purge=PURGE)


@cache
def _run(name: str) -> WalkForwardResult:
    panel = _panel()
    folds = _plan(panel.shape[0])
    return walk_forward(panel, name, HarvesterConfig(), folds)


@pytest.mark.parametrize("name", ["composer", "consensus"])
def test_stitched_total_return_is_the_product_of_fold_returns(name: str) -> None:
    result = _run(name)
    assert len(result.folds) == 6  # 4 years ≈ 1008 sessions: (1008 - 252) // 126
    product = math.prod(1.0 + f.total_return for f in result.folds) - 1.0
    assert result.metrics["total_return"] == pytest.approx(product, rel=1e-12, abs=1e-15)
    # By hand: each fold's curve is its own curve scaled to start at the previous end.
    level = 100_000.0
    for fold in result.folds:
        own = fold.result.equity["equity"]
        stitched = result.equity.loc[own.index]
        np.testing.assert_allclose(stitched.to_numpy(), own.to_numpy() * level / own.iloc[0])
        level = float(stitched.iloc[-1])
    assert result.equity.iloc[-1] == pytest.approx(level)
    assert result.equity.index.is_monotonic_increasing and result.equity.index.is_unique


@pytest.mark.parametrize("name", ["composer", "consensus"])
def test_fold_trade_counts_add_up_to_the_overall_count(name: str) -> None:
    result = _run(name)
    table = result.fold_table()
    assert int(table["trades"].sum()) == int(result.metrics["number_of_trades"])
    assert result.metrics["number_of_trades"] > 0
    assert list(table["test_bars"]) == [126] * len(result.folds)


def _planted(outside: bool) -> Strategy:
    """Enter long on the bars outside (or, as a control, inside) every test window."""

    def generate(panel: Panel, config: HarvesterConfig) -> StrategyOutput:
        del config
        folds = _plan(_panel().shape[0])
        in_test = np.zeros(panel.shape[0], dtype=bool)
        for fold in folds:
            in_test[fold.test.start : min(fold.test.stop, panel.shape[0])] = True
        rows = ~in_test if outside else in_test
        signals = empty_signals(panel.shape)
        direction = signals.direction.copy()
        direction[rows[: panel.shape[0]], :] = 1
        return StrategyOutput(Signals(direction, *signals[1:]), {})

    return Strategy("planted", "test only", lambda c: c, generate)


def test_a_signal_outside_every_test_window_never_trades() -> None:
    panel = _panel()
    folds = _plan(panel.shape[0])
    outside = walk_forward(panel, _planted(outside=True), HarvesterConfig(), folds)
    assert all(f.result.trades.empty for f in outside.folds)
    assert outside.metrics["total_return"] == 0.0
    inside = walk_forward(panel, _planted(outside=False), HarvesterConfig(), folds)
    assert all(not f.result.trades.empty for f in inside.folds)  # the control trades


@pytest.mark.parametrize("name", ["composer", "consensus"])
def test_each_fold_equals_a_run_that_knows_only_the_history_up_to_its_test_end(
    name: str,
) -> None:
    # The walk-forward generates once on the whole panel; by hand, every fold regenerates
    # on the panel cut after its last test bar, as a trader at that date could.
    panel = _panel()
    strategy = STRATEGIES[name]
    config = strategy.configure(HarvesterConfig())
    for fold in _run(name).folds:
        history = panel.slice(end=fold.test_end)
        rows = slice(fold.fold.test.start, fold.fold.test.stop)
        signals = strategy.generate(history, config).signals
        cut = signals.cut(rows)
        market = market_arrays(history, config).rows(rows)
        test_panel = panel.slice(fold.test_start, fold.test_end)
        by_hand = run_backtest(test_panel, cut, config, market=market)
        pd.testing.assert_frame_equal(by_hand.equity, fold.result.equity)
        pd.testing.assert_frame_equal(
            by_hand.trades, fold.result.trades.drop(columns="regime"), check_dtype=False
        )
        assert (
            fold.result.trades["regime"]
            .isin(["trend", "chop", "volatile", "neutral", "unknown"])
            .all()
        )


@pytest.mark.parametrize("name", ["composer", "consensus", "panic"])
def test_the_metrics_only_walk_forward_gives_the_same_numbers(name: str) -> None:
    panel = _panel()
    folds = _plan(panel.shape[0])
    full = walk_forward(panel, name, HarvesterConfig(), folds)
    equity, metrics = walk_forward_metrics(panel, name, HarvesterConfig(), folds)
    pd.testing.assert_series_equal(equity, full.equity)
    assert metrics.keys() == full.metrics.keys()
    for key, value in full.metrics.items():  # bit for bit: the same trades in the same order
        assert metrics[key] == value or (math.isnan(value) and math.isnan(metrics[key])), key


def test_choose_config_sees_only_training_bars() -> None:
    panel = _panel()
    folds = plan_folds(panel.shape[0], train_len=252, test_len=126, purge=5)
    seen: list[tuple[int, pd.Timestamp]] = []

    def choose(fold: Fold, train: Panel, config: HarvesterConfig) -> HarvesterConfig:
        seen.append((fold.index, train.index[-1]))
        return config

    walk_forward(panel, "consensus", HarvesterConfig(), folds, choose_config=choose)
    assert [i for i, _ in seen] == list(range(len(folds)))
    for (_, last), fold in zip(seen, folds, strict=True):
        assert last == panel.index[fold.test.start - 6]  # 5 purged bars before the test


def test_overlapping_test_windows_cannot_be_stitched() -> None:
    panel = _panel()
    folds = plan_folds(panel.shape[0], train_len=252, test_len=126, stride=63)
    with pytest.raises(ConfigError, match="overlap"):
        walk_forward(panel, "consensus", HarvesterConfig(), folds)


def test_report_files_have_stable_keys(tmp_path: Path) -> None:
    result = _run("consensus")
    written = write_report(result, tmp_path)
    assert [p.name for p in written] == [
        "walk_forward.json",
        "walk_forward.md",
        "walk_forward.html",
    ]
    payload = json.loads((tmp_path / "walk_forward.json").read_text())
    assert list(payload) == [
        "strategy", "config_hash", "data_fingerprint", "plan", "folds", "overall", "extra",
    ]  # fmt: skip
    assert payload["folds"][0]["test_start"] == f"{result.folds[0].test_start:%Y-%m-%d}"
    assert payload["overall"]["number_of_trades"] == result.metrics["number_of_trades"]
    assert "| fold | train_start |" in (tmp_path / "walk_forward.md").read_text()
    assert "data:image/png;base64," in (tmp_path / "walk_forward.html").read_text()
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind
