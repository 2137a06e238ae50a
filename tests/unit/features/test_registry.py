"""The registry: names, parameters, column names, short and flat inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from harvester.core.errors import ConfigError
from harvester.data.panel import Panel
from harvester.features import FEATURES, FeatureRegistry, FeatureSpec, InsufficientHistoryWarning

EXPECTED = {
    "adx", "atr", "bb_lower", "bb_middle", "bb_upper", "bb_width", "chop", "ema", "linreg_r2",
    "linreg_slope", "log_returns", "ma_slope", "macd", "macd_hist", "macd_signal", "pct_rank",
    "range_position", "realized_vol", "returns", "rsi", "sma", "true_range", "volume_ratio",
    "zscore",
}  # fmt: skip


def _panel(close: np.ndarray, *, spread: float = 0.0) -> Panel:
    index = pd.bdate_range("2020-01-01", periods=close.shape[0])
    fields = {
        "open": close,
        "high": close + spread,
        "low": close - spread,
        "close": close,
        "volume": np.where(np.isnan(close), np.nan, 1000.0),
    }
    return Panel(index, tuple(f"S{k}" for k in range(close.shape[1])), fields)


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
    ],
)
def test_flat_price_values(name: str, value: float) -> None:
    values = FEATURES.compute(_panel(np.full((300, 2), 50.0)), name)
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


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_late_listing_warms_up_from_its_first_bar(name: str) -> None:
    close = 50.0 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.02, (400, 1)), axis=0))
    late = np.vstack([np.full((37, 1), np.nan), close[:-37]])
    values = FEATURES.compute(_panel(np.hstack([close, late]), spread=0.4), name)
    np.testing.assert_allclose(values[37:, 1], values[:-37, 0], rtol=1e-9, atol=1e-12)
    assert np.isnan(values[:37, 1]).all()
