"""The ``consensus`` strategy (Python brain, daily bars) on synthetic and bundled data."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

from harvester.backtest.engine import run_backtest
from harvester.config.models import HarvesterConfig
from harvester.data.bundled import load_sample
from harvester.data.panel import Panel
from harvester.strategies.consensus import STRATEGY, momentum
from harvester.strategies.registry import STRATEGIES
from harvester.strategies.rules import BrainInputs
from harvester.testing import SyntheticParams, generate_market

DOWN_FROM, DOWN_LEVEL = 300, 80.0


def _config(**consensus: object) -> HarvesterConfig:
    return HarvesterConfig.model_validate({"strategies": {"consensus": consensus}})


@cache
def _panel() -> Panel:
    return generate_market(SyntheticParams(symbols=8, years=3, seed=11)).panel


@cache
def _panel_with_benchmark_drop() -> Panel:
    """The benchmark is flat at 100, then 80 from bar 300 on.

    By hand: the 200-day SMA at bar t ≥ 300 is (100·(499 − t) + 80·(t − 299)) / 200, above 80
    until bar 498 and exactly 80 from bar 499; so the close is below it on bars 300…498.
    """
    panel = _panel()
    values = np.where(np.arange(panel.shape[0]) < DOWN_FROM, 100.0, DOWN_LEVEL)
    return panel.with_aux("benchmark", pd.Series(values, index=panel.index))


def _hand_below(n: int) -> np.ndarray:
    expected = np.zeros(n, dtype=bool)
    expected[DOWN_FROM:499] = True
    return expected


def test_registered_with_its_config_slice() -> None:
    assert STRATEGIES["consensus"] is STRATEGY
    params = STRATEGY.params(HarvesterConfig())
    assert params.min_sources == 2  # type: ignore[attr-defined]
    assert params.spy_below_200ma_z_tighten == -2.8  # type: ignore[attr-defined]
    assert params.spy_below_200ma_long_size_multiplier == 0.5  # type: ignore[attr-defined]


def test_spy_below_200_day_halves_long_size_and_tightens_the_z_entry() -> None:
    panel = _panel_with_benchmark_drop()
    n = panel.shape[0]
    below = _hand_below(n)
    out = STRATEGY.generate(panel, HarvesterConfig())
    d = out.details
    assert d["market_filter"].shape == panel.shape
    np.testing.assert_array_equal(d["market_filter"][:, 0].astype(bool), below)
    np.testing.assert_array_equal(d["long_entry_z"][below], -2.8)
    np.testing.assert_array_equal(d["long_entry_z"][~below], -2.0)
    np.testing.assert_array_equal(d["long_size_multiplier"][below], 0.5)
    np.testing.assert_array_equal(d["long_size_multiplier"][~below], 1.0)
    # the Z-score vote, from an independent pandas z-score and the hand thresholds
    close = panel.frame("close")
    mean = close.rolling(20).mean()
    std = close.rolling(20).std(ddof=0)
    z = ((close - mean) / std).to_numpy()
    entry = np.where(below, -2.8, -2.0)[:, None]
    expected = np.where(z <= entry, 1.0, np.where(z >= 2.0, -1.0, 0.0))
    expected[np.isnan(z)] = 0.0
    near_edge = np.isclose(z, entry, atol=1e-9) | np.isclose(z, 2.0, atol=1e-9)
    np.testing.assert_array_equal(d["vote_microstructure"][~near_edge], expected[~near_edge])
    between = below[:, None] & (z > -2.8) & (z <= -2.0)
    assert between.any()  # the tightening matters on this data
    assert np.all(d["vote_microstructure"][between] == 0.0)
    # long size: halved on long entries below the average, full elsewhere
    s = out.signals
    longs = s.direction == 1
    assert (longs & below[:, None]).any() and (longs & ~below[:, None]).any()
    np.testing.assert_array_equal(s.size[longs & below[:, None]], 0.5)
    np.testing.assert_array_equal(s.size[longs & ~below[:, None]], 1.0)
    # switched off: no tightening, no halving
    off = STRATEGY.generate(panel, _config(spy_200ma_regime_enabled=False))
    assert not off.details["market_filter"].any()
    np.testing.assert_array_equal(off.signals.size, 1.0)


def test_market_filter_period_comes_from_the_regimes_section() -> None:
    panel = _panel_with_benchmark_drop()
    config = HarvesterConfig.model_validate({"regimes": {"market_filter_period": 50}})
    flag = STRATEGY.generate(panel, config).details["market_filter"][:, 0].astype(bool)
    # SMA(50) reaches 80 on bar 349: below on bars 300…348
    expected = np.zeros(panel.shape[0], dtype=bool)
    expected[DOWN_FROM:349] = True
    np.testing.assert_array_equal(flag, expected)


def test_missing_sentiment_abstains_and_present_sentiment_votes() -> None:
    panel = _panel()
    assert "sentiment" not in panel.fields
    out = STRATEGY.generate(panel, HarvesterConfig())
    assert np.isnan(out.details["sentiment"]).all()
    assert (out.details["vote_news"] == 0.0).all()
    rng = np.random.default_rng(5)
    sentiment = rng.uniform(-1.0, 1.0, panel.shape)
    sentiment[rng.random(panel.shape) < 0.5] = np.nan  # sessions without news
    with_news = STRATEGY.generate(panel.with_fields(sentiment=sentiment), HarvesterConfig())
    expected = np.where(sentiment > 0.05, 1.0, np.where(sentiment < -0.05, -1.0, 0.0))
    np.testing.assert_array_equal(with_news.details["vote_news"], expected)
    # the other sources do not change
    for name in ("vote_momentum", "vote_technical", "vote_microstructure"):
        np.testing.assert_array_equal(with_news.details[name], out.details[name])


def test_vote_counts_match_the_source_votes() -> None:
    out = STRATEGY.generate(_panel(), HarvesterConfig())
    d = out.details
    votes = np.stack([d[f"vote_{s}"] for s in ("news", "momentum", "technical", "microstructure")])
    np.testing.assert_array_equal(d["positive_votes"], (votes > 0).sum(axis=0))
    np.testing.assert_array_equal(d["negative_votes"], (votes < 0).sum(axis=0))
    buy = (d["positive_votes"] >= 2) & (d["positive_votes"] > d["negative_votes"])
    np.testing.assert_array_equal(d["buy_consensus"].astype(bool), buy)
    longs = buy & (d["vwap_block"] == 0.0)
    np.testing.assert_array_equal(out.signals.direction == 1, longs)
    # long-only by default: a sell consensus is an exit, never a short
    assert not (out.signals.direction == -1).any()
    np.testing.assert_array_equal(out.signals.exit, d["sell_consensus"].astype(bool))


def test_momentum_source_by_hand() -> None:
    close = np.array([[10.0], [11.0], [12.0], [np.nan], [9.0]])
    np.testing.assert_allclose(
        momentum(close, lookback=2), [[np.nan], [np.nan], [0.2], [np.nan], [-0.25]]
    )


def test_shorts_follow_the_config() -> None:
    panel = _panel()
    out = STRATEGY.generate(panel, _config(allow_short=True))
    sell = out.details["sell_consensus"].astype(bool)
    assert sell.any()
    np.testing.assert_array_equal(out.signals.direction == -1, sell)
    assert not out.signals.exit.any()
    engine_off = HarvesterConfig.model_validate(
        {
            "strategies": {"consensus": {"allow_short": True}},
            "risk_management": {"allow_short": False},
        }
    )
    assert not (STRATEGY.generate(panel, engine_off).signals.direction == -1).any()


def test_the_strategy_is_the_rules_row_by_row() -> None:
    """The stream consumer feeds one row; it must decide what the panel run decided."""
    panel = _panel_with_benchmark_drop()
    out = STRATEGY.generate(panel, HarvesterConfig())
    from harvester.strategies.consensus import brain_rules

    rules = brain_rules(HarvesterConfig().strategies.consensus, allow_short=False)
    d = out.details
    for t in (0, 30, 120, 310, 450, 600):
        row = rules.decide(
            BrainInputs(
                d["sentiment"][t], d["momentum"][t], d["rsi_score"][t], d["macd_score"][t],
                d["bullish_patterns"][t], d["bearish_patterns"][t], d["zscore"][t],
                d["vwap_extension"][t], bool(d["market_filter"][t, 0]),
            )
        )  # fmt: skip
        np.testing.assert_array_equal(row.direction, out.signals.direction[t])
        np.testing.assert_array_equal(row.exit, out.signals.exit[t])
        np.testing.assert_array_equal(row.size, out.signals.size[t])
        np.testing.assert_array_equal(row.score, out.signals.score[t])


@pytest.mark.parametrize("cut", [40, 250, 520])
def test_truncating_the_panel_leaves_earlier_rows_unchanged(cut: int) -> None:
    panel = _panel_with_benchmark_drop()
    full = STRATEGY.generate(panel, HarvesterConfig())
    part = STRATEGY.generate(panel.slice(end=panel.index[cut - 1]), HarvesterConfig())
    for a, b in zip(map(np.asarray, full.signals), map(np.asarray, part.signals), strict=True):
        np.testing.assert_array_equal(a[:cut], b)
    assert full.details.keys() == part.details.keys()
    for name in full.details:
        np.testing.assert_array_equal(full.details[name][:cut], part.details[name], err_msg=name)


def test_details_are_time_by_symbol_floats() -> None:
    panel = _panel()
    out = STRATEGY.generate(panel, HarvesterConfig())
    for name, values in out.details.items():
        assert values.shape == panel.shape, name
        assert values.dtype == np.float64, name
    assert out.signals.direction.dtype == np.int8


def test_produces_trades_on_the_bundled_sample() -> None:
    panel = load_sample()
    config = HarvesterConfig()
    out = STRATEGY.generate(panel, config)
    result = run_backtest(panel, out.signals, config)
    assert len(result.trades) > 0
    for key in ("total_return", "sharpe", "max_drawdown"):
        assert np.isfinite(result.metrics[key]), key
