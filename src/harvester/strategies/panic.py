"""``panic`` — Harvester II: contrarian entries on a high Panic Score among crowd-reactive assets.

At the close of bar t, for every symbol:

1. **Universe** — tradable when the Crowd-Reactivity Index ``cri`` (window ``cri_window``)
   is at least ``cri_threshold`` (``strategies.panic.cri_threshold``, else
   ``universe.cri_threshold``; spec 0.4).
2. **Panic Score** — the registered ``panic_score`` with ``signals.panic_score_weights``.
   With ``bayesian.enabled`` it is multiplied by the conviction (the filtered probability of
   ``bayesian.stressed_states`` from a walk-forward HMM, with the fallback chain HMM → rules →
   ``fallback_conviction``; see :mod:`harvester.strategies._panic_conviction`) and an entry
   also needs conviction ≥ ``bayesian.conviction_threshold`` (spec 0.7).
3. **Entry** — enhanced score > ``signals.panic_threshold`` (spec 3.0) on a tradable symbol
   with a non-zero ``return_lookback``-bar move. Contrarian (default): a drop gives +1 (buy),
   a rise gives −1 (sell). A sell is a short only when ``risk_management.allow_short``;
   otherwise it is an exit (close a long) and no entry.
4. **Size** — the multiplier is ``g_score_factor`` (0.5) when the G-Score is at least
   ``g_score_halving`` (2), else 1; an unknown G-Score (warm-up, or a panel without the aux
   series ``vix``, ``benchmark`` and ``oil``) does not halve.
5. **Score** — the enhanced Panic Score on entry bars (higher takes free slots first).

Stops (1× ATR), targets (2× ATR), trailing stops and the daily kill-switch come from
``risk_management`` / ``risk_params`` and are applied by the engine.

Causality: every feature is causal; the HMM is refitted every ``hmm_refit_every`` bars
counted from the panel's first bar, on bars before the refit only, and read with the
forward filter, so row t never depends on a bar after t.
"""

from __future__ import annotations

import numpy as np

from harvester.config.models import HarvesterConfig
from harvester.config.strategies import PanicStrategyConfig
from harvester.core.types import FloatArray
from harvester.data.panel import Panel
from harvester.features.registry import FEATURES
from harvester.strategies._panic_conviction import bar_conviction
from harvester.strategies.base import Strategy, StrategyOutput
from harvester.strategies.signals import Signals

__all__ = ["STRATEGY", "generate", "params"]

_G_SCORE_AUX = ("vix", "benchmark", "oil")


def params(config: HarvesterConfig) -> PanicStrategyConfig:
    """The strategy's own config slice, ``strategies.panic``."""
    return config.strategies.panic


def _move(close: FloatArray, lookback: int) -> FloatArray:
    """``lookback``-bar simple return, NaN where either price is missing."""
    out = np.full(close.shape, np.nan)
    if close.shape[0] > lookback:
        with np.errstate(divide="ignore", invalid="ignore"):
            out[lookback:] = close[lookback:] / close[:-lookback] - 1.0
    out[~np.isfinite(out)] = np.nan
    return out


def _g_score(panel: Panel) -> FloatArray:
    if all(name in panel.aux for name in _G_SCORE_AUX):
        return FEATURES.compute(panel, "g_score")
    return np.full(panel.shape, np.nan)


def generate(panel: Panel, config: HarvesterConfig) -> StrategyOutput:
    """Signals and explaining arrays of the ``panic`` strategy (see the module docs)."""
    p = params(config)
    weights = config.signals.panic_score_weights
    shape = panel.shape
    close = panel.array("close")
    threshold = p.cri_threshold if p.cri_threshold is not None else config.universe.cri_threshold

    cri = FEATURES.compute(panel, "cri", window=p.cri_window)
    panic = FEATURES.compute(
        panel,
        "panic_score",
        volatility_weight=weights.volatility_weight,
        volume_weight=weights.volume_weight,
        trends_weight=weights.trends_weight,
    )
    tradable = np.nan_to_num(cri, nan=-np.inf) >= threshold
    move = _move(close, p.return_lookback)
    g_score = _g_score(panel)

    bayesian = config.bayesian
    if bayesian.enabled:
        conviction, source, hmm = bar_conviction(panel, bayesian, config.regimes, p)
        enhanced = panic * conviction
        confident = conviction >= bayesian.conviction_threshold
    else:
        conviction = source = hmm = np.full(shape, np.nan)
        enhanced = panic
        confident = np.ones(shape, dtype=np.bool_)

    panic_threshold = config.signals.panic_threshold
    trigger = (
        tradable
        & confident
        & (np.nan_to_num(enhanced, nan=-np.inf) > panic_threshold)
        & (np.nan_to_num(move) != 0.0)
        & np.isfinite(close)
    )
    side = np.sign(np.nan_to_num(move)) * (-1.0 if p.contrarian else 1.0)
    buy = trigger & (side > 0)
    sell = trigger & (side < 0)
    allow_short = config.risk_management.allow_short

    direction = np.zeros(shape, dtype=np.int8)
    direction[buy] = 1
    if allow_short:
        direction[sell] = -1
    exit_ = sell.copy() if not allow_short else np.zeros(shape, dtype=np.bool_)
    halved = np.nan_to_num(g_score, nan=-np.inf) >= p.g_score_halving
    size = np.where(halved, p.g_score_factor, 1.0)
    score = np.where(trigger, enhanced, 0.0)

    details: dict[str, FloatArray] = {
        "cri": cri,
        "cri_threshold": np.full(shape, float(threshold)),
        "tradable": tradable.astype(np.float64),
        "panic_score": panic,
        "conviction": conviction,
        "conviction_source": source,
        "hmm_stressed_probability": hmm,
        "conviction_threshold": np.full(
            shape, bayesian.conviction_threshold if bayesian.enabled else np.nan
        ),
        "enhanced_panic_score": enhanced,
        "panic_threshold": np.full(shape, float(panic_threshold)),
        "move": move,
        "trigger": trigger.astype(np.float64),
        "g_score": g_score,
        "size": size,
    }
    return StrategyOutput(Signals(direction, exit_, size, score), details)


STRATEGY = Strategy(
    name="panic",
    summary="Harvester II: contrarian entries on a high Panic Score among crowd-reactive assets",
    params=params,
    generate=generate,
    features=("cri", "panic_score", "g_score"),
)
