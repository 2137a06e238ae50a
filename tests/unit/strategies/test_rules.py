"""The brain's rule objects: hand counts, thresholds, and row-by-row equal to the panel."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from harvester.strategies.rules import (
    BrainInputs,
    BrainRules,
    ConsensusRule,
    MarketFilterRule,
    TechnicalRule,
    ThresholdVoteRule,
    VwapRule,
    ZScoreRule,
)

VOTES = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6),
    elements=st.sampled_from([-1.0, 0.0, 1.0]),
)


def _hand_consensus(
    row: list[float], min_sources: int, max_negative: int | None
) -> tuple[bool, bool]:
    positive = sum(1 for v in row if v == 1.0)
    negative = sum(1 for v in row if v == -1.0)
    limit = len(row) if max_negative is None else max_negative
    buy = positive >= min_sources and negative <= limit and positive > negative
    sell = negative >= min_sources and positive <= limit and negative > positive
    return buy, sell


@settings(max_examples=150, deadline=None)
@given(
    votes=VOTES,
    min_sources=st.integers(1, 6),
    max_negative=st.none() | st.integers(0, 6),
)
def test_consensus_rule_counts_like_a_hand_count(
    votes: np.ndarray, min_sources: int, max_negative: int | None
) -> None:
    rule = ConsensusRule(min_sources, max_negative)
    buy, sell = rule.buy(votes), rule.sell(votes)
    positive, negative = rule.counts(votes)
    rows = votes.reshape(-1, votes.shape[-1])
    for k, row in enumerate(rows.tolist()):
        index = np.unravel_index(k, votes.shape[:-1]) if votes.ndim > 1 else ()
        expected_buy, expected_sell = _hand_consensus(row, min_sources, max_negative)
        assert bool(buy[index]) is expected_buy
        assert bool(sell[index]) is expected_sell
        assert positive[index] == row.count(1.0)
        assert negative[index] == row.count(-1.0)
    assert not np.any(buy & sell)


def test_consensus_rule_examples() -> None:
    # four sources: news, momentum, technical, microstructure
    votes = np.array(
        [
            [1, 1, 0, 0],  # two positive: buy
            [1, 0, 0, 0],  # one positive: nothing
            [1, 1, -1, 0],  # two positive, one negative: buy unless none negative allowed
            [-1, -1, 1, 0],  # sell
            [1, 1, -1, -1],  # tie: nothing
        ],
        dtype=float,
    )
    assert ConsensusRule(2).buy(votes).tolist() == [True, False, True, False, False]
    assert ConsensusRule(2).sell(votes).tolist() == [False, False, False, True, False]
    assert ConsensusRule(2, 0).buy(votes).tolist() == [True, False, False, False, False]
    assert ConsensusRule(3).buy(votes).tolist() == [False] * 5


def test_threshold_vote_abstains_on_nan_and_inside_the_band() -> None:
    rule = ThresholdVoteRule(0.05)
    values = np.array([0.3, -0.3, 0.05, -0.04, np.nan, 0.0])
    assert rule.vote(values).tolist() == [1.0, -1.0, 0.0, 0.0, 0.0, 0.0]
    assert ThresholdVoteRule(0.0).vote(np.array([0.01, -0.01, 0.0])).tolist() == [1, -1, 0]


def test_zscore_rule_uses_the_given_long_entry() -> None:
    rule = ZScoreRule(short_entry=2.0)
    z = np.array([-2.5, -2.5, -3.0, 2.0, 0.0, np.nan])
    entry = np.array([-2.0, -2.8, -2.8, -2.0, -2.0, -2.0])
    assert rule.vote(z, entry).tolist() == [1.0, 0.0, 1.0, -1.0, 0.0, 0.0]


def test_market_filter_rule_tightens_and_halves_below() -> None:
    below = np.array([[True, True], [False, False]])
    rule = MarketFilterRule(z_entry=-2.0, z_tighten=-2.8, long_size_multiplier=0.5)
    assert rule.long_entry_z(below).tolist() == [[-2.8, -2.8], [-2.0, -2.0]]
    assert rule.long_size(below).tolist() == [[0.5, 0.5], [1.0, 1.0]]
    off = MarketFilterRule(enabled=False)
    assert off.long_entry_z(below).tolist() == [[-2.0, -2.0], [-2.0, -2.0]]
    assert off.long_size(True).tolist() == 1.0


def test_technical_rule_score_by_hand() -> None:
    rule = TechnicalRule(pattern_weight=0.5, threshold=0.2)
    rsi = np.array([0.4, 0.4, np.nan, np.nan, 0.9])
    macd = np.array([0.0, np.nan, 0.3, np.nan, 0.9])
    bullish = np.array([0.0, 0.0, 1.0, 1.0, 1.0])
    bearish = np.array([0.0, 1.0, 0.0, 0.0, np.nan])
    score = rule.score(rsi, macd, bullish, bearish)
    # (0.4+0)/2 = 0.2; 0.4 - 0.5 = -0.1; 0.3 + 0.5 = 0.8; no RSI/MACD: NaN; 0.9+0.5 clipped
    np.testing.assert_allclose(score, [0.2, -0.1, 0.8, np.nan, 1.0])
    assert rule.vote(score).tolist() == [0.0, 0.0, 1.0, 0.0, 1.0]


def test_vwap_rule_blocks_only_extended_longs() -> None:
    ext = np.array([0.03, 0.02, -0.05, np.nan])
    assert VwapRule(0.02).blocks_long(ext).tolist() == [True, False, False, False]
    assert VwapRule(0.02, enabled=False).blocks_long(ext).tolist() == [False] * 4


def _random_inputs(rng: np.random.Generator, shape: tuple[int, int]) -> BrainInputs:
    def noisy(scale: float) -> np.ndarray:
        x = rng.normal(0.0, scale, shape)
        x[rng.random(shape) < 0.1] = np.nan
        return x

    return BrainInputs(
        sentiment=noisy(0.3),
        momentum=noisy(0.05),
        rsi_score=noisy(0.4),
        macd_score=noisy(0.4),
        bullish_patterns=(rng.random(shape) < 0.05).astype(float),
        bearish_patterns=(rng.random(shape) < 0.05).astype(float),
        zscore=noisy(2.0),
        vwap_extension=noisy(0.03),
        below=(rng.random((shape[0], 1)) < 0.4),
    )


@pytest.mark.parametrize("allow_short", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rules_on_single_rows_equal_the_full_panel(seed: int, allow_short: bool) -> None:
    rng = np.random.default_rng(seed)
    inputs = _random_inputs(rng, (60, 7))
    rules = BrainRules(allow_short=allow_short)
    panel = rules.decide(inputs)
    assert panel.direction.shape == (60, 7)
    assert panel.votes.shape == (60, 7, 4)
    assert np.any(panel.direction != 0)
    for t in range(60):
        row_inputs = BrainInputs._make(
            [*(np.asarray(v)[t] for v in inputs[:-1]), bool(np.asarray(inputs.below)[t, 0])]
        )
        row = rules.decide(row_inputs)
        for name, full, single in zip(panel._fields, panel, row, strict=True):
            np.testing.assert_array_equal(np.asarray(full)[t], single, err_msg=name)
        # one symbol, one bar: scalars in, 0-d arrays out
        cell = rules.decide(BrainInputs._make(np.asarray(v)[t, 0] for v in inputs))
        assert int(cell.direction) == int(panel.direction[t, 0])
        np.testing.assert_array_equal(cell.size, panel.size[t, 0])


def test_brain_rules_direction_exit_size() -> None:
    rules = BrainRules()
    nan = np.nan
    # rows: buy (2 positive: news + momentum); buy but VWAP-extended; sell; buy below SPY MA
    inputs = BrainInputs(
        sentiment=np.array([0.5, 0.5, -0.5, 0.5]),
        momentum=np.array([0.02, 0.02, -0.02, 0.02]),
        rsi_score=np.array([nan, nan, nan, nan]),
        macd_score=np.array([nan, nan, nan, nan]),
        bullish_patterns=np.zeros(4),
        bearish_patterns=np.zeros(4),
        zscore=np.array([0.0, 0.0, 0.0, 0.0]),
        vwap_extension=np.array([0.0, 0.05, 0.0, 0.0]),
        below=np.array([False, False, False, True]),
    )
    out = rules.decide(inputs)
    assert out.direction.tolist() == [1, 0, 0, 1]
    assert out.exit.tolist() == [False, False, True, False]
    assert out.size.tolist() == [1.0, 1.0, 1.0, 0.5]
    assert out.score.tolist() == [2.0, 0.0, 0.0, 2.0]
    short = BrainRules(allow_short=True).decide(inputs)
    assert short.direction.tolist() == [1, 0, -1, 1]
    assert short.exit.tolist() == [False] * 4
    assert short.score.tolist() == [2.0, 0.0, 2.0, 2.0]
