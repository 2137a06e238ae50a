"""The ``panic`` strategy (Harvester II): universe, contrarian entries, conviction, G-Score."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from harvester.backtest.engine import run_backtest
from harvester.config.loader import ConfigRequest, load_config
from harvester.config.models import HarvesterConfig
from harvester.data.bundled import load_sample
from harvester.data.panel import Panel
from harvester.features.registry import FEATURES
from harvester.strategies.panic import STRATEGY
from harvester.strategies.registry import STRATEGIES
from harvester.testing import SyntheticParams, generate_market

REACTIVE = (0, 2, 3)
CALM = (1, 4, 5)


def _config(**sections: Mapping[str, Any]) -> HarvesterConfig:
    """Defaults with some keys replaced, e.g. ``bayesian={"enabled": False}``."""
    base = HarvesterConfig().model_dump()
    for name, values in sections.items():
        base[name] = {**base[name], **values}
    return HarvesterConfig.model_validate(base)


def _panel(seed: int = 3, years: int = 2) -> Panel:
    """Six symbols; attention follows cumulative |return| for REACTIVE, noise for CALM."""
    panel = generate_market(SyntheticParams(symbols=6, years=years, seed=seed)).panel
    close = panel.array("close")
    abs_return = np.zeros(close.shape)
    abs_return[1:] = np.abs(np.log(close[1:] / close[:-1]))
    rng = np.random.default_rng(seed)
    attention = 50.0 * np.exp(0.1 * rng.standard_normal(close.shape))
    attention[:, REACTIVE] = 50.0 + 2000.0 * np.cumsum(abs_return, axis=0)[:, REACTIVE]
    return panel.with_fields(attention=attention)


DISABLED = {"enabled": False}


# (1) universe ---------------------------------------------------------------------------


def test_cri_selects_exactly_the_crowd_reactive_symbols() -> None:
    panel = _panel()
    out = STRATEGY.generate(panel, _config(bayesian=DISABLED))
    tradable = out.details["tradable"][60:]  # after the CRI warm-up (2 × 20 − 1 bars)
    share = tradable.mean(axis=0)
    assert set(np.flatnonzero(share > 0.5).tolist()) == set(REACTIVE)
    assert (share[list(REACTIVE)] > 0.9).all()
    assert (share[list(CALM)] < 0.1).all()


def test_no_entry_outside_the_universe() -> None:
    panel = _panel()
    out = STRATEGY.generate(panel, _config(bayesian=DISABLED))
    untradable = out.details["tradable"] == 0.0
    assert not (out.signals.direction[untradable] != 0).any()
    assert not out.signals.exit[untradable].any()


def test_strategy_threshold_overrides_the_universe_threshold() -> None:
    panel = _panel()
    everything = {"cri_threshold": -1.0}
    out = STRATEGY.generate(panel, _config(bayesian=DISABLED, strategies={"panic": everything}))
    warm = np.isfinite(out.details["cri"])
    assert (out.details["tradable"][warm] == 1.0).all()


# (2) G-Score -------------------------------------------------------------------------------


def test_g_score_of_two_or_more_halves_the_size() -> None:
    panel = _panel()
    n = panel.shape[0]
    vix = np.where((np.arange(n) >= 300) & (np.arange(n) < 400), 30.0, 15.0)
    benchmark = np.where((np.arange(n) >= 300) & (np.arange(n) < 400), 90.0, 100.0)
    oil = np.full(n, 70.0)
    for name, values in (("vix", vix), ("benchmark", benchmark), ("oil", oil)):
        panel = panel.with_aux(name, pd.Series(values, index=panel.index))
    out = STRATEGY.generate(panel, _config(bayesian=DISABLED))
    # By hand: VIX > 25 on bars 300..399; the 7-bar benchmark return is −10 % on bars
    # 300..306 only (100 → 90), +11 % on 400..406; oil never moves. G ≥ 2 on 300..306.
    expected = np.ones(n)
    expected[300:307] = 0.5
    np.testing.assert_array_equal(out.signals.size[7:], np.repeat(expected[7:, None], 6, axis=1))
    assert (out.details["g_score"][300:307] == 2.0).all()
    assert (out.details["g_score"][307:400] == 1.0).all()


def test_panel_without_macro_series_never_halves() -> None:
    panel = _panel()
    bare = replace(panel, aux={})
    out = STRATEGY.generate(bare, _config(bayesian=DISABLED))
    assert (out.signals.size == 1.0).all()
    assert np.isnan(out.details["g_score"]).all()


# (3) contrarian direction ------------------------------------------------------------------


def _shocked(factor: float, bar: int = 300, symbol: int = 0) -> Panel:
    """The synthetic panel with one symbol gapping by ``factor`` at ``bar`` on 10× volume."""
    panel = _panel()
    fields = {k: np.array(v) for k, v in panel.fields.items()}
    for name in ("open", "high", "low", "close"):
        fields[name][bar:, symbol] *= factor
    fields["volume"][bar, symbol] *= 10.0
    return panel.with_fields(**fields)


ALL_SYMBOLS = {"panic": {"cri_threshold": -1.0}}


@pytest.mark.parametrize(("factor", "contrarian", "expected"), [
    (0.8, True, 1), (1.25, True, -1), (0.8, False, -1), (1.25, False, 1),
])  # fmt: skip
def test_sharp_moves_are_faded_or_followed(factor: float, contrarian: bool, expected: int) -> None:
    strategies = {"panic": {"cri_threshold": -1.0, "contrarian": contrarian}}
    out = STRATEGY.generate(_shocked(factor), _config(bayesian=DISABLED, strategies=strategies))
    assert out.details["panic_score"][300, 0] > 3.0
    assert out.signals.direction[300, 0] == expected
    assert out.signals.score[300, 0] == out.details["panic_score"][300, 0]


def test_without_shorts_a_sharp_rise_closes_longs_instead() -> None:
    config = _config(
        bayesian=DISABLED, strategies=ALL_SYMBOLS, risk_management={"allow_short": False}
    )
    out = STRATEGY.generate(_shocked(1.25), config)
    assert out.signals.direction[300, 0] == 0
    assert out.signals.exit[300, 0]
    assert (out.signals.direction >= 0).all()


def test_entries_match_an_independent_rule_check() -> None:
    panel = _panel(seed=11)
    out = STRATEGY.generate(panel, _config(bayesian=DISABLED, strategies=ALL_SYMBOLS))
    panic = FEATURES.compute(panel, "panic_score")
    close = panel.array("close")
    move = np.full(close.shape, np.nan)
    move[3:] = close[3:] / close[:-3] - 1.0
    hot = np.nan_to_num(panic) > 3.0
    expected = np.where(hot & (move < 0), 1, np.where(hot & (move > 0), -1, 0))
    np.testing.assert_array_equal(out.signals.direction, expected)
    assert (expected != 0).sum() > 10


# (4) conviction gating ---------------------------------------------------------------------


def test_conviction_gates_and_scales_entries_only_when_enabled() -> None:
    panel = _panel(seed=5, years=3)
    off = STRATEGY.generate(panel, _config(bayesian=DISABLED, strategies=ALL_SYMBOLS))
    on = STRATEGY.generate(panel, _config(strategies=ALL_SYMBOLS))
    entries_off = off.signals.direction != 0
    entries_on = on.signals.direction != 0
    conviction = on.details["conviction"]
    panic = on.details["panic_score"]
    assert np.isnan(off.details["conviction"]).all()
    assert np.isfinite(conviction).all()
    # Enabled: an entry needs conviction ≥ 0.7 and panic × conviction > 3.
    assert (conviction[entries_on] >= 0.7).all()
    assert (panic[entries_on] * conviction[entries_on] > 3.0).all()
    np.testing.assert_allclose(on.signals.score[entries_on], (panic * conviction)[entries_on])
    expected_on = entries_off & (conviction >= 0.7) & (np.nan_to_num(panic * conviction) > 3.0)
    np.testing.assert_array_equal(entries_on, expected_on)
    assert 0 < entries_on.sum() < entries_off.sum()
    # Before the first refit (252 bars) the HMM has no opinion: the chain falls back.
    assert (on.details["conviction_source"][:252] > 0).all()
    assert (on.details["conviction_source"][252:] == 0).all()


def test_fallback_conviction_applies_before_the_first_refit() -> None:
    panel = _panel(seed=5)
    sure = _config(strategies=ALL_SYMBOLS, bayesian={"fallback_conviction": 1.0})
    out = STRATEGY.generate(panel, sure)
    default = out.details["conviction_source"] == 2.0
    assert default[:100].all()
    assert (out.details["conviction"][default] == 1.0).all()
    off = STRATEGY.generate(panel, _config(bayesian=DISABLED, strategies=ALL_SYMBOLS))
    np.testing.assert_array_equal(out.signals.direction[default], off.signals.direction[default])


# causality, registry, sample, shipped config -----------------------------------------------


@pytest.mark.parametrize("cut", [120, 252, 253, 400])
def test_truncated_panel_gives_the_same_rows(cut: int) -> None:
    panel = _panel(seed=8)
    config = _config(strategies={"panic": {"hmm_refit_every": 126}})
    full = STRATEGY.generate(panel, config)
    part = STRATEGY.generate(panel.slice(end=panel.index[cut - 1]), config)
    for a, b in zip(map(np.asarray, part.signals), map(np.asarray, full.signals), strict=True):
        np.testing.assert_array_equal(a, b[:cut])
    for name, values in part.details.items():
        np.testing.assert_array_equal(values, full.details[name][:cut], err_msg=name)


def test_registered_under_its_name() -> None:
    assert STRATEGIES["panic"] is STRATEGY
    assert STRATEGY.params(HarvesterConfig()) == HarvesterConfig().strategies.panic


def test_trades_on_the_bundled_sample() -> None:
    panel = load_sample()
    config = HarvesterConfig()
    out = STRATEGY.generate(panel, config)
    result = run_backtest(panel, out.signals, config)
    assert len(result.trades) > 0
    assert np.isfinite(result.metrics["total_return"])
    assert np.isfinite(result.metrics["sharpe"])


def _shipped() -> Path:
    return Path(str(resources.files("harvester.config").joinpath("strategy_configs", "panic.json")))


def test_shipped_config_loads_and_holds_the_spec_values(tmp_path: Path) -> None:
    environ = {"HARVESTER_HOME": str(tmp_path / "home")}
    config = load_config(ConfigRequest(base_file=_shipped()), environ=environ).config
    assert config.initial_capital == 100_000.0
    assert config.universe.cri_threshold == 0.4
    assert config.signals.panic_threshold == 3.0
    weights = config.signals.panic_score_weights
    assert (weights.volatility_weight, weights.volume_weight, weights.trends_weight) == (
        1.0,
        1.0,
        0.8,
    )
    risk = config.risk_management
    assert risk.base_position_fraction == 0.005
    assert risk.max_open_positions == 4
    assert risk.max_position_notional_usd == 5000.0
    assert (risk.stop_loss_atr, risk.take_profit_atr) == (1.0, 2.0)
    trailing = risk.trailing_stops
    assert (trailing.enabled, trailing.atr_multiplier, trailing.min_distance) == (True, 1.5, 0.02)
    assert config.risk_params.max_daily_loss_pct == 2.0
    bayes = config.bayesian
    assert (bayes.enabled, bayes.n_states, bayes.conviction_threshold) == (True, 3, 0.7)
    assert bayes.priors == (0.3, 0.4, 0.3)
    assert (bayes.covariance_type, bayes.training_samples) == ("full", 1000)
    assert bayes.stressed_states == (2,)
    panic = config.strategies.panic
    assert (panic.contrarian, panic.g_score_halving, panic.g_score_factor) == (True, 2, 0.5)
