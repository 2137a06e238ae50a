"""The ``rally`` strategy: entries, exits, sizes, named configs, validation, the sample."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from harvester.backtest.engine import run_backtest
from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError
from harvester.data.bundled import load_sample
from harvester.data.panel import Panel
from harvester.strategies.base import StrategyOutput
from harvester.strategies.rally import (
    NAMED_CONFIGS,
    STRATEGY,
    apply_named_config,
    resolve,
    validate_calibration,
)
from harvester.strategies.registry import STRATEGIES
from harvester.testing import SyntheticParams, generate_market


def _config(**rally: object) -> HarvesterConfig:
    values = {"train_years": 2.0, "test_years": 1.0, "hmm_n_iter": 30, **rally}
    return HarvesterConfig.model_validate({"strategies": {"rally": values}})


@cache
def _panel() -> Panel:
    return generate_market(SyntheticParams(symbols=5, years=4, seed=5)).panel


@cache
def _output(named: str = "aggressive") -> StrategyOutput:
    return STRATEGY.generate(_panel(), _config(named_config=named))


def test_registered_under_its_name() -> None:
    assert STRATEGIES["rally"] is STRATEGY
    assert STRATEGY.params(HarvesterConfig()).named_config == "baseline"  # type: ignore[attr-defined]


def test_named_configs_follow_the_spec_table() -> None:
    table = {
        "baseline": (0.50, 0.55, 0.25, 2.0, 10),
        "conservative": (0.55, 0.60, 0.15, 1.5, 8),
        "aggressive": (0.40, 0.45, 0.30, 2.5, 12),
        "concentrated": (0.55, 0.60, 0.40, 2.0, 10),
    }
    for name, (p, comp, size, target, stop) in table.items():
        config = apply_named_config(_config(named_config=name))
        rally = resolve(config)
        assert (rally.p_threshold, rally.comp_threshold, rally.max_size) == (p, comp, size)
        assert config.risk_management.take_profit_atr == target
        assert config.risk_management.time_stop_bars == stop
        assert config.risk_params.max_position_size == size
    assert set(NAMED_CONFIGS) == set(table)


def test_explicit_thresholds_override_the_named_config() -> None:
    rally = resolve(_config(named_config="conservative", p_threshold=0.3, max_size=0.5))
    assert (rally.p_threshold, rally.comp_threshold, rally.max_size) == (0.3, 0.60, 0.5)


def test_unknown_named_config_lists_the_names() -> None:
    with pytest.raises(ConfigError, match="baseline, conservative, aggressive, concentrated"):
        STRATEGY.generate(_panel(), _config(named_config="yolo"))


def test_entries_exits_and_sizes_follow_the_rules() -> None:
    out = _output()
    d, s = out.details, out.signals
    p, comp, p_rv = d["p_rally"], d["comp_score"], d["p_rv"]
    with np.errstate(invalid="ignore"):
        exhausted = p_rv >= 0.80
        expected_entry = (p >= 0.40) & (comp >= 0.45) & ~exhausted
    np.testing.assert_array_equal(s.direction == 1, expected_entry)
    np.testing.assert_array_equal(s.exit, exhausted)
    assert set(np.unique(s.direction)) <= {0, 1}
    assert expected_entry.any() and exhausted.any()
    # Vol-targeted size: min(0.10 / annualised 20-bar vol, MaxSize 0.30), by hand.
    close = _panel().array("close")
    r = np.diff(np.log(close), axis=0)
    t, i = np.argwhere(expected_entry)[0]
    vol = np.std(r[t - 20 : t, i], ddof=1) * np.sqrt(252)
    assert s.size[t, i] == pytest.approx(min(0.10 / vol, 0.30))
    assert np.all(s.size <= 0.30)
    np.testing.assert_array_equal(s.score, np.nan_to_num(p))


def test_no_probability_or_entry_before_the_first_test_window() -> None:
    out = _output()
    first = 504  # two years of 252 bars
    assert np.isnan(out.details["p_rally"][:first]).all()
    assert not out.signals.direction[:first].any()
    assert np.isnan(out.details["r_up"][:first]).all()
    assert np.isfinite(out.details["r_up"][first:]).all()
    hmm = np.stack([out.details[f"hmm_p{j}"] for j in range(3)], axis=2)[first:]
    ok = np.isfinite(hmm).all(axis=2)
    np.testing.assert_allclose(hmm[ok].sum(axis=1), 1.0)


def test_outputs_ignore_bars_after_the_cut() -> None:
    panel, config = _panel(), _config(named_config="aggressive")
    full = _output()
    t = 700  # inside the first test window: the fold's model must not change
    cut = STRATEGY.generate(panel.slice(end=panel.index[t]), config)
    for name, values in cut.details.items():
        np.testing.assert_array_equal(values, full.details[name][: t + 1], err_msg=name)
    np.testing.assert_array_equal(cut.signals.direction, full.signals.direction[: t + 1])


def test_validate_calibration_compares_auto_and_hand_thresholds() -> None:
    result = validate_calibration(_panel(), _config(), r_up=1.5, d_dn=1.0)
    assert set(result) == {"auto", "hand"}
    assert result["hand"]["r_up"] == [1.5, 1.5] and result["hand"]["d_dn"] == [1.0, 1.0]
    for run in result.values():
        assert len(run["brier"]) == 2  # type: ignore[arg-type]
        assert all(0.0 <= b <= 1.0 for b in run["brier"])  # type: ignore[attr-defined]
        assert all(0.0 < r < 1.0 for r in run["train_label_rate"])  # type: ignore[attr-defined]
    assert all(1.0 <= r <= 3.0 for r in result["auto"]["r_up"])  # type: ignore[attr-defined]


def test_trades_on_the_bundled_sample() -> None:
    # The sample has five years: the default 2-year training window leaves three test years
    # (the spec's 5 years would leave none).
    panel = load_sample()
    config = HarvesterConfig()
    out = STRATEGY.generate(panel, config)
    result = run_backtest(panel, out.signals, apply_named_config(config))
    assert len(result.trades) > 0
    assert np.isfinite(result.metrics["total_return"])
    assert np.isfinite(result.metrics["sharpe"])
