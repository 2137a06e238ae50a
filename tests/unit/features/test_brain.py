"""The Python brain's scores, VWAP and breadth, against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harvester.core.types import FloatArray
from harvester.features.brain import (
    atr_stop_distance,
    macd_score,
    rsi_score,
    vwap_extension,
    zscore_signal,
)
from harvester.features.breadth import golden_cross_count, pct_above_ma, pct_new_high, pct_new_low
from harvester.features.technical import wilder_atr
from harvester.features.trend import macd_histogram
from harvester.features.vwap import anchored_vwap, date_anchors, month_start_anchors, rolling_vwap

NAN = np.nan
HIGH = np.array([[11.0], [12.0], [13.0]])
LOW = np.array([[9.0], [10.0], [11.0]])
CLOSE = np.array([[10.0], [11.0], [12.0]])


def _close(*values: float) -> FloatArray:
    return np.array(values, dtype=np.float64).reshape(-1, 1)


def test_rsi_score_is_50_minus_rsi_over_50() -> None:
    # Period 2: gains/losses seeded (0.5, 0.5) -> RSI 50; then (0.75, 0.25) -> RSI 75.
    values = rsi_score(_close(10, 11, 10, 11), period=2)[:, 0]
    np.testing.assert_allclose(values, [NAN, NAN, 0.0, -0.5])
    rising = rsi_score(_close(*range(1, 20)), period=14)
    assert rising[-1, 0] == -1.0


def test_macd_score_is_tanh_of_the_histogram_in_atrs() -> None:
    rng = np.random.default_rng(2)
    close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, (120, 2)), axis=0))
    high, low = close * 1.01, close * 0.99
    histogram = macd_histogram(close, fast=12, slow=26, signal=9)
    atr = wilder_atr(high, low, close, period=14)
    score = macd_score(high, low, close, fast=12, slow=26, signal=9, atr_period=14)
    np.testing.assert_allclose(score, np.tanh(histogram / atr))
    assert np.nanmax(np.abs(score)) < 1.0
    assert np.isnan(score[32]).all() and not np.isnan(score[33]).any()


def test_zscore_signal_buys_oversold_and_sells_overbought() -> None:
    # Period 3: z = 1.22, 1.40, -0.95, then 1 - 5 from [10, 1, -5]: z = -1.14.
    values = zscore_signal(_close(1, 2, 3, 10, 1, -5), period=3, entry=1.0)[:, 0]
    np.testing.assert_array_equal(values, [NAN, NAN, -1.0, -1.0, 0.0, 1.0])


def test_atr_stop_distance_is_a_fraction_of_the_price() -> None:
    # True ranges 2, 2, 2; ATR(2) seeded from bars 1-2 = 2; 2 x 2 / 12.
    values = atr_stop_distance(HIGH, LOW, CLOSE, period=2, multiple=2.0)[:, 0]
    np.testing.assert_allclose(values, [NAN, NAN, 1.0 / 3.0])


def test_rolling_vwap_and_extension() -> None:
    volume = np.array([[100.0], [300.0], [100.0]])
    vwap = rolling_vwap(HIGH, LOW, CLOSE, volume, period=2)[:, 0]
    np.testing.assert_allclose(vwap, [NAN, 10.75, 11.25])
    extension = vwap_extension(HIGH, LOW, CLOSE, volume, period=2)[:, 0]
    np.testing.assert_allclose(extension, [NAN, 11.0 / 10.75 - 1.0, 12.0 / 11.25 - 1.0])


def test_vwap_without_volume_or_with_a_gap_is_nan() -> None:
    assert np.isnan(rolling_vwap(HIGH, LOW, CLOSE, np.zeros((3, 1)), period=2)).all()
    close = CLOSE.copy()
    close[1] = NAN
    vwap = rolling_vwap(HIGH, LOW, close, np.ones((3, 1)), period=2)
    assert np.isnan(vwap).all()


INDEX = pd.DatetimeIndex(["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02"])
TYPICAL = np.array([[10.0], [11.0], [12.0], [13.0]])
VOLUME = np.array([[1.0], [1.0], [1.0], [3.0]])


def _anchored(anchors: np.ndarray, volume: FloatArray = VOLUME) -> FloatArray:
    return anchored_vwap(TYPICAL, TYPICAL, TYPICAL, volume, anchors=anchors)[:, 0]


def test_anchored_vwap_restarts_each_month() -> None:
    anchors = month_start_anchors(INDEX)
    np.testing.assert_array_equal(anchors, [True, False, True, False])
    np.testing.assert_allclose(_anchored(anchors), [10.0, 10.5, 12.0, 12.75])


def test_anchored_vwap_from_a_date_is_nan_before_it_and_skips_gaps() -> None:
    anchors = date_anchors(INDEX, ["2024-01-31"])
    np.testing.assert_array_equal(anchors, [False, True, False, False])
    np.testing.assert_allclose(_anchored(anchors), [NAN, 11.0, 11.5, 12.4])
    volume = VOLUME.copy()
    volume[2] = NAN
    np.testing.assert_allclose(_anchored(anchors, volume), [NAN, 11.0, NAN, 12.5])


def test_pct_above_ma_counts_the_symbols_with_a_known_average() -> None:
    close = np.array([[1.0, 3.0, NAN], [2.0, 2.0, 1.0], [3.0, 1.0, 2.0]])
    values = pct_above_ma(close, period=2)
    assert np.isnan(values[0]).all()
    np.testing.assert_allclose(values[1], [0.5, 0.5, 0.5])
    np.testing.assert_allclose(values[2], [2 / 3, 2 / 3, 2 / 3])


def test_golden_cross_count_is_broadcast_to_symbols_with_a_bar() -> None:
    close = np.array([[1.0, 3.0, NAN], [2.0, 2.0, 1.0], [3.0, 1.0, 2.0], [4.0, NAN, 3.0]])
    values = golden_cross_count(close, fast=1, slow=2)
    assert np.isnan(values[0]).all()
    np.testing.assert_array_equal(values[1], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(values[2], [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(values[3], [2.0, NAN, 2.0])


def test_new_high_and_low_shares_count_symbols_with_enough_history() -> None:
    # Window 3. Bar 2: A 1,2,3 (new high), B 3,2,1 (new low), C has two bars only.
    # Bar 3: A 2,3,2.5 (neither), B 2,1,0.5 (new low), C 1,2,2 (ties count: new high).
    close = np.array([[1.0, 3.0, NAN], [2.0, 2.0, 1.0], [3.0, 1.0, 2.0], [2.5, 0.5, 2.0]])
    highs, lows = pct_new_high(close, period=3), pct_new_low(close, period=3)
    assert np.isnan(highs[:2]).all() and np.isnan(lows[:2]).all()
    np.testing.assert_allclose(highs[2], [0.5, 0.5, 0.5])
    np.testing.assert_allclose(lows[2], [0.5, 0.5, 0.5])
    np.testing.assert_allclose(highs[3], [1 / 3, 1 / 3, 1 / 3])
    np.testing.assert_allclose(lows[3], [1 / 3, 1 / 3, 1 / 3])


@pytest.mark.parametrize("entry", [2.0, 3.0])
def test_a_flat_price_gives_no_zscore_signal(entry: float) -> None:
    values = zscore_signal(np.full((30, 2), 5.0), period=20, entry=entry)
    assert (values[19:] == 0.0).all()
