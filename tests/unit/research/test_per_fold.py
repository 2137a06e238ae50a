"""Per-fold parameter optimisation: inner studies on training bars only."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import pandas as pd
import pytest

from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError
from harvester.data.panel import Panel
from harvester.research.folds import Fold, plan_folds
from harvester.research.objective import make_objective
from harvester.research.per_fold import counting, inner_folds_of, per_fold_optimizer
from harvester.research.report import report_payload
from harvester.research.spaces import Param, apply_params
from harvester.research.walk_forward import walk_forward
from harvester.strategies.base import Strategy, StrategyOutput
from harvester.strategies.registry import STRATEGIES
from harvester.testing import SyntheticParams, generate_market

PURGE = 5
MIN_SOURCES = "strategies.consensus.min_sources"


@cache
def _panel() -> Panel:
    return generate_market(SyntheticParams(symbols=3, years=3, seed=11)).panel


def _folds() -> tuple[Fold, ...]:
    return plan_folds(_panel().shape[0], train_len=252, test_len=126, purge=PURGE)


def _spy(seen: list[tuple[pd.Timestamp, pd.Timestamp]]) -> Strategy:
    base = STRATEGIES["consensus"]

    def generate(panel: Panel, config: HarvesterConfig) -> StrategyOutput:
        seen.append((panel.index[0], panel.index[-1]))
        return base.generate(panel, config)

    return replace(base, generate=generate)


def test_inner_study_never_sees_the_test_window() -> None:
    panel, folds = _panel(), _folds()
    seen: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    spy = _spy(seen)
    space = (Param(MIN_SOURCES, "int", 1, 3),)
    chooser = per_fold_optimizer(
        spy, space=space, objective=make_objective("total_return"), n_trials=2, purge=PURGE, seed=1
    )
    checked: list[int] = []

    def choose(fold: Fold, train: Panel, config: HarvesterConfig) -> HarvesterConfig:
        before = len(seen)
        chosen = chooser(fold, train, config)
        inner = seen[before:]
        assert inner, "the inner study ran the strategy"
        first_train, last_train = panel.index[fold.train[0]], panel.index[fold.train[-1]]
        assert min(start for start, _ in inner) >= first_train
        # the last training bar is PURGE bars before the test window's first bar
        assert max(end for _, end in inner) <= last_train < panel.index[fold.test.start]
        checked.append(fold.index)
        return chosen

    walk_forward(panel, spy, HarvesterConfig(), folds, choose_config=choose)
    assert checked == [f.index for f in folds]
    assert len(chooser.choices) == len(folds)
    assert all(set(c.params) == {MIN_SOURCES} for c in chooser.choices)


def test_a_one_value_grid_equals_the_plain_walk_forward() -> None:
    panel, folds = _panel(), _folds()
    space = (Param(MIN_SOURCES, "categorical", choices=(2,)),)
    chooser = per_fold_optimizer(
        "consensus", space=space, objective=make_objective("total_return"), n_trials=1,
        purge=PURGE, sampler="grid",
    )  # fmt: skip
    tuned = walk_forward(panel, "consensus", HarvesterConfig(), folds, choose_config=chooser)
    fixed = apply_params(HarvesterConfig(), {MIN_SOURCES: 2})
    plain = walk_forward(panel, "consensus", fixed, folds)
    pd.testing.assert_series_equal(tuned.equity, plain.equity)
    pd.testing.assert_frame_equal(tuned.fold_table(), plain.fold_table())
    assert chooser.fold_params() == [{MIN_SOURCES: 2}] * len(folds)
    payload = report_payload(tuned, fold_params=chooser.fold_params())
    assert [f["params"] for f in payload["folds"]] == [{MIN_SOURCES: 2}] * len(folds)


def test_inner_folds_fit_inside_the_training_window() -> None:
    # 100 bars, 3 inner folds: test windows of 100 // 5 = 20 bars after 40 training bars
    inner = inner_folds_of(100, inner_folds=3, purge=2)
    assert [(f.test.start, f.test.stop) for f in inner] == [(40, 60), (60, 80), (80, 100)]
    assert all(f.train[-1] == f.test.start - 3 for f in inner)  # purge of 2 bars
    with pytest.raises(ConfigError, match="too short"):
        inner_folds_of(8, inner_folds=3)


def test_counting_reports_each_fold_before_it_runs() -> None:
    calls: list[tuple[int, int]] = []
    choose = counting(3, lambda done, total: calls.append((done, total)))
    config = HarvesterConfig()
    for fold in _folds()[:3]:
        assert choose(fold, _panel(), config) is config
    assert calls == [(0, 3), (1, 3), (2, 3)]
