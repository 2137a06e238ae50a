"""Every registered feature is causal, and NaN exactly before its declared warm-up.

For each feature with its default parameters, hypothesis picks a bar t and a perturbation
of every field and every auxiliary series (VIX, oil, benchmark) after t (rescaling, noise,
missing bars); every value at or before t must be unchanged (NaN equal to NaN). Features
planted here that read tomorrow's close, or tomorrow's VIX, are caught by the same check.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.core.types import FloatArray
from harvester.data.panel import Panel
from harvester.features import FEATURES, FeatureRegistry, FeatureSpec
from harvester.testing import SyntheticParams, generate_market


@cache
def _panel() -> Panel:
    return generate_market(SyntheticParams(symbols=3, years=2, seed=11)).panel


def _perturb(values: FloatArray, after: int, rng: np.random.Generator, kind: str) -> FloatArray:
    changed = np.array(values, copy=True)
    tail = changed[after + 1 :]
    if kind == "scale":
        tail *= rng.uniform(0.5, 2.0)
    elif kind == "noise":
        tail *= np.exp(rng.normal(0.0, 0.05, size=tail.shape))
    else:
        tail[rng.random(tail.shape) < 0.3] = np.nan
    return changed


def _perturbed(panel: Panel, after: int, *, seed: int, kind: str) -> Panel:
    rng = np.random.default_rng(seed)
    fields = {name: _perturb(v, after, rng, kind) for name, v in panel.fields.items()}
    aux = {name: _perturb(v, after, rng, kind) for name, v in panel.aux.items()}
    return replace(panel.with_fields(**fields), aux=aux)


def test_the_test_panel_has_the_auxiliary_inputs() -> None:
    assert {"vix", "oil", "benchmark"} <= set(_panel().aux)
    assert "attention" in _panel().fields


def _changed_before(registry: FeatureRegistry, name: str, after: int, perturbed: Panel) -> bool:
    original = registry.compute(_panel(), name)[: after + 1]
    again = registry.compute(perturbed, name)[: after + 1]
    return not np.array_equal(original, again, equal_nan=True)


perturbations = st.tuples(
    st.integers(0, _panel().shape[0] - 2),
    st.integers(0, 2**32 - 1),
    st.sampled_from(["scale", "noise", "missing"]),
)


@pytest.mark.parametrize("name", sorted(FEATURES))
@settings(max_examples=15, deadline=None)
@given(perturbation=perturbations)
def test_feature_is_causal(name: str, perturbation: tuple[int, int, str]) -> None:
    after, seed, kind = perturbation
    perturbed = _perturbed(_panel(), after, seed=seed, kind=kind)
    assert not _changed_before(FEATURES, name, after, perturbed)


@pytest.mark.parametrize("name", sorted(FEATURES))
def test_values_before_warmup_are_nan_and_valid_from_it(name: str) -> None:
    spec = FEATURES[name]
    warmup = spec.warmup(spec.defaults)
    values = FEATURES.compute(_panel(), name)
    assert np.isnan(values[:warmup]).all()
    assert not np.isnan(values[warmup]).any()


def _tomorrows_close(close: FloatArray) -> FloatArray:
    out = np.full(close.shape, np.nan)
    out[:-1] = close[1:]
    return out


@settings(max_examples=25, deadline=None)
@given(perturbation=perturbations.filter(lambda p: p[2] != "missing"))
def test_a_feature_reading_the_future_is_caught(perturbation: tuple[int, int, str]) -> None:
    after, seed, kind = perturbation
    leaky = FeatureSpec("leaky", ("close",), {}, lambda p: 0, _tomorrows_close)
    registry = FeatureRegistry.from_specs((leaky,))
    perturbed = _perturbed(_panel(), after, seed=seed, kind=kind)
    assert _changed_before(registry, "leaky", after, perturbed)


def _tomorrows_vix(close: FloatArray, vix: FloatArray) -> FloatArray:
    out = np.full(close.shape, np.nan)
    out[:-1] = vix[1:, None]
    return out


@settings(max_examples=25, deadline=None)
@given(perturbation=perturbations.filter(lambda p: p[2] != "missing"))
def test_a_feature_reading_tomorrows_aux_is_caught(perturbation: tuple[int, int, str]) -> None:
    after, seed, kind = perturbation
    leaky = FeatureSpec("leaky_vix", ("close",), {}, lambda p: 0, _tomorrows_vix, aux=("vix",))
    registry = FeatureRegistry.from_specs((leaky,))
    perturbed = _perturbed(_panel(), after, seed=seed, kind=kind)
    assert _changed_before(registry, "leaky_vix", after, perturbed)
