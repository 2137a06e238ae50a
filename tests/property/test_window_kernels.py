"""The panel-wide rolling sum, mean and variance equal pandas' rolling, bit for bit.

Random panels mix price-like walks at very different scales, flat runs, NaN and infinite
values and negative series; the reference is pandas itself, one column at a time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.features._kernels import safe_divide_nb, where_traded_nb
from harvester.features._window_kernels import rolling_sum_pd_nb, rolling_var_pd_nb


def _panel(seed: int, n_times: int, n_symbols: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scale = rng.choice([1e-6, 1.0, 1e3])
    values = 100.0 + np.cumsum(rng.normal(0.0, 1.0, (n_times, n_symbols)), axis=0) * scale
    if rng.random() < 0.5:
        values = np.round(values, 1)  # ties and repeated values
    if n_times > 6 and rng.random() < 0.4:
        values[3 : 3 + int(rng.integers(2, 30))] = values[3]  # a flat run
    marks = rng.random(values.shape)
    values[marks < 0.05] = np.nan
    values[marks > 0.98] = np.inf
    return np.asarray(-values if rng.random() < 0.3 else values, dtype=np.float64)


panels = st.builds(_panel, st.integers(0, 2**32 - 1), st.integers(1, 90), st.integers(1, 5))


@settings(max_examples=150)
@given(panels, st.integers(1, 30))
def test_rolling_sum_and_mean_equal_pandas(values: np.ndarray, window: int) -> None:
    rolling = pd.DataFrame(values).rolling(window, min_periods=window)
    np.testing.assert_array_equal(rolling_sum_pd_nb(values, window, False), rolling.sum())
    np.testing.assert_array_equal(rolling_sum_pd_nb(values, window, True), rolling.mean())


@settings(max_examples=150)
@given(panels, st.integers(1, 30), st.sampled_from([0, 1]))
def test_rolling_variance_equals_pandas(values: np.ndarray, window: int, ddof: int) -> None:
    expected = pd.DataFrame(values).rolling(window, min_periods=window).var(ddof=ddof)
    np.testing.assert_array_equal(rolling_var_pd_nb(values, window, ddof), expected)


def test_flat_window_has_exactly_zero_variance_and_its_own_mean() -> None:
    values = np.full((30, 2), 0.1)
    np.testing.assert_array_equal(rolling_var_pd_nb(values, 10, 0)[9:], 0.0)
    np.testing.assert_array_equal(rolling_sum_pd_nb(values, 10, True)[9:], 0.1)


def test_safe_divide_and_where_traded_by_hand() -> None:
    top = np.array([[1.0, np.nan, 2.0, 3.0]])
    bottom = np.array([[2.0, 0.0, 0.0, np.nan]])
    np.testing.assert_array_equal(safe_divide_nb(top, bottom, 7.0), [[0.5, np.nan, 7.0, np.nan]])
    close = np.array([[1.0, np.nan], [np.nan, 2.0]])
    np.testing.assert_array_equal(
        where_traded_nb(np.array([5.0, 6.0]), close), [[5.0, np.nan], [np.nan, 6.0]]
    )
