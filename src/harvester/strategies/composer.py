"""Composer: momentum, mean reversion and breakout blended by rule-regime softmax weights.

For every (t, symbol):

1. three base scores in [−1, 1] (:mod:`harvester.strategies._composer_blend`): momentum
   (SMA 10 vs SMA 20 in units of the closes' σ), mean reversion (minus the 20-bar z-score
   over 2) and breakout (the close at the edge of its 20-bar high/low channel);
2. the eligible set from the symbol's asset class (``panel.meta[s].asset_class``; crypto:
   all three, ETF: momentum + mean reversion, equity: momentum + breakout), intersected
   with ``config.composer.eligible_strategies``;
3. the rule regime (:func:`harvester.regimes.rules.rule_regimes` with ``config.regimes``:
   trend / chop / volatile / neutral) selects a row of logits ``w_<regime>_<strategy>``;
4. blend weights ``softmax(logits / config.composer.temperature)`` over the eligible
   strategies (ineligible: 0; the rest sum to 1), blend ``Σ wᵢ · scoreᵢ`` in [−1, 1];
5. direction ``sign(blend)`` where ``|blend| ≥ entry_threshold``; exit a long when the blend
   falls below ``exit_threshold`` and a short when it rises above ``−exit_threshold`` (the
   side is that of the last entry signal); score ``|blend|``; size 1.

Causal: every feature and the regime labels are trailing-window quantities and the exit side
is a forward fill, so row t uses bars up to t only.

Steps 1 (but momentum's tanh) and 3–5 run as one numba pass
(:func:`harvester.strategies._kernels.composer_signals_nb`, an optimisation calls it once per
trial) on feature arrays shared across trials; :func:`generate_reference` is the same
strategy in plain numpy passes, its readable twin, and property tests require the two to be
equal bit for bit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harvester.config.models import HarvesterConfig
from harvester.config.strategies import ComposerStrategyConfig
from harvester.core.types import FloatArray
from harvester.data.panel import Panel
from harvester.regimes.rules import rule_regimes_from_config
from harvester.strategies._composer_blend import (
    BASE_STRATEGIES,
    base_scores,
    eligible_mask,
    kernel_inputs,
    regime_weight_table,
    regime_weights,
)
from harvester.strategies._kernels import composer_signals_nb
from harvester.strategies.base import LazyDetails, Strategy, StrategyOutput
from harvester.strategies.signals import Signals

__all__ = ["STRATEGY", "composer_blend", "generate", "generate_reference", "params"]

_SHORT = {"momentum": "mom", "mean_reversion": "mr", "breakout": "bo"}


def params(config: HarvesterConfig) -> ComposerStrategyConfig:
    """Return the composer's own parameters (``strategies.composer``)."""
    return config.strategies.composer


def _labels(panel: Panel, config: HarvesterConfig) -> np.ndarray:
    return rule_regimes_from_config(
        panel.array("close"), config.regimes,
        high=panel.fields.get("high"), low=panel.fields.get("low"),
    )  # fmt: skip


def _eligible(panel: Panel, config: HarvesterConfig) -> np.ndarray:
    classes = [panel.meta[s].asset_class for s in panel.symbols]
    return eligible_mask(classes, config.composer.eligible_strategies)


def composer_blend(panel: Panel, config: HarvesterConfig) -> dict[str, FloatArray]:
    """Return base scores, blend weights, regime code and blend, each (time × symbols), in
    numpy passes (the reference of the fused kernel).

    Keys: ``score_mom``, ``score_mr``, ``score_bo``, ``weight_mom``, ``weight_mr``,
    ``weight_bo``, ``regime`` (rule-regime code, −1 unknown), ``blend``.
    """
    p = params(config)
    scores = base_scores(panel, p)
    labels = _labels(panel, config)
    weights = regime_weights(labels, _eligible(panel, config), p, config.composer.temperature)
    # Ineligible strategies contribute 0 whatever their score (it may be NaN in warm-up).
    contributions = np.where(weights == 0.0, 0.0, weights * scores)
    blend = np.clip(contributions.sum(axis=-1), -1.0, 1.0)
    details: dict[str, FloatArray] = {}
    for k, name in enumerate(BASE_STRATEGIES):
        details[f"score_{_SHORT[name]}"] = scores[..., k]
    for k, name in enumerate(BASE_STRATEGIES):
        details[f"weight_{_SHORT[name]}"] = weights[..., k]
    details["regime"] = labels.astype(np.float64)
    details["blend"] = blend
    return details


def _side(direction: np.ndarray) -> FloatArray:
    # The side of the last entry signal at or before each bar (0 before the first).
    held = pd.DataFrame(np.where(direction != 0, direction, np.nan)).ffill().fillna(0.0)
    side: FloatArray = held.to_numpy(np.float64)
    return side


def _numpy_signals(panel: Panel, config: HarvesterConfig) -> tuple[Signals, dict[str, FloatArray]]:
    p = params(config)
    details = composer_blend(panel, config)
    blend = details["blend"]
    finite = np.isfinite(blend)
    strength = np.where(finite, np.abs(blend), 0.0)
    entering = finite & (strength >= p.entry_threshold)
    direction = np.where(entering, np.sign(blend), 0.0).astype(np.int8)
    side = _side(direction)
    exit_long = (side > 0) & finite & (blend < p.exit_threshold)
    exit_short = (side < 0) & finite & (blend > -p.exit_threshold)
    signals = Signals(
        direction=direction, exit=exit_long | exit_short, size=np.ones(blend.shape),
        score=strength,
    )  # fmt: skip
    details["entry_threshold"] = np.broadcast_to(np.float64(p.entry_threshold), blend.shape)
    details["exit_threshold"] = np.broadcast_to(np.float64(p.exit_threshold), blend.shape)
    details["side"] = side
    return signals, details


def generate_reference(panel: Panel, config: HarvesterConfig) -> StrategyOutput:
    """:func:`generate` in numpy passes: the readable definition the kernel must equal."""
    signals, details = _numpy_signals(panel, config)
    return StrategyOutput(signals, details)


def generate(panel: Panel, config: HarvesterConfig) -> StrategyOutput:
    """Blend the base scores and turn the blend into signals (see the module docstring).

    The signals come from the fused kernel; the explaining arrays (scores, weights, blend,
    side, thresholds) are computed by the numpy twin when first asked for.
    """
    p = params(config)
    table = regime_weight_table(_eligible(panel, config), p, config.composer.temperature)
    direction, exits, strength = composer_signals_nb(
        kernel_inputs(panel, p), _labels(panel, config), table,
        (p.mean_reversion_z, p.breakout_zone), (p.entry_threshold, p.exit_threshold),
    )  # fmt: skip
    signals = Signals(direction, exits, np.ones(direction.shape), strength)
    return StrategyOutput(signals, LazyDetails(lambda: _numpy_signals(panel, config)[1]))


STRATEGY = Strategy(
    name="composer",
    summary="Momentum, mean reversion and breakout blended by rule-regime softmax weights.",
    params=params,
    generate=generate,
    features=("sma", "bb_upper", "zscore", "range_position", "chop"),
)
