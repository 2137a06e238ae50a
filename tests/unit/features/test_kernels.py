"""The numba kernels equal their pure-Python twins on random and edge-case inputs."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from harvester.core.types import FloatArray
from harvester.features._kernels import ewm_nb, wilder_sum_nb
from harvester.features._reference import ewm_reference, wilder_sum_reference

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


def test_edge_cases_empty_one_row_and_window_longer_than_data() -> None:
    for shape in [(0, 3), (1, 2), (5, 0), (7, 3)]:
        values = np.arange(float(np.prod(shape))).reshape(shape)
        for period in (1, 3, 30):
            _assert_same(ewm_nb(values, 0.5, period, 0), ewm_reference(values, 0.5, period, 0))
            _assert_same(wilder_sum_nb(values, period), wilder_sum_reference(values, period))


def test_missing_bars_are_skipped_not_propagated() -> None:
    values = np.array([[1.0], [np.nan], [3.0], [5.0]])
    np.testing.assert_allclose(ewm_nb(values, 0.5, 2, 0)[:, 0], [np.nan, np.nan, 2.0, 3.5])
