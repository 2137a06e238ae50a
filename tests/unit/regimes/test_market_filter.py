"""The SPY 200-day filter by hand."""

from __future__ import annotations

import numpy as np

from harvester.regimes.market_filter import below_200_day, market_filter_adjustment


def test_below_the_average_after_warm_up_only() -> None:
    close = np.r_[np.full(199, 100.0), 50.0, 100.0, 90.0, 120.0]
    got = below_200_day(close)
    assert got.dtype == bool
    assert not got[:199].any()  # warm-up: no average, no caution
    # bar 199: average (199 * 100 + 50) / 200 = 99.75 > 50
    assert got[199:].tolist() == [True, False, True, False]


def test_panel_and_missing_data() -> None:
    close = np.column_stack([np.arange(1.0, 11.0), np.arange(10.0, 0.0, -1.0)])
    close[6, 1] = np.nan
    got = below_200_day(close, period=3)
    assert got.shape == (10, 2)
    assert not got[:, 0].any()  # rising: always above its average
    assert got[2:6, 1].all()  # falling: below
    assert not got[6:9, 1].any()  # NaN in the window: False


def test_adjustments() -> None:
    below = np.array([True, False])
    got = market_filter_adjustment(below, long_size_multiplier=0.4, z_tighten=-3.0, base_z=-2.0)
    assert got.long_size_multiplier.tolist() == [0.4, 1.0]
    assert got.long_entry_z.tolist() == [-3.0, -2.0]
    default = market_filter_adjustment(below)
    assert default.long_size_multiplier.tolist() == [0.5, 1.0]
    assert default.long_entry_z.tolist() == [-2.8, -2.0]
