"""Chart patterns: hand-made price paths give one detection at the expected bar."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from harvester.core.errors import ConfigError
from harvester.core.types import FloatArray
from harvester.features._pattern_kernels import double_top_nb, flag_nb, inverse_head_shoulders_nb
from harvester.features._pattern_reference import (
    double_top_ref,
    flag_ref,
    inverse_head_shoulders_ref,
)
from harvester.features.patterns import bear_flag, bull_flag, double_top, inverse_head_shoulders


def _top(close: FloatArray) -> FloatArray:
    return double_top(close, lookback=10, tolerance=0.03, depth=0.05)


def _head(close: FloatArray) -> FloatArray:
    return inverse_head_shoulders(close, lookback=9, tolerance=0.03, depth=0.05)


def _bull(close: FloatArray) -> FloatArray:
    return bull_flag(close, pole_bars=3, flag_bars=4, pole_gain=0.08, retrace=0.5)


def _bear(close: FloatArray) -> FloatArray:
    return bear_flag(close, pole_bars=3, flag_bars=4, pole_gain=0.08, retrace=0.5)


def _column(*closes: float) -> FloatArray:
    return np.array(closes, dtype=np.float64).reshape(-1, 1)


def _detections(values: FloatArray) -> list[int]:
    return [int(t) for t in np.flatnonzero(values[:, 0] == 1.0)]


def test_double_top_confirms_on_the_neckline_break() -> None:
    # Peaks 110 (bar 3) and 109.5 (bar 8), neckline 100 (bar 5), break at bar 10.
    close = _column(100, 104, 108, 110, 106, 100, 103, 107, 109.5, 105, 98, 97, 96)
    values = _top(close)
    assert _detections(values) == [10]
    assert np.isnan(values[:10]).all()


@pytest.mark.parametrize(
    "close",
    [
        # Second peak 104: more than 3 % below the first.
        _column(100, 104, 108, 110, 106, 100, 102, 103, 104, 102, 98, 97),
        # Neckline held: the close stays above 100.
        _column(100, 104, 108, 110, 106, 100, 103, 107, 109.5, 105, 101, 103),
        # Trough 106: less than 5 % below the peaks.
        _column(100, 104, 108, 110, 108, 106, 107, 108, 109.5, 107, 105, 104),
    ],
)
def test_double_top_near_misses_are_not_detected(close: FloatArray) -> None:
    assert np.nansum(_top(close)) == 0.0


def test_inverse_head_and_shoulders_confirms_on_the_breakout() -> None:
    # Shoulders 95 (bar 1) and 95.5 (bar 7), head 88 (bar 4), neckline 100, break at bar 9.
    close = _column(100, 95, 99, 97, 88, 96, 100, 95.5, 99, 101.5, 103, 104)
    assert _detections(_head(close)) == [9]


@pytest.mark.parametrize(
    "close",
    [
        _column(100, 95, 99, 97, 93, 96, 100, 95.5, 99, 101.5, 103),  # head too shallow
        _column(100, 95, 99, 97, 88, 96, 100, 91, 99, 101.5, 103),  # lopsided shoulders
        _column(100, 95, 99, 97, 88, 96, 100, 95.5, 99, 99.5, 99.8),  # no breakout
    ],
)
def test_inverse_head_and_shoulders_near_misses(close: FloatArray) -> None:
    assert np.nansum(_head(close)) == 0.0


def test_bull_flag_confirms_on_the_break_above_the_pole_top() -> None:
    # Pole 100 -> 110 (bars 1-4), flag 108-107-108.5, break at bar 8.
    close = _column(100, 100, 103, 106, 110, 108, 107, 108.5, 111, 112)
    assert _detections(_bull(close)) == [8]
    assert np.nansum(_bear(close)) == 0.0


def test_bear_flag_confirms_on_the_break_below_the_pole_bottom() -> None:
    close = _column(100, 100, 97, 94, 90, 92, 93, 91.5, 89, 88)
    assert _detections(_bear(close)) == [8]
    assert np.nansum(_bull(close)) == 0.0


@pytest.mark.parametrize(
    "close",
    [
        _column(100, 100, 103, 106, 110, 104, 103, 108.5, 111, 112),  # retraces over half
        _column(100, 100, 102, 104, 106, 105, 104, 105.5, 107, 108),  # pole under 8 %
        _column(100, 100, 103, 106, 110, 111, 107, 108.5, 112, 113),  # flag above the top
    ],
)
def test_bull_flag_near_misses(close: FloatArray) -> None:
    assert np.nansum(_bull(close)) == 0.0


def test_a_missing_bar_blanks_the_windows_that_hold_it() -> None:
    close = _column(100, 100, 103, 106, 110, 108, 107, 108.5, 111, 112, 113, 114, 115, 116, 117)
    close[5] = np.nan
    values = _bull(close)
    assert np.isnan(values[5:13]).all()
    assert not np.isnan(values[13:]).any()


def test_bad_parameters_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="tolerance"):
        double_top(_column(1.0, 2.0), lookback=10, tolerance=1.5, depth=0.05)
    with pytest.raises(ConfigError, match="flag_bars"):
        bull_flag(_column(1.0, 2.0), pole_bars=3, flag_bars=1, pole_gain=0.1, retrace=0.5)
    with pytest.raises(ConfigError, match="pole_gain"):
        bear_flag(_column(1.0, 2.0), pole_bars=3, flag_bars=3, pole_gain=0.0, retrace=0.5)


walks = hnp.arrays(
    np.float64,
    st.tuples(st.integers(0, 60), st.integers(0, 3)),
    elements=st.one_of(st.floats(-0.06, 0.06), st.just(np.nan)),
)


def _prices(steps: FloatArray) -> FloatArray:
    prices = 100.0 * np.exp(np.cumsum(np.nan_to_num(steps), axis=0))
    return np.ascontiguousarray(np.where(np.isnan(steps), np.nan, prices))


@settings(max_examples=150, deadline=None)
@given(steps=walks, lookback=st.integers(6, 30), tol=st.floats(0.0, 0.1),
       depth=st.floats(0.0, 0.2))  # fmt: skip
def test_reversal_kernels_equal_their_twins(
    steps: FloatArray, lookback: int, tol: float, depth: float
) -> None:
    close = _prices(steps)
    np.testing.assert_array_equal(
        double_top_nb(close, lookback, tol, depth), double_top_ref(close, lookback, tol, depth)
    )
    np.testing.assert_array_equal(
        inverse_head_shoulders_nb(close, lookback, tol, depth),
        inverse_head_shoulders_ref(close, lookback, tol, depth),
    )


@settings(max_examples=150, deadline=None)
@given(
    steps=walks,
    pole=st.integers(1, 8),
    flag=st.integers(2, 12),
    gain=st.floats(0.01, 0.2),
    retrace=st.floats(0.0, 0.99),
    sign=st.sampled_from([1.0, -1.0]),
)
def test_flag_kernel_equals_its_twin(
    steps: FloatArray, pole: int, flag: int, gain: float, retrace: float, sign: float
) -> None:
    close = _prices(steps)
    np.testing.assert_array_equal(
        flag_nb(close, pole, flag, gain, retrace, sign),
        flag_ref(close, pole, flag, gain, retrace, sign),
    )


def test_kernels_find_patterns_on_random_walks() -> None:
    # The equality tests above are only meaningful if detections happen on such paths.
    steps = np.random.default_rng(5).normal(0.0, 0.03, (2000, 4))
    close = _prices(steps)
    assert np.nansum(double_top_nb(close, 20, 0.03, 0.05)) > 0
    assert np.nansum(inverse_head_shoulders_nb(close, 21, 0.03, 0.05)) > 0
    assert np.nansum(flag_nb(close, 3, 4, 0.08, 0.5, 1.0)) > 0
    assert np.nansum(flag_nb(close, 3, 4, 0.08, 0.5, -1.0)) > 0
