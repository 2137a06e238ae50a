"""Rule regimes on hand-made series, warm-up, precedence and causality."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.core.types import FloatArray
from harvester.regimes.rules import (
    CHOP,
    NEUTRAL,
    TREND,
    UNKNOWN,
    VOLATILE,
    rule_regime_names,
    rule_regimes,
    trend_strength,
)

RANK = 60
WARM_UP = 20 + 60 - 1  # first known label: vol_window returns, vol_rank_window vols


def ramp() -> FloatArray:
    return (100.0 + 0.5 * np.arange(300.0))[:, None]


def sawtooth() -> FloatArray:
    return (100.0 + np.tile([0.0, 1.0, 2.0, 1.0], 75))[:, None]


def flat_then_noise() -> FloatArray:
    rng = np.random.default_rng(0)
    noise = 100.0 * np.exp(rng.normal(0.0, 0.03, 100))
    close: FloatArray = np.r_[np.full(200, 100.0), noise][:, None]
    return close


def test_a_straight_ramp_trends() -> None:
    labels = rule_regimes(ramp(), vol_rank_window=RANK)
    assert np.all(labels[WARM_UP + 1 :] == TREND)
    assert np.all(trend_strength(ramp())[25:] > 100)


def test_a_sawtooth_is_choppy() -> None:
    labels = rule_regimes(sawtooth(), vol_rank_window=RANK)
    assert np.all(labels[WARM_UP + 1 :] == CHOP)


def test_noise_after_a_flat_stretch_is_volatile() -> None:
    labels = rule_regimes(flat_then_noise(), vol_rank_window=RANK)[:, 0]
    assert np.all(labels[201:215] == VOLATILE)
    assert not np.any(labels[WARM_UP + 1 : 200] == VOLATILE)


def test_warm_up_and_missing_bars_are_unknown() -> None:
    close = ramp()
    close[150] = np.nan
    labels = rule_regimes(close, vol_rank_window=RANK)[:, 0]
    assert np.all(labels[:WARM_UP] == UNKNOWN)
    assert labels[WARM_UP] == TREND
    assert labels[150] == UNKNOWN


def test_precedence_trend_over_volatile_over_chop() -> None:
    # A ramp that starts after a flat stretch: volatility jumps, but the bar trends.
    close = np.r_[np.full(200, 100.0), 100.0 + 2.0 * np.arange(1.0, 41.0)][:, None]
    labels = rule_regimes(close, vol_rank_window=RANK)[:, 0]
    assert labels[225] == TREND
    # Flat with no range: choppiness is 100 (chop), volatility is flat: not volatile.
    assert labels[150] == CHOP
    assert (
        rule_regimes(flat_then_noise(), chop_threshold=101.0, vol_rank_window=RANK)[150, 0]
        == NEUTRAL
    )


def test_names() -> None:
    labels = np.array([[UNKNOWN, NEUTRAL, TREND, CHOP, VOLATILE]])
    assert rule_regime_names(labels).tolist() == [
        ["unknown", "neutral", "trend", "chop", "volatile"]
    ]


def test_symbols_are_independent() -> None:
    panel = np.hstack([ramp(), sawtooth(), flat_then_noise()[:300]])
    labels = rule_regimes(panel, vol_rank_window=RANK)
    np.testing.assert_array_equal(
        labels[:, 1], rule_regimes(sawtooth(), vol_rank_window=RANK)[:, 0]
    )


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 249))
def test_labels_are_causal(seed: int, cut: int) -> None:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, (250, 3)), axis=0))
    high, low = close * 1.01, close * 0.99
    labels = rule_regimes(close, high=high, low=low, vol_rank_window=RANK)
    changed = close.copy()
    changed[cut + 1 :] *= np.exp(rng.normal(0.0, 0.2, changed[cut + 1 :].shape))
    again = rule_regimes(changed, high=changed * 1.01, low=changed * 0.99, vol_rank_window=RANK)
    np.testing.assert_array_equal(again[: cut + 1], labels[: cut + 1])
    prefix = rule_regimes(
        close[: cut + 1], high=high[: cut + 1], low=low[: cut + 1], vol_rank_window=RANK
    )
    np.testing.assert_array_equal(prefix, labels[: cut + 1])


def test_a_wide_panel_is_labelled_as_each_symbol_alone() -> None:
    # More symbols than one block of the implementation: every column must still get the
    # labels it gets when it is the only symbol (the rules never mix symbols).
    rng = np.random.default_rng(3)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, (400, 300)), axis=0))
    high, low = close * 1.01, close * 0.99
    wide = rule_regimes(close, high=high, low=low, vol_rank_window=RANK)
    for j in (0, 127, 128, 255, 299):
        alone = rule_regimes(
            close[:, j : j + 1], high=high[:, j : j + 1], low=low[:, j : j + 1],
            vol_rank_window=RANK,
        )  # fmt: skip
        np.testing.assert_array_equal(wide[:, j : j + 1], alone)
    assert {TREND, CHOP, VOLATILE, NEUTRAL, UNKNOWN} >= set(np.unique(wide).tolist())
