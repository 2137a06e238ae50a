"""Regime stability by hand, for rule labels and HMM states."""

from __future__ import annotations

import numpy as np
import pytest

from harvester.core.errors import ConfigError
from harvester.regimes.hmm import BatchedHMM, InitialParams, most_likely_filtered_state
from harvester.regimes.rules import CHOP, TREND, UNKNOWN, VOLATILE
from harvester.regimes.stability import regime_stability


def test_share_of_the_window_with_the_current_label() -> None:
    labels = np.array([TREND, TREND, TREND, CHOP, TREND, VOLATILE, VOLATILE, VOLATILE])
    got = regime_stability(labels[:, None], window=4)[:, 0]
    expected = [np.nan, np.nan, np.nan, 0.25, 0.75, 0.25, 0.5, 0.75]
    np.testing.assert_array_equal(got, expected)


def test_unknown_labels_have_no_stability_and_count_as_different() -> None:
    labels = np.array([[UNKNOWN], [UNKNOWN], [TREND], [TREND]])
    got = regime_stability(labels, window=3)[:, 0]
    np.testing.assert_array_equal(got, [np.nan, np.nan, 1 / 3, 2 / 3])


def test_window_of_one_is_always_one() -> None:
    labels = np.array([[1, 2], [3, 1], [2, 2]])
    np.testing.assert_array_equal(regime_stability(labels, window=1), np.ones((3, 2)))


def test_hmm_states_along_the_time_axis() -> None:
    model = BatchedHMM(
        *InitialParams(
            np.array([[0.5, 0.5]]),
            np.array([[[0.95, 0.05], [0.05, 0.95]]]),
            np.array([[[0.0], [0.0]]]),
            np.array([[[1.0], [100.0]]]),
        ),
        np.zeros(1),
        np.zeros(1, dtype=np.int64),
        np.zeros(1, dtype=bool),
    )
    x = np.r_[np.zeros(10), np.full(5, 30.0)][None, :, None]
    states = most_likely_filtered_state(model, x)  # (symbols, time)
    assert states[0].tolist() == [0] * 10 + [1] * 5
    got = regime_stability(states, window=5, axis=1)
    np.testing.assert_array_equal(got[0, 9:], [1.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    np.testing.assert_array_equal(got, regime_stability(states.T, window=5).T)


def test_bad_window() -> None:
    with pytest.raises(ConfigError):
        regime_stability(np.zeros((3, 1), dtype=np.int64), window=0)
