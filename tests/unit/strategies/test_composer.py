"""Composer: base scores, eligible sets, softmax weights, regime shifts, signals, sample run."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from harvester.backtest.engine import run_backtest
from harvester.config.loader import ConfigRequest, load_config
from harvester.config.models import HarvesterConfig
from harvester.config.strategies import ComposerStrategyConfig
from harvester.data.bundled import load_sample
from harvester.data.panel import Panel
from harvester.features._memo import new_memo, sharing
from harvester.regimes.rules import CHOP, TREND
from harvester.strategies._composer_blend import (
    breakout_score,
    channel_position,
    eligible_mask,
    kernel_inputs,
    mean_reversion_score,
    momentum_score,
    momentum_sigma,
    regime_logits,
    regime_weights,
    softmax_weights,
)
from harvester.strategies._kernels import base_scores_nb, momentum_ratio_nb
from harvester.strategies.composer import STRATEGY, generate, generate_reference
from harvester.strategies.registry import STRATEGIES
from harvester.testing import SyntheticParams, generate_market


def make_panel(closes: dict[str, np.ndarray], spread: float = 0.0) -> Panel:
    """A panel whose high/low are ``close · (1 ± spread)``; open = close."""
    symbols = tuple(closes)
    close = np.column_stack([closes[s] for s in symbols]).astype(np.float64)
    index = pd.bdate_range("2015-01-01", periods=close.shape[0])
    fields = {
        "open": close,
        "high": close * (1.0 + spread),
        "low": close * (1.0 - spread),
        "close": close,
        "volume": np.full(close.shape, 1e6),
    }
    return Panel(index, symbols, fields)


def config(**sections: Any) -> HarvesterConfig:
    return HarvesterConfig.model_validate(sections)


def random_walk_panel(seed: int, symbols: tuple[str, ...], n: int = 320) -> Panel:
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 0.02, size=(n, len(symbols)))
    close = 50.0 * np.exp(np.cumsum(steps, axis=0))
    wiggle = np.abs(rng.normal(0.0, 0.01, size=close.shape))
    index = pd.bdate_range("2016-01-01", periods=n)
    fields = {
        "open": close * (1.0 + rng.normal(0.0, 0.005, size=close.shape)),
        "high": close * (1.0 + wiggle),
        "low": close * (1.0 - wiggle),
        "close": close,
        "volume": np.full(close.shape, 1e6),
    }
    return Panel(index, symbols, fields)


# -- (1) regime shifts --------------------------------------------------------------------


def test_trend_favours_momentum_and_chop_favours_mean_reversion() -> None:
    n = 400
    t = np.arange(n, dtype=np.float64)
    trend = 100.0 * np.exp(0.01 * t)  # a noiseless exponential ramp
    chop = 100.0 + 2.0 * np.array([0.0, 1.0, 0.0, -1.0])[np.arange(n) % 4]  # period-4 wave
    out = generate(make_panel({"BTC-USD": trend, "ETH-USD": chop}), HarvesterConfig())
    regime, w_mom, w_mr = (out.details[k] for k in ("regime", "weight_mom", "weight_mr"))
    late = slice(300, n)
    assert (regime[late, 0] == TREND).all()
    assert (regime[late, 1] == CHOP).all()
    e = math.e
    # Default logits: trend (2, 0, 1), chop (0, 2, 0), neutral/unknown (1, 1, 1); T = 1.
    assert w_mom[late, 0] == pytest.approx(e**2 / (e**2 + 1.0 + e))
    assert w_mr[late, 0] == pytest.approx(1.0 / (e**2 + 1.0 + e))
    assert w_mr[late, 1] == pytest.approx(e**2 / (e**2 + 2.0))
    assert w_mom[late, 1] == pytest.approx(1.0 / (e**2 + 2.0))
    # In warm-up the regime is unknown and the weights are the neutral 1/3 each: a shift.
    assert w_mom[100, 0] == pytest.approx(1.0 / 3.0)
    assert w_mr[100, 1] == pytest.approx(1.0 / 3.0)


def test_lower_temperature_sharpens_the_weights() -> None:
    n = 320
    trend = 100.0 * np.exp(0.01 * np.arange(n))
    panel = make_panel({"BTC-USD": trend})
    cold = generate(panel, config(composer={"temperature": 0.5})).details["weight_mom"][-1, 0]
    e4 = math.e**4
    assert cold == pytest.approx(e4 / (e4 + 1.0 + math.e**2))


# -- base scores by hand -------------------------------------------------------------------


def test_base_scores_and_blend_on_a_linear_ramp() -> None:
    close = 100.0 + np.arange(60, dtype=np.float64)
    out = generate(make_panel({"BTC-USD": close}), HarvesterConfig())
    d = out.details
    sigma = math.sqrt((20**2 - 1) / 12.0)  # population std of 20 consecutive integers
    mom = math.tanh(5.0 / (0.5 * sigma))  # SMA10 − SMA20 = 5 on a unit ramp
    mr = -min(9.5 / sigma / 2.0, 1.0)  # close − SMA20 = 9.5
    assert d["score_mom"][-1, 0] == pytest.approx(mom)
    assert d["score_mr"][-1, 0] == pytest.approx(mr)
    assert d["score_bo"][-1, 0] == pytest.approx(1.0)  # a new 20-bar high
    assert d["regime"][-1, 0] == -1.0  # volatility rank still warming up → neutral weights
    assert d["blend"][-1, 0] == pytest.approx((mom + mr + 1.0) / 3.0)
    assert out.signals.direction[-1, 0] == 1
    assert out.signals.score[-1, 0] == pytest.approx((mom + mr + 1.0) / 3.0)
    assert np.isnan(d["blend"][:19, 0]).all()  # 20-bar windows not full yet
    assert (out.signals.direction[:19] == 0).all()


def test_breakout_is_zero_inside_the_channel() -> None:
    # 20 bars ranging 90..110, then a close at 100: x = 0 → score 0; at 109: x = 0.9 → 0.5.
    base = np.where(np.arange(20) % 2 == 0, 90.0, 110.0)
    panel = make_panel({"SPY": np.append(base[:-1], [100.0]), "TSLA": np.append(base[:-1], 109)})
    score = generate(panel, HarvesterConfig()).details["score_bo"][-1]
    assert score[0] == pytest.approx(0.0)
    assert score[1] == pytest.approx(0.5)


# -- (2) softmax ---------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    logits=arrays(np.float64, (6, 3), elements=st.floats(-10.0, 10.0)),
    eligible=arrays(np.bool_, (6, 3)),
    temperature=st.floats(0.05, 50.0),
)
def test_softmax_weights_sum_to_one_over_the_eligible(
    logits: np.ndarray, eligible: np.ndarray, temperature: float
) -> None:
    weights = softmax_weights(logits, eligible, temperature)
    for row in range(6):
        if not eligible[row].any():
            assert np.isnan(weights[row]).all()
            continue
        assert weights[row].sum() == pytest.approx(1.0)
        assert (weights[row][~eligible[row]] == 0.0).all()
        assert ((weights[row] >= 0.0) & (weights[row] <= 1.0)).all()
        # Independent computation with math.exp, shifted by the largest eligible logit.
        top = max(logits[row][eligible[row]]) / temperature
        raw = [
            math.exp(x / temperature - top) if ok else 0.0
            for x, ok in zip(logits[row], eligible[row], strict=True)
        ]
        assert weights[row] == pytest.approx([r / sum(raw) for r in raw], abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(
    labels=arrays(np.int64, (12, 4), elements=st.integers(-1, 3)),
    eligible=arrays(np.bool_, (4, 3)),
    weights=st.lists(st.floats(-5.0, 5.0), min_size=12, max_size=12),
    temperature=st.floats(0.1, 10.0),
    unknown_as_neutral=st.booleans(),
)
def test_regime_weights_equal_the_softmax_of_every_bar(
    labels: np.ndarray,
    eligible: np.ndarray,
    weights: list[float],
    temperature: float,
    unknown_as_neutral: bool,
) -> None:
    names = [f"w_{r}_{s}" for r in ("trend", "chop", "volatile", "neutral")
             for s in ("momentum", "mean_reversion", "breakout")]  # fmt: skip
    p = ComposerStrategyConfig.model_validate(
        dict(zip(names, weights, strict=True)) | {"unknown_as_neutral": unknown_as_neutral}
    )
    per_bar = softmax_weights(regime_logits(labels, p), eligible, temperature)
    np.testing.assert_array_equal(regime_weights(labels, eligible, p, temperature), per_bar)


def test_softmax_of_nan_logits_has_no_opinion() -> None:
    weights = softmax_weights(np.array([[np.nan, 1.0, 0.0]]), np.array([True, True, False]), 1.0)
    assert np.isnan(weights).all()


# -- (3) eligible sets ---------------------------------------------------------------------


def test_eligible_mask_by_asset_class() -> None:
    mask = eligible_mask(["crypto", "etf", "equity"])
    # Columns: momentum, mean_reversion, breakout.
    assert mask.tolist() == [[True, True, True], [True, True, False], [True, False, True]]
    only_mom = eligible_mask(["crypto", "etf"], ("momentum",))
    assert only_mom.tolist() == [[True, False, False], [True, False, False]]


def test_weights_follow_the_asset_class_of_each_symbol() -> None:
    panel = random_walk_panel(3, ("BTC-USD", "SPY", "TSLA"))
    assert [panel.meta[s].asset_class for s in panel.symbols] == ["crypto", "etf", "equity"]
    d = generate(panel, HarvesterConfig()).details
    w = np.stack([d["weight_mom"], d["weight_mr"], d["weight_bo"]], axis=-1)
    assert (w[:, 0] > 0.0).all()  # crypto: all three
    assert (w[:, 1, 2] == 0.0).all() and (w[:, 1, :2] > 0.0).all()  # ETF: no breakout
    assert (w[:, 2, 1] == 0.0).all() and (w[:, 2, [0, 2]] > 0.0).all()  # equity: no MR
    assert np.allclose(w.sum(axis=-1), 1.0)


def test_the_composer_section_narrows_the_eligible_set() -> None:
    panel = random_walk_panel(4, ("BTC-USD", "TSLA"))
    out = generate(panel, config(composer={"eligible_strategies": ["momentum"]}))
    assert (out.details["weight_mom"] == 1.0).all()
    finite = np.isfinite(out.details["score_mom"])
    assert np.array_equal(out.details["blend"][finite], out.details["score_mom"][finite])


# -- (4) bounds ----------------------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_scores_and_blend_are_bounded(seed: int) -> None:
    out = generate(random_walk_panel(seed, ("BTC-USD", "SPY", "TSLA", "AAPL")), HarvesterConfig())
    for key in ("score_mom", "score_mr", "score_bo", "blend"):
        values = out.details[key]
        assert (np.abs(values[np.isfinite(values)]) <= 1.0).all(), key
    s = out.signals
    assert ((s.score >= 0.0) & (s.score <= 1.0)).all()
    assert set(np.unique(s.direction)) <= {-1, 0, 1}
    assert not (s.exit & (s.direction != 0)).any()


# -- signals -------------------------------------------------------------------------------


def test_entries_and_exits_follow_the_thresholds() -> None:
    panel = random_walk_panel(11, ("BTC-USD", "ETH-USD", "TSLA"), n=200)
    cfg = config(
        composer={"eligible_strategies": ["momentum"]},
        strategies={"composer": {"entry_threshold": 0.5, "exit_threshold": 0.2}},
    )
    out = generate(panel, cfg)
    blend = out.details["score_mom"]  # the blend is the momentum score alone
    n, m = blend.shape
    for j in range(m):  # independent bar-by-bar replay of the rule
        side = 0
        for t in range(n):
            b = blend[t, j]
            want_dir = 0 if not np.isfinite(b) or abs(b) < 0.5 else int(np.sign(b))
            side = want_dir or side  # the side of the latest entry signal, this bar's included
            want_exit = np.isfinite(b) and ((side > 0 and b < 0.2) or (side < 0 and b > -0.2))
            assert out.signals.direction[t, j] == want_dir
            assert out.signals.exit[t, j] == want_exit
    assert (out.signals.size == 1.0).all()
    assert (out.signals.direction != 0).any() and out.signals.exit.any()


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="exit_threshold"):
        ComposerStrategyConfig(entry_threshold=0.2, exit_threshold=0.3)


# -- causality -----------------------------------------------------------------------------


def test_truncating_the_panel_leaves_earlier_rows_unchanged() -> None:
    panel = generate_market(SyntheticParams(symbols=4, years=2, seed=5)).panel
    full = generate(panel, HarvesterConfig())
    for cut in (30, 280, 400):
        part = generate(panel.slice(end=panel.index[cut]), HarvesterConfig())
        for name in ("direction", "exit", "size", "score"):
            a, b = getattr(part.signals, name), getattr(full.signals, name)[: cut + 1]
            assert np.array_equal(a, b), name
        for key, values in part.details.items():
            assert np.array_equal(values, full.details[key][: cut + 1], equal_nan=True), key


# -- (5) bundled sample, registry, risk profiles -------------------------------------------


def test_registered() -> None:
    assert STRATEGIES["composer"] is STRATEGY
    assert STRATEGY.params(HarvesterConfig()) == ComposerStrategyConfig()


def test_trades_on_the_bundled_sample() -> None:
    panel = load_sample()
    cfg = HarvesterConfig()
    result = run_backtest(panel, generate(panel, cfg).signals, cfg)
    assert len(result.trades) > 0
    for key in ("total_return", "sharpe", "max_drawdown"):
        assert math.isfinite(result.metrics[key]), key


@pytest.mark.parametrize(
    ("profile", "exposure", "drawdown"),
    [("risk_low", 25.0, 8.0), ("risk_balanced", 50.0, 15.0), ("risk_strict", 75.0, 25.0)],
)
def test_runs_under_each_risk_profile(
    profile: str, exposure: float, drawdown: float, tmp_path: Path
) -> None:
    resolved = load_config(
        ConfigRequest(profile=profile), environ={"HARVESTER_HOME": str(tmp_path)}
    )
    cfg = resolved.config
    assert cfg.risk_params.max_gross_exposure_pct == exposure
    assert cfg.risk_params.max_drawdown_pct == drawdown
    panel = generate_market(SyntheticParams(symbols=6, years=2, seed=9)).panel
    out = generate(panel, cfg)
    result = run_backtest(panel, out.signals, cfg)
    assert (out.signals.direction != 0).any()
    assert math.isfinite(result.metrics["total_return"])


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    weights=st.lists(st.floats(-3.0, 3.0), min_size=4, max_size=4),
    temperature=st.floats(0.2, 5.0),
    entry=st.floats(0.05, 0.9),
    exit_share=st.floats(0.0, 0.99),
    unknown_as_neutral=st.booleans(),
)
def test_the_fused_kernel_equals_the_numpy_twin(
    seed: int,
    weights: list[float],
    temperature: float,
    entry: float,
    exit_share: float,
    unknown_as_neutral: bool,
) -> None:
    panel = generate_market(SyntheticParams(symbols=3, years=1, seed=seed)).panel
    overrides = {
        "w_trend_momentum": weights[0], "w_chop_mean_reversion": weights[1],
        "w_volatile_breakout": weights[2], "w_neutral_momentum": weights[3],
        "entry_threshold": entry, "exit_threshold": entry * exit_share,
        "unknown_as_neutral": unknown_as_neutral,
    }  # fmt: skip
    config = HarvesterConfig.model_validate(
        {"strategies": {"composer": overrides}, "composer": {"temperature": temperature}}
    )
    fused, twin = generate(panel, config), generate_reference(panel, config)
    for name in fused.signals._fields:
        np.testing.assert_array_equal(getattr(fused.signals, name), getattr(twin.signals, name))
    # The fused output's explaining arrays are computed by the twin when asked for; what the
    # kernel itself makes is checked against the twin's blend: the score is |blend|.
    blend = twin.details["blend"]
    expected_score = np.where(np.isfinite(blend), np.abs(blend), 0.0)
    np.testing.assert_array_equal(fused.signals.score, expected_score)
    assert fused.details.keys() == twin.details.keys()


# -- the kernel's base scores equal the numpy definitions bit for bit ----------------------


def assert_same_bits(actual: np.ndarray, expected: np.ndarray) -> None:
    """Equal NaN masks and equal bit patterns elsewhere (so −0.0 differs from 0.0)."""
    nan = np.isnan(expected)
    np.testing.assert_array_equal(np.isnan(actual), nan)
    np.testing.assert_array_equal(actual[~nan].view(np.int64), expected[~nan].view(np.int64))


@st.composite
def awkward_panels(draw: st.DrawFn) -> Panel:
    """Random walks, or closes on a small integer grid (flat windows, σ = 0, channel
    positions at 0, ½, 1 and at the zone edges), with runs of NaN and of a repeated close."""
    n, m = draw(st.integers(60, 120)), draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        close = 10.0 + rng.integers(0, 5, size=(n, m)).astype(np.float64)
    else:
        close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, size=(n, m)), axis=0))
    for _ in range(draw(st.integers(0, 3))):  # a flat run: one close repeated
        j, start, length = rng.integers(m), rng.integers(n), rng.integers(5, 40)
        close[start : start + length, j] = close[start, j]
    for _ in range(draw(st.integers(0, 2))):  # a gap of missing bars
        j, start, length = rng.integers(m), rng.integers(n), rng.integers(1, 6)
        close[start : start + length, j] = np.nan
    spread = draw(st.sampled_from([0.0, 0.01]))
    symbols = ("BTC-USD", "SPY", "TSLA", "ETH-USD")[:m]
    return make_panel(dict(zip(symbols, close.T, strict=True)), spread=spread)


score_params = st.fixed_dictionaries(
    {
        "momentum_fast": st.integers(1, 8),
        "momentum_lookback": st.integers(9, 25),
        "momentum_scale": st.sampled_from([0.5, 1.0]) | st.floats(1e-3, 10.0),
        "mean_reversion_lookback": st.integers(2, 25),
        "mean_reversion_z": st.sampled_from([1.0, 2.0]) | st.floats(0.05, 5.0),
        "breakout_lookback": st.integers(2, 25),
        "breakout_zone": st.sampled_from([0.2, 0.25, 0.5, 1.0]) | st.floats(1e-3, 1.0),
    }
)


@settings(max_examples=60, deadline=None)
@given(panel=awkward_panels(), overrides=score_params)
def test_the_kernel_scores_equal_the_numpy_scores_bit_for_bit(
    panel: Panel, overrides: dict[str, Any]
) -> None:
    p = ComposerStrategyConfig.model_validate(overrides)
    momentum, z, position = kernel_inputs(panel, p)
    mean_reversion, breakout = base_scores_nb(z, position, p.mean_reversion_z, p.breakout_zone)
    assert_same_bits(momentum, momentum_score(panel, p))
    assert_same_bits(mean_reversion, mean_reversion_score(panel, p))
    assert_same_bits(breakout, breakout_score(panel, p))
    # And the fused signals equal the numpy twin's with these score parameters.
    cfg = HarvesterConfig.model_validate({"strategies": {"composer": overrides}})
    fused, twin = generate(panel, cfg), generate_reference(panel, cfg)
    for name in fused.signals._fields:
        np.testing.assert_array_equal(getattr(fused.signals, name), getattr(twin.signals, name))


def test_momentum_ratio_by_hand() -> None:
    fast = np.array([[3.0, 3.0, 3.0, np.nan, 3.0]])
    slow = np.array([[1.0, 1.0, 1.0, 1.0, 1.0]])
    sigma = np.array([[4.0, 0.0, np.nan, 0.0, -1.0]])
    # gap 2 / (0.5 · 4) = 1; a flat window with a finite gap: 0; σ unknown, gap unknown or
    # σ < 0: NaN.
    ratio = momentum_ratio_nb(fast, slow, sigma, 0.5)
    np.testing.assert_array_equal(ratio, [[1.0, 0.0, np.nan, np.nan, np.nan]])


def test_mean_reversion_and_breakout_scores_by_hand() -> None:
    z = np.array([[-5.0, -1.0, 0.0, 3.0, np.nan]])
    position = np.array([[1.0, 0.0, 0.5, 0.9, np.nan]])
    mean_reversion, breakout = base_scores_nb(z, position, 2.0, 0.2)
    np.testing.assert_array_equal(mean_reversion, [[1.0, 0.5, 0.0, -1.0, np.nan]])
    # x = 2·position − 1 = 1, −1, 0, 0.8; zone 0.2: ±1 at the edges, 0 inside and at 0.8.
    np.testing.assert_allclose(breakout, [[1.0, -1.0, 0.0, 0.0, np.nan]], atol=1e-12)
    _, halfway = base_scores_nb(z, np.array([[0.95, 0.05, 0.2, 0.8, 0.0]]), 2.0, 0.2)
    np.testing.assert_allclose(halfway, [[0.5, -0.5, 0.0, 0.0, -1.0]], atol=1e-12)


def test_a_study_shares_the_integer_parameter_intermediates() -> None:
    panel = random_walk_panel(8, ("BTC-USD", "SPY"), n=120)
    memo = new_memo()
    outputs = []
    for scale in (0.5, 2.0):
        cfg = config(strategies={"composer": {"momentum_scale": scale}})
        with sharing(memo):
            sigma = momentum_sigma(panel, period=20)
            position = channel_position(panel, period=20)
            outputs.append(generate(panel, cfg).signals)
            assert momentum_sigma(panel, period=20) is sigma
            assert channel_position(panel, period=20) is position
        alone = generate(panel, cfg).signals  # outside the memo: the same signals
        for name in alone._fields:
            np.testing.assert_array_equal(getattr(outputs[-1], name), getattr(alone, name))
    upper = pd.DataFrame(panel.array("close")).rolling(20).std(ddof=0).to_numpy()
    np.testing.assert_allclose(sigma, upper, rtol=1e-9, atol=1e-12)
