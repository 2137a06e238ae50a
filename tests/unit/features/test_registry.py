"""The registry: names, parameters, column names, short and flat inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from harvester.core.errors import ConfigError, DataError
from harvester.data.panel import Panel
from harvester.features import FEATURES, FeatureRegistry, FeatureSpec, InsufficientHistoryWarning

EXPECTED = {
    "adx", "atr", "bb_lower", "bb_middle", "bb_upper", "bb_width", "chop", "ema", "linreg_r2",
    "linreg_slope", "log_returns", "ma_slope", "macd", "macd_hist", "macd_signal", "pct_rank",
    "range_position", "realized_vol", "returns", "rsi", "sma", "true_range", "volume_ratio",
    "zscore",
    # Harvester II
    "cri", "g_score", "panic_score",
    # Rally
    "comp_score", "golden_cross", "macd_hist_norm", "p_atr", "p_bb", "p_rv", "p_vol",
    "price_vs_ma", "range_tightness", "range_width", "trap", "trend", "vix_change", "vix_level",
    "vix_pctile",
    # Python brain
    "atr_stop_distance", "bear_flag", "bull_flag", "double_top", "golden_cross_count",
    "inverse_head_shoulders", "macd_score", "pct_above_ma", "rsi_score", "vwap",
    "vwap_extension", "zscore_signal", "pct_new_high", "pct_new_low",
}  # fmt: skip
# Breadth is computed across the universe, so a late listing changes the other symbols.
CROSS_SECTIONAL = {"pct_above_ma", "golden_cross_count", "pct_new_high", "pct_new_low"}
PER_SYMBOL = sorted(
    name for name in EXPECTED if not FEATURES[name].aux and name not in CROSS_SECTIONAL
)


def _panel(close: np.ndarray, *, spread: float = 0.0) -> Panel:
    index = pd.bdate_range("2020-01-01", periods=close.shape[0])
    fields = {
        "open": close,
        "high": close + spread,
        "low": close - spread,
        "close": close,
        "volume": np.where(np.isnan(close), np.nan, 1000.0),
    }
    aux = {name: np.full(close.shape[0], level) for name, level in MARKET.items()}
    return Panel(index, tuple(f"S{k}" for k in range(close.shape[1])), fields, aux=aux)


MARKET = {"vix": 20.0, "oil": 70.0, "benchmark": 400.0}


def test_the_builtin_features_are_registered() -> None:
    assert set(FEATURES) == EXPECTED
    assert len(FEATURES) == len(EXPECTED)


@pytest.mark.parametrize(
    ("name", "params", "column"),
    [
        ("rsi", {}, "rsi_14"),
        ("atr", {"period": 20}, "atr_20"),
        ("macd", {}, "macd_12_26_9"),
        ("bb_width", {}, "bb_width_20_2"),
        ("bb_width", {"num_std": 2.5}, "bb_width_20_2.5"),
        ("returns", {}, "returns"),
        ("pct_rank", {}, "pct_rank_252"),
    ],
)
def test_column_names(name: str, params: dict[str, float], column: str) -> None:
    assert FEATURES.column_name(name, params) == column


def test_unknown_names_and_parameters_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown feature 'rsii'"):
        FEATURES["rsii"]
    with pytest.raises(ConfigError, match="no parameter"):
        FEATURES.compute(_panel(np.ones((30, 1))), "rsi", length=3)
    with pytest.raises(ConfigError, match="fast < slow"):
        FEATURES.compute(_panel(np.ones((60, 1))), "macd", fast=30)


def test_duplicate_names_are_rejected() -> None:
    spec = FEATURES["rsi"]
    with pytest.raises(ConfigError, match="unique"):
        FeatureRegistry.from_specs((spec, spec))


def test_registry_and_specs_are_immutable() -> None:
    with pytest.raises(TypeError):
        FEATURES.specs["rsi"] = FEATURES["atr"]  # type: ignore[index]
    with pytest.raises(TypeError):
        FEATURES["rsi"].defaults["period"] = 3  # type: ignore[index]
    assert isinstance(FEATURES["rsi"], FeatureSpec)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_series_shorter_than_the_warmup_is_all_nan_with_a_warning(name: str) -> None:
    spec = FEATURES[name]
    bars = spec.warmup(spec.defaults)
    short = _panel(np.linspace(10.0, 11.0, 2 * max(bars, 1)).reshape(-1, 2)[:bars])
    with pytest.warns(InsufficientHistoryWarning, match="every value is NaN"):
        values = FEATURES.compute(short, name)
    assert values.shape == short.shape
    assert np.isnan(values).all()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_flat_price_raises_no_numpy_warning(name: str) -> None:
    flat = _panel(np.full((300, 2), 50.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = FEATURES.compute(flat, name)
    spec = FEATURES[name]
    assert not np.isnan(values[spec.warmup(spec.defaults) :]).any()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("realized_vol", 0.0),
        ("bb_width", 0.0),
        ("zscore", 0.0),
        ("atr", 0.0),
        ("true_range", 0.0),
        ("returns", 0.0),
        ("linreg_slope", 0.0),
        ("linreg_r2", 0.0),
        ("rsi", 50.0),
        ("range_position", 0.5),
        ("chop", 100.0),
        ("adx", 0.0),
        ("volume_ratio", 1.0),
        ("pct_rank", 1.0),
        ("cri", 0.0),
        ("panic_score", 0.0),
        ("g_score", 0.0),
        ("comp_score", 0.0),
        ("p_vol", 1.0),
        ("range_width", 0.0),
        ("range_tightness", 0.0),
        ("trap", 0.0),
        ("trend", 0.0),
        ("golden_cross", 0.0),
        ("price_vs_ma", 0.0),
        ("macd_hist_norm", 0.0),
        ("vix_level", 20.0),
        ("vix_change", 0.0),
        ("rsi_score", 0.0),
        ("macd_score", 0.0),
        ("zscore_signal", 0.0),
        ("atr_stop_distance", 0.0),
        ("vwap", 50.0),
        ("vwap_extension", 0.0),
        ("double_top", 0.0),
        ("inverse_head_shoulders", 0.0),
        ("bull_flag", 0.0),
        ("bear_flag", 0.0),
        ("pct_above_ma", 0.0),
        ("golden_cross_count", 0.0),
    ],
)
def test_flat_price_values(name: str, value: float) -> None:
    values = FEATURES.compute(_panel(np.full((300, 2), 50.0)), name)
    assert not np.isnan(values[-1]).any()
    spec = FEATURES[name]
    assert (values[spec.warmup(spec.defaults) :] == value).all()


def test_missing_bars_stay_missing_and_heal_after_the_window() -> None:
    close = np.linspace(10.0, 20.0, 80).reshape(-1, 1)
    close[40] = np.nan
    values = FEATURES.compute(_panel(close, spread=0.5), "sma", period=5)
    assert np.isnan(values[40:45, 0]).all()
    assert not np.isnan(values[45:, 0]).any()
    atr = FEATURES.compute(_panel(close, spread=0.5), "atr", period=5)
    assert np.isnan(atr[40, 0])
    assert not np.isnan(atr[41:, 0]).any()


@pytest.mark.parametrize("name", PER_SYMBOL)
def test_a_late_listing_warms_up_from_its_first_bar(name: str) -> None:
    close = 50.0 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.02, (400, 1)), axis=0))
    late = np.vstack([np.full((37, 1), np.nan), close[:-37]])
    values = FEATURES.compute(_panel(np.hstack([close, late]), spread=0.4), name)
    np.testing.assert_allclose(values[37:, 1], values[:-37, 0], rtol=1e-9, atol=1e-12)
    assert np.isnan(values[:37, 1]).all()


@pytest.mark.parametrize("name", ["vix_level", "g_score"])
def test_market_wide_features_start_at_the_panels_first_bar_not_the_symbols(name: str) -> None:
    close = np.full((20, 2), 50.0)
    close[:10, 1] = np.nan
    values = FEATURES.compute(_panel(close), name)
    warmup = FEATURES[name].warmup(FEATURES[name].defaults)
    assert np.isnan(values[:10, 1]).all()
    np.testing.assert_array_equal(values[10:, 1], values[10:, 0])
    assert not np.isnan(values[max(warmup, 10) :]).any()


@pytest.mark.parametrize(("name", "missing"), [("g_score", "oil"), ("vix_level", "vix")])
def test_a_panel_without_an_aux_series_names_it(name: str, missing: str) -> None:
    panel = _panel(np.ones((30, 1)))
    panel = Panel(panel.index, panel.symbols, panel.fields, aux={
        k: v for k, v in panel.aux.items() if k != missing
    })  # fmt: skip
    with pytest.raises(DataError, match=rf"feature '{name}' needs input.*aux {missing}"):
        FEATURES.compute(panel, name)


def test_a_panel_without_a_field_names_it() -> None:
    panel = _panel(np.ones((30, 1)))
    fields = {k: v for k, v in panel.fields.items() if k != "volume"}
    with pytest.raises(DataError, match=r"feature 'cri' needs input.*'volume'"):
        FEATURES.compute(Panel(panel.index, panel.symbols, fields, aux=panel.aux), "cri")


def test_every_named_set_holds_registered_features() -> None:
    from harvester.features.sets import FEATURE_SETS, feature_set

    for names in FEATURE_SETS.values():
        assert set(names) <= set(FEATURES)
    assert set(feature_set("panic")) == {"cri", "panic_score", "g_score"}
    assert "trap" in feature_set("rally")
    assert {"rsi_score", "double_top", "vwap"} <= set(feature_set("brain"))
