"""Composer's pieces: base scores, the eligible set per asset class, the softmax blender.

Every array is (time × symbols) float64 (or (..., K) for the softmax) and every function is
causal: row t uses the panel's rows up to t only.

The score functions are the readable numpy definitions (and compute ``explain``'s details);
a trial reads :func:`kernel_inputs` instead, whose arrays the fused kernel turns into the
same scores bit for bit, without a full-panel temporary per score.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from harvester.config.models import StrategyName
from harvester.config.strategies import ComposerStrategyConfig
from harvester.core.types import BoolArray, FloatArray
from harvester.data.panel import Panel
from harvester.domain.asset_class import AssetClass
from harvester.features import FEATURES
from harvester.features._memo import shared
from harvester.regimes.rules import CHOP, NEUTRAL, TREND, UNKNOWN, VOLATILE
from harvester.strategies._kernels import momentum_ratio_nb

__all__ = [
    "ASSET_CLASS_STRATEGIES",
    "BASE_STRATEGIES",
    "base_score_arrays",
    "base_scores",
    "breakout_score",
    "channel_position",
    "eligible_mask",
    "kernel_inputs",
    "mean_reversion_score",
    "momentum_score",
    "momentum_sigma",
    "regime_logits",
    "regime_weight_table",
    "regime_weights",
    "softmax_weights",
]

BASE_STRATEGIES: tuple[StrategyName, ...] = ("momentum", "mean_reversion", "breakout")
"""The base strategies, in the order of the last axis of every (…, K) array."""

ASSET_CLASS_STRATEGIES: dict[AssetClass, frozenset[StrategyName]] = {
    "crypto": frozenset({"momentum", "mean_reversion", "breakout"}),
    "etf": frozenset({"momentum", "mean_reversion"}),
    "equity": frozenset({"momentum", "breakout"}),
}
"""Composer's eligible set per asset class (crypto: all; ETF: no breakout; equity: no MR)."""

_REGIME_KEYS: dict[int, str] = {
    TREND: "trend",
    CHOP: "chop",
    VOLATILE: "volatile",
    NEUTRAL: "neutral",
}


def momentum_score(panel: Panel, p: ComposerStrategyConfig) -> FloatArray:
    """``tanh((SMA_fast − SMA_slow) / (scale · σ_slow))``; 0 on a flat window."""
    close = panel.array("close")
    fast = FEATURES.compute(panel, "sma", period=p.momentum_fast)
    slow = FEATURES.compute(panel, "sma", period=p.momentum_lookback)
    upper = FEATURES.compute(panel, "bb_upper", period=p.momentum_lookback, num_std=1.0)
    sigma = upper - slow  # population std of the closes over the slow window
    gap = fast - slow
    ratio = np.full(close.shape, np.nan)
    np.divide(gap, p.momentum_scale * sigma, out=ratio, where=sigma > 0)
    ratio[(sigma == 0) & np.isfinite(gap)] = 0.0
    return np.asarray(np.tanh(ratio), dtype=np.float64)


def mean_reversion_score(panel: Panel, p: ComposerStrategyConfig) -> FloatArray:
    """``−clip(z / mean_reversion_z, −1, 1)``: long below the mean, short above."""
    z = FEATURES.compute(panel, "zscore", period=p.mean_reversion_lookback)
    return -np.clip(z / p.mean_reversion_z, -1.0, 1.0)


def breakout_score(panel: Panel, p: ComposerStrategyConfig) -> FloatArray:
    """0 in the middle of the channel, ±1 at its edges, linear over the outer ``zone``.

    ``x = 2 · range_position − 1`` in [−1, 1] (the close in the ``breakout_lookback`` bar
    high/low channel, the current bar included, so a new high gives +1);
    ``score = sign(x) · clip((|x| − (1 − zone)) / zone, 0, 1)``.
    """
    position = FEATURES.compute(panel, "range_position", period=p.breakout_lookback)
    x = 2.0 * position - 1.0
    edge = np.clip((np.abs(x) - (1.0 - p.breakout_zone)) / p.breakout_zone, 0.0, 1.0)
    return np.sign(x) * edge


@shared
def momentum_sigma(panel: Panel, *, period: int) -> FloatArray:
    """σ as :func:`momentum_score` computes it (``bb_upper`` with one std − SMA), kept per
    ``period`` across an optimisation's trials (an integer parameter: few distinct values)."""
    slow = FEATURES.compute(panel, "sma", period=period)
    upper = FEATURES.compute(panel, "bb_upper", period=period, num_std=1.0)
    return upper - slow


@shared
def channel_position(panel: Panel, *, period: int) -> FloatArray:
    """The ``range_position`` feature :func:`breakout_score` reads, kept per ``period``."""
    return FEATURES.compute(panel, "range_position", period=period)


def kernel_inputs(
    panel: Panel, p: ComposerStrategyConfig
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """What :func:`~harvester.strategies._kernels.composer_signals_nb` reads: the momentum
    score (equal to :func:`momentum_score`), the mean-reversion z-score and the breakout
    channel position; the kernel computes the other two scores per bar.

    The one new array per call is the momentum score: numpy's tanh, applied in place to
    the kernel's ratio (numba's tanh differs in the last bit).
    """
    fast = FEATURES.compute(panel, "sma", period=p.momentum_fast)
    slow = FEATURES.compute(panel, "sma", period=p.momentum_lookback)
    sigma = momentum_sigma(panel, period=p.momentum_lookback)
    momentum = momentum_ratio_nb(fast, slow, sigma, p.momentum_scale)
    np.tanh(momentum, out=momentum)
    z = FEATURES.compute(panel, "zscore", period=p.mean_reversion_lookback)
    return momentum, z, channel_position(panel, period=p.breakout_lookback)


def base_score_arrays(
    panel: Panel, p: ComposerStrategyConfig
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return the three (time, symbols) base scores in :data:`BASE_STRATEGIES` order."""
    return momentum_score(panel, p), mean_reversion_score(panel, p), breakout_score(panel, p)


def base_scores(panel: Panel, p: ComposerStrategyConfig) -> FloatArray:
    """Return the (time, symbols, 3) base scores in :data:`BASE_STRATEGIES` order."""
    return np.stack(base_score_arrays(panel, p), axis=-1)


def eligible_mask(
    asset_classes: Sequence[AssetClass], allowed: Iterable[StrategyName] = BASE_STRATEGIES
) -> BoolArray:
    """Return the (symbols, 3) mask: the asset class's set intersected with ``allowed``.

    ``allowed`` is ``config.composer.eligible_strategies`` (which the ``--asset`` override
    sets globally).
    """
    allowed_set = frozenset(allowed)
    rows = {
        c: [s in ASSET_CLASS_STRATEGIES[c] and s in allowed_set for s in BASE_STRATEGIES]
        for c in ASSET_CLASS_STRATEGIES
    }  # one row per class, not per symbol: an optimisation asks once per trial
    return np.array([rows[c] for c in asset_classes], dtype=np.bool_).reshape(
        len(asset_classes), len(BASE_STRATEGIES)
    )


def _logit_table(p: ComposerStrategyConfig) -> FloatArray:
    # One row of logits per regime code; the last row stands for UNKNOWN.
    table = np.full((len(_REGIME_KEYS) + 1, len(BASE_STRATEGIES)), np.nan)
    for code, key in _REGIME_KEYS.items():
        table[code] = [getattr(p, f"w_{key}_{s}") for s in BASE_STRATEGIES]
    if p.unknown_as_neutral:
        table[-1] = table[NEUTRAL]
    return table


def _table_rows(labels: np.ndarray) -> np.ndarray:
    return np.where(labels == UNKNOWN, len(_REGIME_KEYS), labels)


def regime_logits(labels: np.ndarray, p: ComposerStrategyConfig) -> FloatArray:
    """Map (time, symbols) rule-regime labels to (time, symbols, 3) softmax logits.

    ``UNKNOWN`` bars take the neutral row when ``unknown_as_neutral``, else NaN.
    """
    logits: FloatArray = _logit_table(p)[_table_rows(labels)]
    return logits


def regime_weights(
    labels: np.ndarray, eligible: BoolArray, p: ComposerStrategyConfig, temperature: float
) -> FloatArray:
    """``softmax_weights(regime_logits(labels, p), eligible, temperature)``, computed once
    per (regime, symbol) and looked up per bar: the same numbers, without a softmax over
    every bar of the panel (an optimisation calls this once per trial)."""
    per_regime = regime_weight_table(eligible, p, temperature)
    weights: FloatArray = per_regime[_table_rows(labels), np.arange(eligible.shape[0])]
    return weights


def regime_weight_table(
    eligible: BoolArray, p: ComposerStrategyConfig, temperature: float
) -> FloatArray:
    """The (regime row, symbol, 3) softmax weights: rows 0–3 the regime codes, row 4 the
    UNKNOWN label (see :func:`regime_logits`)."""
    table = _logit_table(p)
    n_symbols = eligible.shape[0]
    logits = np.broadcast_to(table[:, None, :], (table.shape[0], n_symbols, table.shape[1]))
    return softmax_weights(logits, eligible, temperature)


def softmax_weights(logits: FloatArray, eligible: BoolArray, temperature: float) -> FloatArray:
    """Softmax of ``logits / temperature`` over the eligible entries of the last axis.

    Ineligible entries get weight 0; the eligible ones sum to 1. Where no entry is eligible
    or a logit is NaN, every weight is NaN (no opinion).
    """
    logits = np.asarray(logits, dtype=np.float64)
    mask = np.broadcast_to(eligible, logits.shape)
    scaled = np.where(mask, logits / temperature, -np.inf)
    top = scaled.max(axis=-1, keepdims=True)
    finite_top = np.where(np.isfinite(top), top, 0.0)
    exp = np.where(mask, np.exp(scaled - finite_top), 0.0)
    total = exp.sum(axis=-1, keepdims=True)
    weights = np.full(logits.shape, np.nan)
    np.divide(exp, total, out=weights, where=total > 0)
    bad = np.isnan(np.where(mask, logits, 0.0)).any(axis=-1, keepdims=True) | (total <= 0)
    return np.where(bad, np.nan, weights)
