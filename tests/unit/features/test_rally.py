"""The Rally base features: hand-made cases for the trap and the range features."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harvester.features import FEATURES
from harvester.features.rally import comp_score, p_atr, p_bb, p_rv, range_width, trap, vix_change

NAN = np.nan
# A trap setup small enough to follow by hand: the vol percentile is known from bar 3.
SMALL = {"trap_range_period": 3, "rv_period": 2, "percentile_window": 2}
LOW = np.array([10.0, 10.0, 10.0, 10.0, 8.0, 9.0, 10.0, 10.0])[:, None]
# Bar 4 breaks the 3-bar low of 10 (low 8); bar 5 closes below 10; bar 6 closes above.
CLOSE = np.array([11.0, 11.0, 11.0, 11.0, 9.0, 9.5, 10.5, 11.0])[:, None]


def _trap(low: np.ndarray, close: np.ndarray, **params: float) -> np.ndarray:
    settings = {**SMALL, "trap_lookforward": 2, "rv_trap_percentile": 1.0, **params}
    return trap(low, close, **settings)[:, 0]  # type: ignore[arg-type]


def test_the_trap_fires_on_the_recovery_bar() -> None:
    np.testing.assert_array_equal(_trap(LOW, CLOSE), [NAN, NAN, NAN, 0, 0, 0, 1, 0])


def test_the_trap_uses_only_bars_up_to_the_recovery() -> None:
    for end in range(4, len(CLOSE) + 1):
        np.testing.assert_array_equal(_trap(LOW[:end], CLOSE[:end]), _trap(LOW, CLOSE)[:end])


def test_the_trap_fires_once_not_on_every_later_close_above() -> None:
    assert np.nansum(_trap(LOW, CLOSE, trap_lookforward=3)) == 1.0


def test_a_recovery_after_the_lookforward_is_no_trap() -> None:
    assert np.nansum(_trap(LOW, CLOSE, trap_lookforward=1)) == 0.0


def test_no_trap_while_volatility_is_high() -> None:
    assert np.nansum(_trap(LOW, CLOSE, rv_trap_percentile=-0.1)) == 0.0


def test_a_close_back_above_on_the_breakdown_bar_waits_for_the_next_bar() -> None:
    close = CLOSE.copy()
    close[4] = 10.5  # low 8 breaks the range, the close is already back above 10
    np.testing.assert_array_equal(_trap(LOW, close), [NAN, NAN, NAN, 0, 0, 0, 1, 0])
    close[5] = 10.2
    np.testing.assert_array_equal(_trap(LOW, close), [NAN, NAN, NAN, 0, 0, 1, 0, 0])


def test_range_width_by_hand() -> None:
    high = np.array([[11.0], [12.0], [13.0]])
    low = np.array([[9.0], [10.0], [8.0]])
    close = np.array([[10.0], [11.0], [10.0]])
    got = range_width(high, low, close, range_period=2)[:, 0]
    # (12 - 9) / 11 and (13 - 8) / 10.
    np.testing.assert_allclose(got, [NAN, 3 / 11, 0.5])


def test_range_tightness_is_width_over_atr_percent() -> None:
    high = np.array([[11.0], [12.0], [13.0]])
    low = np.array([[9.0], [10.0], [8.0]])
    close = np.array([[10.0], [11.0], [10.0]])
    got = FEATURES["range_tightness"].function(high, low, close, range_period=2, atr_period=2)
    # True ranges 2, 2, max(5, 2, 3) = 5; ATR(2) at bar 2 = 3.5, / close 10 = 0.35.
    assert math.isclose(got[2, 0], 0.5 / 0.35, rel_tol=1e-12)


def test_comp_score_is_one_minus_the_mean_percentile() -> None:
    rng = np.random.default_rng(1)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (60, 2)), axis=0))
    high, low = close * 1.01, close * 0.99
    params = {"percentile_window": 10}
    parts = (
        p_atr(high, low, close, atr_period=5, **params)
        + p_bb(close, bb_period=5, **params)
        + p_rv(close, rv_period=5, **params)
    )
    got = comp_score(high, low, close, atr_period=5, bb_period=5, rv_period=5, **params)
    np.testing.assert_allclose(got, 1.0 - parts / 3.0)
    assert np.nanmin(got) >= 0.0 and np.nanmax(got) <= 1.0


def test_vix_change_is_broadcast() -> None:
    vix = np.array([20.0, 22.0, 30.0])
    close = np.ones((3, 2))
    got = vix_change(close, vix, period=2)
    np.testing.assert_allclose(got[2], [0.5, 0.5])
    assert np.isnan(got[:2]).all()


@pytest.mark.parametrize(
    ("name", "column"),
    [
        ("comp_score", "comp_score_20_20_20_252"),
        ("range_width", "range_width_40"),
        ("trap", "trap_20_5_20_252_0.7"),
        ("p_vol", "p_vol_20_252"),
    ],
)
def test_rally_column_names_follow_the_spec_table(name: str, column: str) -> None:
    assert FEATURES.column_name(name, {}) == column
