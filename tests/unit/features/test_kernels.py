"""The numba kernels equal their pure-Python twins on random and edge-case inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from harvester.core.types import FloatArray
from harvester.features._kernels import (
    directional_movement_nb,
    ewm_nb,
    lagged_sum_nb,
    rolling_correlation_nb,
    rolling_count_below_nb,
    rolling_max_nb,
    rolling_mean_nb,
    rolling_rank_nb,
    rolling_std_nb,
    rolling_zscore_nb,
    trap_confirmation_nb,
    wilder_sum_nb,
)
from harvester.features._reference import (
    directional_movement_reference,
    ewm_reference,
    lagged_sum_reference,
    rolling_correlation_reference,
    rolling_count_below_reference,
    rolling_max_reference,
    rolling_mean_reference,
    rolling_rank_reference,
    rolling_std_reference,
    rolling_zscore_reference,
    trap_confirmation_reference,
    wilder_sum_reference,
)

ROLLING = {
    "rank": (rolling_rank_nb, rolling_rank_reference),
    "count_below": (rolling_count_below_nb, rolling_count_below_reference),
    "max": (rolling_max_nb, rolling_max_reference),
    "mean": (rolling_mean_nb, rolling_mean_reference),
    "std": (rolling_std_nb, rolling_std_reference),
}

values_with_gaps = hnp.arrays(
    np.float64,
    st.tuples(st.integers(0, 40), st.integers(0, 4)),
    elements=st.one_of(
        st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), st.just(np.nan)
    ),
)


def _assert_same(kernel: FloatArray, reference: FloatArray) -> None:
    assert kernel.shape == reference.shape
    np.testing.assert_allclose(kernel, reference, rtol=1e-12, atol=1e-6)
    np.testing.assert_array_equal(np.isnan(kernel), np.isnan(reference))


@settings(max_examples=200, deadline=None)
@given(
    values=values_with_gaps,
    period=st.integers(1, 50),
    skip=st.integers(0, 5),
    wilder=st.booleans(),
)
def test_ewm_kernel_equals_reference(
    values: FloatArray, period: int, skip: int, wilder: bool
) -> None:
    alpha = 1.0 / period if wilder else 2.0 / (period + 1)
    _assert_same(ewm_nb(values, alpha, period, skip), ewm_reference(values, alpha, period, skip))


@settings(max_examples=200, deadline=None)
@given(values=values_with_gaps, period=st.integers(1, 50))
def test_wilder_sum_kernel_equals_reference(values: FloatArray, period: int) -> None:
    _assert_same(wilder_sum_nb(values, period), wilder_sum_reference(values, period))


# Few distinct values, so ties are common; infinities count as missing.
values_with_ties = hnp.arrays(
    np.float64,
    st.tuples(st.integers(0, 40), st.integers(0, 4)),
    elements=st.one_of(
        st.integers(-3, 3).map(float), st.just(np.nan), st.just(np.inf), st.just(-np.inf)
    ),
)


@settings(max_examples=100, deadline=None)
@given(
    values=st.one_of(values_with_gaps, values_with_ties),
    window=st.integers(2, 50),
    name=st.sampled_from(sorted(ROLLING)),
)
def test_rolling_kernels_equal_reference(values: FloatArray, window: int, name: str) -> None:
    kernel, reference = ROLLING[name]
    _assert_same(kernel(values, window), reference(values, window))


# Values a few ulps apart around 1e6 (nearly flat windows far from zero), and values whose
# tiny magnitudes (below 1e-100, whose squares underflow) are replaced by 0: the z-score is
# scale-free, so the kernel must match the exact twin there too.
_ULP_AT_1E6 = 2.0**-33
values_near_flat = hnp.arrays(
    np.float64,
    st.tuples(st.integers(0, 40), st.integers(0, 4)),
    elements=st.one_of(st.integers(-3, 3).map(lambda k: 1e6 + k * _ULP_AT_1E6), st.just(np.nan)),
)
values_without_tiny = values_with_gaps.map(
    lambda values: np.where(np.abs(values) < 1e-100, 0.0, values)
)


@settings(max_examples=200, deadline=None)
@given(
    values=st.one_of(values_without_tiny, values_with_ties, values_near_flat),
    window=st.integers(2, 50),
)
def test_rolling_zscore_kernel_equals_exact_reference(values: FloatArray, window: int) -> None:
    _assert_same(rolling_zscore_nb(values, window), rolling_zscore_reference(values, window))


def test_rolling_zscore_edge_cases_empty_one_row_and_window_longer_than_data() -> None:
    for shape in [(0, 3), (1, 2), (5, 0), (7, 3)]:
        values = np.arange(float(np.prod(shape))).reshape(shape) ** 2
        for window in (2, 3, 30):
            _assert_same(
                rolling_zscore_nb(values, window), rolling_zscore_reference(values, window)
            )


def test_rolling_zscore_is_zero_on_a_flat_window_and_nan_around_missing_values() -> None:
    values = np.array([[0.1], [0.1], [0.1], [np.inf], [1.0], [2.0], [3.0], [np.nan], [4.0]])
    got = rolling_zscore_nb(values, 3)[:, 0]
    expected = [np.nan, np.nan, 0.0, np.nan, np.nan, np.nan, np.sqrt(1.5), np.nan, np.nan]
    np.testing.assert_allclose(got, expected, rtol=1e-15)


@settings(max_examples=100, deadline=None)
@given(
    x=st.one_of(values_with_gaps, values_with_ties),
    seed=st.integers(0, 2**32 - 1),
    window=st.integers(2, 30),
)
def test_rolling_correlation_kernel_equals_reference(x: FloatArray, seed: int, window: int) -> None:
    # y shares x's gaps plus its own, and is sometimes flat, so every branch is reached.
    rng = np.random.default_rng(seed)
    with np.errstate(invalid="ignore"):  # inf - inf in the values with ties
        noisy = x * rng.normal(size=x.shape) + 2.0 * x
    y = np.where(rng.random(x.shape) < 0.1, np.nan, noisy)
    if seed % 4 == 0:
        y = np.where(np.isnan(y), np.nan, 3.0)
    _assert_same(rolling_correlation_nb(x, y, window), rolling_correlation_reference(x, y, window))


def test_rolling_correlation_kernel_matches_numpy_on_a_random_window() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(30, 2)), rng.normal(size=(30, 2))
    got = rolling_correlation_nb(x, y, 30)[-1]
    expected = [np.corrcoef(x[:, s], y[:, s])[0, 1] for s in range(2)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@settings(max_examples=100, deadline=None)
@given(values=values_with_gaps, window=st.integers(1, 50))
def test_lagged_sum_kernel_equals_reference(values: FloatArray, window: int) -> None:
    weights = np.linspace(-1.0, 1.0, window)
    _assert_same(lagged_sum_nb(values, weights), lagged_sum_reference(values, weights))


@settings(max_examples=100, deadline=None)
@given(high=values_with_ties, seed=st.integers(0, 2**32 - 1))
def test_directional_movement_kernel_equals_reference(high: FloatArray, seed: int) -> None:
    low = high - np.random.default_rng(seed).integers(0, 3, high.shape)
    kernel = directional_movement_nb(high, low)
    reference = directional_movement_reference(high, low)
    for got, expected in zip(kernel, reference, strict=True):
        _assert_same(got, expected)


@settings(max_examples=100, deadline=None)
@given(close=values_with_ties, seed=st.integers(0, 2**32 - 1), lookforward=st.integers(1, 6))
def test_trap_confirmation_kernel_equals_reference(
    close: FloatArray, seed: int, lookforward: int
) -> None:
    rng = np.random.default_rng(seed)
    floor = close + rng.integers(-2, 3, close.shape)
    broke = rng.integers(0, 2, close.shape).astype(np.float64)
    _assert_same(
        trap_confirmation_nb(floor, broke, close, lookforward),
        trap_confirmation_reference(floor, broke, close, lookforward),
    )


@settings(max_examples=100, deadline=None)
@given(values=st.one_of(values_with_gaps, values_with_ties), window=st.integers(2, 30))
def test_rolling_rank_equals_the_pandas_rolling_rank_it_replaced(
    values: FloatArray, window: int
) -> None:
    frame = pd.DataFrame(values).rolling(window, min_periods=window)
    share = frame.rank(method="max", pct=True).to_numpy(np.float64)
    expected = (np.rint(share * window) - 1.0) / (window - 1.0)
    np.testing.assert_array_equal(rolling_rank_nb(values, window), expected)


def test_rolling_mean_and_std_are_exact_on_a_flat_window() -> None:
    values = np.full((30, 2), 0.1)
    np.testing.assert_array_equal(rolling_mean_nb(values, 20)[19:], 0.1)
    np.testing.assert_array_equal(rolling_std_nb(values, 20)[19:], 0.0)


def test_edge_cases_empty_one_row_and_window_longer_than_data() -> None:
    for shape in [(0, 3), (1, 2), (5, 0), (7, 3)]:
        values = np.arange(float(np.prod(shape))).reshape(shape)
        for period in (1, 3, 30):
            _assert_same(ewm_nb(values, 0.5, period, 0), ewm_reference(values, 0.5, period, 0))
            _assert_same(wilder_sum_nb(values, period), wilder_sum_reference(values, period))
        for window in (2, 3, 30):
            for kernel, reference in ROLLING.values():
                _assert_same(kernel(values, window), reference(values, window))


def test_rolling_rank_counts_ties_as_below_and_waits_out_missing_values() -> None:
    values = np.array([[1.0], [2.0], [2.0], [0.0], [np.nan], [5.0], [4.0], [6.0]])
    expected = [np.nan, np.nan, 1.0, 0.0, np.nan, np.nan, np.nan, 1.0]
    np.testing.assert_array_equal(rolling_rank_nb(values, 3)[:, 0], expected)


def test_missing_bars_are_skipped_not_propagated() -> None:
    values = np.array([[1.0], [np.nan], [3.0], [5.0]])
    np.testing.assert_allclose(ewm_nb(values, 0.5, 2, 0)[:, 0], [np.nan, np.nan, 2.0, 3.5])


@settings(max_examples=60)
@given(
    values=hnp.arrays(
        np.float64,
        st.tuples(st.integers(40, 300), st.integers(1, 3)),
        elements=st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(np.nan)),
    ),
    window=st.integers(49, 130),
)
def test_long_window_maximum_by_blocks_equals_reference(values: FloatArray, window: int) -> None:
    # Windows over 48 bars take the block algorithm; it must equal the plain definition.
    np.testing.assert_array_equal(
        rolling_max_nb(values, window), rolling_max_reference(values, window)
    )
