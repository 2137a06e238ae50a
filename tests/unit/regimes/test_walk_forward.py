"""Walk-forward HMM: refits anchored at the start, fitted on the past, filtered forward."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.core.errors import DataError
from harvester.regimes.hmm import filter_probabilities, fit_batched
from harvester.regimes.walk_forward import refit_points, walk_forward_probabilities


def _regime_switching(n_bars: int, n_symbols: int, seed: int) -> np.ndarray:
    """(time, symbols, 2) returns and |returns| with calm and stressed stretches."""
    rng = np.random.default_rng(seed)
    scale = np.where((np.arange(n_bars) // 40) % 4 == 3, 0.04, 0.01)
    returns = rng.standard_normal((n_bars, n_symbols)) * scale[:, None]
    return np.stack([returns, np.abs(returns)], axis=2)


KW: dict[str, Any] = {
    "refit_every": 100,
    "training_samples": 150,
    "min_train": 60,
    "n_states": 2,
    "n_iter": 30,
}


def test_refit_points_are_anchored_at_the_start() -> None:
    assert refit_points(350, 100) == [100, 200, 300]
    assert refit_points(300, 100) == [100, 200]
    assert refit_points(99, 100) == []
    with pytest.raises(DataError):
        refit_points(10, 0)


def test_nan_before_the_first_refit_then_probabilities() -> None:
    x = _regime_switching(330, 3, seed=1)
    p = walk_forward_probabilities(x, **KW)
    assert p.shape == (330, 3, 2)
    assert np.isnan(p[:100]).all()
    assert np.isfinite(p[100:]).all()
    np.testing.assert_allclose(p[100:].sum(axis=2), 1.0, atol=1e-9)


def test_segment_equals_a_fit_on_the_past_window_filtered_forward() -> None:
    x = _regime_switching(330, 2, seed=2)
    p = walk_forward_probabilities(x, **KW)
    # Independent: the refit at bar 200 trains on bars 50..199 and filters 50..299.
    by_symbol = x.transpose(1, 0, 2)
    model = fit_batched(by_symbol[:, 50:200], n_states=2, n_iter=30)
    expected = filter_probabilities(model, by_symbol[:, 50:300])[:, 150:, :]
    np.testing.assert_allclose(p[200:300], expected.transpose(1, 0, 2), rtol=0, atol=1e-12)


def test_stressed_state_tracks_the_volatile_stretches() -> None:
    x = _regime_switching(800, 2, seed=3)
    p = walk_forward_probabilities(x, **KW)
    stressed = (np.arange(800) // 40) % 4 == 3
    late = np.arange(800) >= 100
    assert p[stressed & late, :, 1].mean() > 0.65
    assert p[~stressed & late, :, 1].mean() < 0.2


def test_symbol_without_enough_history_is_nan_at_that_refit() -> None:
    x = _regime_switching(330, 2, seed=4)
    x[:170, 1, :] = np.nan  # window 50..199 of the refit at 200 has only 30 rows of symbol 1
    p = walk_forward_probabilities(x, **KW)
    assert np.isnan(p[:300, 1]).all()
    assert np.isfinite(p[300:, 1]).all()
    assert np.isfinite(p[100:, 0]).all()


def test_bad_shape_is_a_data_error() -> None:
    with pytest.raises(DataError):
        walk_forward_probabilities(np.zeros((10, 2)), **KW)


@settings(max_examples=15, deadline=None)
@given(cut=st.integers(min_value=1, max_value=329))
def test_truncating_never_changes_earlier_rows(cut: int) -> None:
    x = _regime_switching(330, 2, seed=5)
    full = walk_forward_probabilities(x, **KW)
    truncated = walk_forward_probabilities(x[:cut], **KW)
    np.testing.assert_array_equal(truncated, full[:cut])


def test_future_changes_never_reach_the_past() -> None:
    x = _regime_switching(330, 2, seed=6)
    changed = x.copy()
    changed[250:] *= 5.0
    a = walk_forward_probabilities(x, **KW)
    b = walk_forward_probabilities(changed, **KW)
    np.testing.assert_array_equal(a[:250], b[:250])
    assert not np.allclose(a[250:], b[250:], equal_nan=True)
