"""Rally's label, fold plan, purge, calibration, reports and persistence."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.config.models import HarvesterConfig
from harvester.data.panel import Panel
from harvester.strategies._rally_label import calibrate_thresholds, rally_label, simple_atr
from harvester.strategies._rally_model import (
    Fold,
    fit_fold,
    load_model,
    plan_folds,
    save_model,
    write_fold_report,
)
from harvester.strategies.rally import RallyFit, fit_walk_forward, predict_panel
from harvester.testing import SyntheticParams, generate_market

HORIZON = 10


def _config(**rally: object) -> HarvesterConfig:
    values = {"train_years": 2.0, "test_years": 1.0, "hmm_n_iter": 30, **rally}
    return HarvesterConfig.model_validate({"strategies": {"rally": values}})


@cache
def _panel() -> Panel:
    return generate_market(SyntheticParams(symbols=4, years=4, seed=11)).panel


@cache
def _fit() -> RallyFit:
    return fit_walk_forward(_panel(), _config())


# --- (4) the label, by hand ---------------------------------------------------------------


def test_label_by_hand_on_a_tiny_series() -> None:
    # ATR fixed at 1, close 10: the up barrier is 12 (r_up 2), the down barrier 9 (d_dn 1).
    close = np.full((7, 2), 10.0)
    high = np.full((7, 2), 10.5)
    low = np.full((7, 2), 9.5)
    high[2, 0] = 12.1  # symbol 0: up barrier on bar 2
    low[3, 0] = 8.9  # symbol 0: down barrier on bar 3
    high[1, 1], low[1, 1] = 12.5, 8.5  # symbol 1: both barriers on bar 1 -> counts as down
    label = rally_label(high, low, close, np.ones((7, 2)), horizon=3, r_up=2.0, d_dn=1.0)
    nan = np.nan
    expected = np.array(
        [
            [1.0, 0.0],  # t=0: bar 2 reaches 12 first / both on bar 1
            [1.0, 0.0],  # t=1: bar 2 up / nothing in bars 2..4
            [0.0, 0.0],  # t=2: bar 3 falls to 8.9 first / nothing
            [0.0, 0.0],  # t=3: bars 4..6 stay inside
            [nan, nan],  # t=4..6: the 3-bar window is incomplete
            [nan, nan],
            [nan, nan],
        ]
    )
    np.testing.assert_array_equal(label, expected)


def test_label_per_symbol_thresholds_and_missing_atr() -> None:
    close = np.full((4, 2), 100.0)
    high = np.array([[100.0, 100.0], [101.5, 101.5], [100.0, 100.0], [100.0, 100.0]])
    low = np.full((4, 2), 99.0)
    atr = np.array([[1.0, 1.0], [1.0, 1.0], [np.nan, 1.0], [1.0, 1.0]])
    label = rally_label(high, low, close, atr, horizon=1, r_up=np.array([1.5, 2.0]), d_dn=1.5)
    # t=0: the high 101.5 reaches 100 + 1.5 for symbol 0, not 100 + 2 for symbol 1.
    np.testing.assert_array_equal(label[0], [1.0, 0.0])
    assert np.isnan(label[2, 0]) and label[2, 1] == 0.0
    assert np.isnan(label[3]).all()


def test_simple_atr_is_the_mean_true_range() -> None:
    high = np.array([[11.0], [12.0], [11.5]])
    low = np.array([[9.0], [10.5], [9.0]])
    close = np.array([[10.0], [11.0], [10.0]])
    # True ranges: 2 (first bar: high − low), max(1.5, 2, 0.5) = 2, max(2.5, 0.5, 2) = 2.5.
    atr = simple_atr(high, low, close, period=2)
    assert np.isnan(atr[0, 0])
    np.testing.assert_allclose(atr[1:, 0], [2.0, 2.25])


def test_calibrated_thresholds_grow_with_volatility_and_stay_in_bounds() -> None:
    rng = np.random.default_rng(0)
    returns = rng.normal(0.0, [0.005, 0.02, 0.2], size=(400, 3))
    close = 100.0 * np.exp(np.cumsum(returns, axis=0))
    atr = np.full(close.shape, 0.01) * close  # ATR 1 % of price for all three
    r_up, d_dn = calibrate_thresholds(close, atr, horizon=HORIZON)
    # q = σ·√10 / 1 %: about 1.6, 6.3 and 63 ATR; r_up = clip(0.75 q, 1, 3), d_dn = clip(q/2, ...)
    q = returns[1:].std(axis=0, ddof=1) * np.sqrt(10) / 0.01
    np.testing.assert_allclose(r_up, np.clip(0.75 * q, 1.0, 3.0), rtol=0.02)
    np.testing.assert_allclose(d_dn, np.clip(0.5 * q, 0.5, 1.5), rtol=0.02)
    assert r_up[2] == 3.0 and d_dn[2] == 1.5


# --- (1) the purge --------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(
    n_bars=st.integers(0, 3000),
    train=st.integers(1, 800),
    test=st.integers(1, 300),
    horizon=st.integers(1, 30),
    embargo=st.integers(0, 10),
)
def test_no_training_label_window_reaches_its_test_window(
    n_bars: int, train: int, test: int, horizon: int, embargo: int
) -> None:
    folds = plan_folds(n_bars, train_bars=train, test_bars=test, horizon=horizon, embargo=embargo)
    for k, fold in enumerate(folds):
        assert fold.train_start == 0 and fold.test_start == train + k * test
        # The last training label looks at bars up to last_train_row + horizon (an empty
        # training window, train_end 0, has no label at all).
        last_train_row = fold.train_end - 1
        assert fold.train_end == 0 or last_train_row + horizon + embargo < fold.test_start
        assert fold.train_end == max(fold.test_start - horizon - embargo, 0)
        assert fold.test_end == min(fold.test_start + test, n_bars)
    # Anchored at the start: a shorter panel keeps the same fold boundaries.
    shorter = plan_folds(
        n_bars // 2, train_bars=train, test_bars=test, horizon=horizon, embargo=embargo
    )
    for short, full in zip(shorter, folds, strict=False):
        assert (short.train_end, short.test_start) == (full.train_end, full.test_start)


def test_fit_fold_never_reads_a_purged_label() -> None:
    rng = np.random.default_rng(1)
    design = rng.normal(size=(300, 3, 2))
    label = (design[:, :, 0] + rng.normal(size=(300, 3)) > 0).astype(np.float64)
    fold = Fold(0, 0, 200 - HORIZON, 200, 300)
    kwargs = {
        "features": ("a", "b"),
        "horizon": HORIZON,
        "hmm": None,
        "r_up": np.ones(3),
        "d_dn": np.ones(3),
    }
    base = fit_fold(fold, design, label, **kwargs)  # type: ignore[arg-type]
    poisoned = label.copy()
    poisoned[fold.train_end :] = 1.0 - poisoned[fold.train_end :]  # flip every purged label
    other = fit_fold(fold, design, poisoned, **kwargs)  # type: ignore[arg-type]
    test = design[200:].reshape(-1, 2)
    np.testing.assert_array_equal(base.predict(test), other.predict(test))


def test_walk_forward_folds_are_purged_and_earlier_bars_have_no_probability() -> None:
    fit = _fit()
    assert len(fit.folds) == 2
    for model in fit.folds:
        fold = model.fold
        assert fold.train_end - 1 + HORIZON < fold.test_start
    first = fit.folds[0].fold.test_start
    assert first == 504
    assert np.isnan(fit.probability[:first]).all()
    assert np.isfinite(fit.probability[first:]).any()


# --- (2) calibration is monotone ----------------------------------------------------------


def test_calibrated_probability_is_monotone_in_the_raw_score() -> None:
    fit = _fit()
    for model in fit.folds:
        grid = np.linspace(-10.0, 10.0, 2001)
        p = model.calibrate(grid)
        assert np.all(np.diff(p) >= 0.0)
        assert np.all((p >= 0.0) & (p <= 1.0))
    raw, p = fit.raw_score.reshape(-1), fit.probability.reshape(-1)
    ok = np.isfinite(raw)
    for index in np.unique(fit.fold_index[np.isfinite(fit.fold_index)]):
        inside = ok & (fit.fold_index.reshape(-1) == index)
        order = np.argsort(raw[inside], kind="stable")
        assert np.all(np.diff(p[inside][order]) >= 0.0)


# --- (3) per-fold Brier score and reliability table -----------------------------------------


def test_fold_report_has_brier_and_reliability_per_fold(tmp_path: Path) -> None:
    fit = _fit()
    panel = _panel()
    high, low, close = (panel.array(f) for f in ("high", "low", "close"))
    atr = simple_atr(high, low, close, period=20)
    for metrics, model in zip(fit.report.folds, fit.folds, strict=True):
        s, e = metrics.fold.test_start, metrics.fold.test_end
        y = rally_label(high, low, close, atr, horizon=HORIZON, r_up=model.r_up, d_dn=model.d_dn)
        p, y = fit.probability[s:e].ravel(), y[s:e].ravel()
        ok = np.isfinite(p) & np.isfinite(y)
        assert metrics.n_test == ok.sum() > 0
        assert metrics.brier == pytest.approx(np.mean((p[ok] - y[ok]) ** 2))
        table = metrics.reliability
        assert len(table) == 10 and table["count"].sum() == metrics.n_test
        top = p[ok] >= 0.9
        assert table["count"].iloc[-1] == top.sum()
    written = write_fold_report(fit.report, tmp_path)
    assert {p.name for p in written} == {
        "folds.csv",
        "folds.json",
        "reliability_fold0.csv",
        "reliability_fold1.csv",
    }
    folds = pd.read_csv(tmp_path / "folds.csv")
    assert list(folds["fold"]) == [0, 1] and folds["brier"].between(0, 1).all()
    payload = json.loads((tmp_path / "folds.json").read_text())
    assert len(payload[1]["reliability"]) == 10
    table = pd.read_csv(tmp_path / "reliability_fold1.csv")
    assert list(table.columns) == [
        "bin_low",
        "bin_high",
        "mean_predicted",
        "observed_frequency",
        "count",
    ]


# --- (5) persistence ----------------------------------------------------------------------


def test_save_and_load_give_identical_predictions(tmp_path: Path) -> None:
    fit = _fit()
    model_path, meta_path = save_model(
        tmp_path / "rally.joblib", fit.folds, {"universe": "synthetic"}, report=fit.report
    )
    loaded, meta = load_model(model_path)
    assert meta_path.exists() and meta["universe"] == "synthetic"
    assert {"numpy", "scikit-learn", "joblib", "python"} <= set(meta["versions"])
    assert meta["folds"][0]["features"] == list(fit.features)
    assert meta["folds"][1]["metrics"]["brier"] == pytest.approx(fit.report.folds[1].brier)
    assert meta["folds"][0]["train_end"] == fit.folds[0].fold.train_end
    again = predict_panel(_panel(), loaded)
    np.testing.assert_array_equal(again, fit.probability)
