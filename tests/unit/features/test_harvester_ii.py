"""CRI, Panic Score and G-Score on tiny hand-worked panels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from harvester.data.panel import Panel
from harvester.features import FEATURES
from harvester.features.harvester_ii import cri, g_score, panic_score, rolling_correlation

NAN = np.nan


def test_rolling_correlation_by_hand() -> None:
    # x = 1, 2, 3 and y = 2, 4, 7: cov = 31/3 - 2 * 13/3 = 5/3, var x = 2/3, var y = 38/9.
    x = np.array([[1.0], [2.0], [3.0]])
    y = np.array([[2.0], [4.0], [7.0]])
    expected = (5 / 3) / math.sqrt(2 / 3 * 38 / 9)
    got = rolling_correlation(x, y, window=3)[:, 0]
    assert np.isnan(got[:2]).all()
    assert math.isclose(got[2], expected, rel_tol=1e-12)
    assert math.isclose(expected, np.corrcoef(x[:, 0], y[:, 0])[0, 1], rel_tol=1e-12)


def test_cri_by_hand_with_attention_and_with_the_volume_proxy() -> None:
    # |return| at bars 1-3: 0.1, 0.1, 0.
    close = np.tile(np.array([[100.0], [110.0], [99.0], [99.0]]), (1, 3))
    # Column 0: abnormal attention (x / mean of 2) = nan, 1, 1.5, 0.5 -> change nan, .5, -1.
    # Column 1: 1, 1, 1.5 -> change 0, 0.5. Column 2: no attention, volume as column 0.
    attention = np.array([[10.0, 10.0, NAN], [10.0, 10.0, NAN], [30.0, 10.0, NAN],
                          [10.0, 30.0, NAN]])  # fmt: skip
    volume = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [3.0, 1.0, 3.0], [1.0, 1.0, 1.0]])
    got = cri(close, volume, attention, window=2)
    # Window 2 at bar 3: (0.1, 0) against (0.5, -1) is +1; against (0, 0.5) is -1.
    np.testing.assert_allclose(got[3], [1.0, -1.0, 1.0])
    assert np.isnan(got[:3]).all()


def test_cri_is_zero_on_flat_attention_and_nan_after_a_missing_bar() -> None:
    close = (
        100.0 * np.cumprod(np.array([1.0, 1.01, 0.98, 1.03, 1.0, 0.99, 1.02, 1.01, 0.97]))[:, None]
    )
    volume = np.full_like(close, 5.0)
    got = cri(close, volume, np.full_like(close, 40.0), window=2)
    assert (got[3:] == 0.0).all()
    gap = close.copy()
    gap[5] = NAN
    got = cri(gap, volume, np.full_like(close, 40.0), window=2)
    # Returns at bars 5 and 6 need bar 5, so the 2-bar window heals at bar 8.
    assert np.isnan(got[5:8]).all()
    assert got[8, 0] == 0.0


def test_panic_score_by_hand() -> None:
    # Flat price: vol 0, z 0. Volume 1, 1, 1, 1, 4: z over (1, 1, 4) = 2 / sqrt(2) = sqrt 2.
    # Proxy attention = volume / 3-bar mean = 1, 1, 2 at bars 2-4: z = (2/3) / sqrt(2/9) = sqrt 2.
    close = np.full((5, 1), 50.0)
    volume = np.array([[1.0], [1.0], [1.0], [1.0], [4.0]])
    params = {"period": 3, "vol_period": 2, "volatility_weight": 1.0, "volume_weight": 1.0}
    none = np.full_like(close, NAN)
    got = FEATURES["panic_score"].function(close, volume, none, **params, trends_weight=0.8)
    assert math.isclose(got[4, 0], 1.8 * math.sqrt(2.0), rel_tol=1e-9)
    got = panic_score(
        close, volume, none, period=3, vol_period=2, volatility_weight=1.0, volume_weight=1.0,
        trends_weight=0.5,
    )  # fmt: skip
    assert math.isclose(got[4, 0], 1.5 * math.sqrt(2.0), rel_tol=1e-9)
    assert FEATURES["panic_score"].warmup({**params, "trends_weight": 0.8}) == 4
    assert np.isnan(got[:4]).all()


def test_g_score_by_hand() -> None:
    vix = np.array([20.0, 20.0, 26.0, 25.0, 30.0])
    # 2-bar returns from bar 2: benchmark -6 %, 0 %, +6.4 %; oil 0 %, +12 %, +20 %.
    benchmark = np.array([100.0, 100.0, 94.0, 100.0, 100.0])
    oil = np.array([50.0, 50.0, 50.0, 56.0, 60.0])
    close = np.ones((5, 2))
    close[4, 1] = NAN
    params = {"vix_threshold": 25.0, "benchmark_drop": 0.05, "oil_rise": 0.10}
    got = g_score(close, vix, benchmark, oil, horizon=2, **params)
    # bar 2: VIX + SPY = 2; bar 3: VIX exactly 25 scores nothing, oil = 1; bar 4: VIX + oil.
    np.testing.assert_array_equal(got[:, 0], [NAN, NAN, 2.0, 1.0, 2.0])
    np.testing.assert_array_equal(got[:, 1], [NAN, NAN, 2.0, 1.0, NAN])
    vix[3] = NAN
    assert np.isnan(g_score(close, vix, benchmark, oil, horizon=2, **params)[3]).all()


def test_the_signals_run_on_a_panel_without_attention() -> None:
    rng = np.random.default_rng(5)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.02, (80, 3)), axis=0))
    volume = rng.uniform(1e5, 2e5, (80, 3))
    fields = {"high": close, "low": close, "close": close, "volume": volume}
    panel = Panel(pd.bdate_range("2021-01-01", periods=80), ("A", "B", "C"), fields)
    for name in ("cri", "panic_score"):
        values = FEATURES.compute(panel, name)
        assert not np.isnan(values[FEATURES[name].warmup(FEATURES[name].defaults) :]).any()
    assert FEATURES.column_name("cri", {}) == "cri_20"
    assert FEATURES.column_name("panic_score", {}) == "panic_score_20_20_1_1_0.8"
