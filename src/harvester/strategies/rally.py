"""Rally: the phase transition from volatility compression to a directional rally.

A pooled walk-forward logistic regression with isotonic calibration estimates
P(RALLY_ST) — the price gains ``r_up`` ATR before it loses ``d_dn`` ATR within ``horizon``
bars — from the Rally base features (feature set ``rally``) and the forward-filtered state
probabilities of a per-symbol Gaussian HMM fitted on each fold's training window. A long
entry needs ``P(rally) ≥ p_threshold`` and ``comp_score ≥ comp_threshold``; the size
multiplier is ``min(vol_target_k / realised vol, max_size)``; the exit flag fires when the
realised-volatility percentile ``p_rv`` reaches ``rv_exhaustion_pct``. The profit target
and time stop are the engine's (``risk_management.take_profit_atr`` / ``time_stop_bars``):
:func:`apply_named_config` writes the named row's values there.

Causality: fold boundaries are fixed bar offsets from the panel start; a fold's HMM,
thresholds, regression and calibration read only bars before its test window, its training
labels end before it (purge), and the HMM probabilities are filtered (forward pass only).
Bars before the first test window get a NaN probability and no entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from harvester.config.models import HarvesterConfig
from harvester.config.strategies import RallyStrategyConfig
from harvester.core.errors import ConfigError
from harvester.core.types import FloatArray
from harvester.data.panel import Panel
from harvester.features.registry import FEATURES
from harvester.features.sets import feature_set
from harvester.features.volatility import realized_volatility
from harvester.regimes.hmm import filter_probabilities, fit_batched
from harvester.strategies._rally_label import calibrate_thresholds, rally_label, simple_atr
from harvester.strategies._rally_model import (
    Fold,
    FoldModel,
    RallyReport,
    fit_fold,
    fold_metrics,
    plan_folds,
)
from harvester.strategies.base import Strategy, StrategyOutput
from harvester.strategies.signals import Signals

__all__ = [
    "HAND_D_DN",
    "HAND_R_UP",
    "NAMED_CONFIGS",
    "STRATEGY",
    "NamedConfig",
    "RallyFit",
    "ResolvedRally",
    "apply_named_config",
    "fit_walk_forward",
    "generate",
    "output_from_fit",
    "predict_panel",
    "resolve",
    "validate_calibration",
]

# Hand-set thresholds used by validate_calibration when r_up / d_dn are not configured.
HAND_R_UP = 2.0
HAND_D_DN = 1.0


@dataclass(frozen=True, slots=True)
class NamedConfig:
    """One row of the spec's named-config table."""

    p_threshold: float
    comp_threshold: float
    max_size: float
    take_profit_atr: float
    time_stop_bars: int


NAMED_CONFIGS: Mapping[str, NamedConfig] = MappingProxyType(
    {
        "baseline": NamedConfig(0.50, 0.55, 0.25, 2.0, 10),
        "conservative": NamedConfig(0.55, 0.60, 0.15, 1.5, 8),
        "aggressive": NamedConfig(0.40, 0.45, 0.30, 2.5, 12),
        "concentrated": NamedConfig(0.55, 0.60, 0.40, 2.0, 10),
    }
)
"""The spec's named configs: P(rally), Comp, MaxSize, ProfitATR, TimeStop."""


@dataclass(frozen=True, slots=True)
class ResolvedRally:
    """The Rally parameters with the named config's values filled in."""

    params: RallyStrategyConfig
    named: NamedConfig
    p_threshold: float
    comp_threshold: float
    max_size: float


def named_config(name: str) -> NamedConfig:
    """Return the named config ``name``; ConfigError listing the names if unknown."""
    try:
        return NAMED_CONFIGS[name]
    except KeyError:
        known = ", ".join(NAMED_CONFIGS)
        raise ConfigError(
            f"strategies.rally.named_config: unknown name {name!r}; choose one of {known}"
        ) from None


def resolve(config: HarvesterConfig) -> ResolvedRally:
    """Fill the unset thresholds of ``config.strategies.rally`` from its named config."""
    params = config.strategies.rally
    named = named_config(params.named_config)
    return ResolvedRally(
        params=params,
        named=named,
        p_threshold=named.p_threshold if params.p_threshold is None else params.p_threshold,
        comp_threshold=(
            named.comp_threshold if params.comp_threshold is None else params.comp_threshold
        ),
        max_size=named.max_size if params.max_size is None else params.max_size,
    )


def apply_named_config(config: HarvesterConfig) -> HarvesterConfig:
    """Return ``config`` with the named config's risk settings for the engine.

    Sets ``risk_management.take_profit_atr`` and ``time_stop_bars`` from the row, and the
    spec's sizing (position fraction ``min(vol_target_k / rv, MaxSize)``): fixed-fraction
    sizing at 100 % of equity times Rally's size multiplier, capped by
    ``risk_params.max_position_size = MaxSize``.
    """
    rally = resolve(config)
    risk = config.risk_management.model_copy(
        update={
            "take_profit_atr": rally.named.take_profit_atr,
            "time_stop_bars": rally.named.time_stop_bars,
            "sizing": "fixed_fraction",
            "base_position_fraction": 1.0,
        }
    )
    guards = config.risk_params.model_copy(update={"max_position_size": rally.max_size})
    return config.model_copy(update={"risk_management": risk, "risk_params": guards})


def base_features(panel: Panel) -> tuple[tuple[str, ...], dict[str, FloatArray]]:
    """The ``rally`` feature set, minus features whose aux series the panel lacks."""
    names = tuple(
        name
        for name in feature_set("rally")
        if all(a in panel.aux for a in FEATURES[name].aux)
        and all(f in panel.fields for f in FEATURES[name].fields)
    )
    return names, FEATURES.compute_many(panel, names)


def hmm_observations(close: FloatArray) -> FloatArray:
    """(symbols, time, 1) daily log returns in percent; NaN where missing."""
    with np.errstate(invalid="ignore", divide="ignore"):
        log_close = np.log(close)
    returns = np.full(close.shape, np.nan)
    returns[1:] = 100.0 * (log_close[1:] - log_close[:-1])
    returns[~np.isfinite(returns)] = np.nan
    return np.ascontiguousarray(returns.T[:, :, None])


@dataclass(frozen=True, slots=True, eq=False)
class RallyFit:
    """The walk-forward result over a panel.

    ``probability`` / ``raw_score`` are NaN before the first test window; ``hmm`` holds
    the filtered state probabilities (time, symbols, K) of the fold in force; ``r_up`` /
    ``d_dn`` the thresholds of that fold; ``label`` the fold-threshold label (reporting only).
    """

    folds: tuple[FoldModel, ...]
    report: RallyReport
    probability: FloatArray
    raw_score: FloatArray
    hmm: FloatArray
    r_up: FloatArray
    d_dn: FloatArray
    fold_index: FloatArray
    features: tuple[str, ...]


def _bars(years: float, per_year: int) -> int:
    return max(round(years * per_year), 1)


def _fold_plan(n_bars: int, params: RallyStrategyConfig) -> tuple[Fold, ...]:
    return plan_folds(
        n_bars,
        train_bars=_bars(params.train_years, params.bars_per_year),
        test_bars=_bars(params.test_years, params.bars_per_year),
        horizon=params.horizon,
        embargo=params.embargo_bars,
    )


def fit_walk_forward(
    panel: Panel,
    config: HarvesterConfig,
    *,
    r_up: float | None = None,
    d_dn: float | None = None,
) -> RallyFit:
    """Fit every fold of ``panel`` and predict each fold's test window.

    ``r_up`` / ``d_dn`` override the config's (``None`` there: auto-calibrated per fold).
    """
    params = config.strategies.rally
    r_up = params.r_up if r_up is None else r_up
    d_dn = params.d_dn if d_dn is None else d_dn
    high, low, close = (
        np.asarray(panel.array(f), dtype=np.float64) for f in ("high", "low", "close")
    )
    shape = close.shape
    names, base = base_features(panel)
    base_stack = np.stack([base[n] for n in names], axis=2) if names else np.empty((*shape, 0))
    atr = simple_atr(high, low, close, period=params.atr_period)
    observations = hmm_observations(close)
    k = params.hmm_states
    features = (*names, *(f"hmm_p{j}" for j in range(k)))
    out = {name: np.full(shape, np.nan) for name in ("p", "raw", "r_up", "d_dn", "fold")}
    hmm_out = np.full((*shape, k), np.nan)
    models: list[FoldModel] = []
    metrics = []
    for fold in _fold_plan(shape[0], params):
        s, e = fold.test_start, fold.test_end
        hmm = fit_batched(
            observations[:, :s], n_states=k, n_iter=params.hmm_n_iter, seed=params.seed
        )
        probs = np.transpose(filter_probabilities(hmm, observations[:, :e]), (1, 0, 2))
        design = np.concatenate([base_stack[:e], probs], axis=2)
        if r_up is None or d_dn is None:
            auto_up, auto_dn = calibrate_thresholds(close[:s], atr[:s], horizon=params.horizon)
        up = np.full(shape[1], r_up) if r_up is not None else auto_up
        dn = np.full(shape[1], d_dn) if d_dn is not None else auto_dn
        # Labels of training rows from data before the test window only.
        train_label = rally_label(
            high[:s], low[:s], close[:s], atr[:s], horizon=params.horizon, r_up=up, d_dn=dn
        )
        model = fit_fold(
            fold, design[:s], train_label, features=features, horizon=params.horizon,
            hmm=hmm, r_up=up, d_dn=dn, calibration_fraction=params.calibration_fraction,
            regularization_c=params.regularization_c, max_train_rows=params.max_train_rows,
            seed=params.seed,
        )  # fmt: skip
        test = design[s:e].reshape(-1, design.shape[2])
        raw = model.raw_score(test)
        out["raw"][s:e] = raw.reshape(e - s, shape[1])
        out["p"][s:e] = model.calibrate(raw).reshape(e - s, shape[1])
        out["r_up"][s:e], out["d_dn"][s:e], out["fold"][s:e] = up, dn, fold.index
        hmm_out[s:e] = probs[s:e]
        # Out-of-sample scoring (a report, never an input): outcomes may need later bars.
        full_label = rally_label(high, low, close, atr, horizon=params.horizon, r_up=up, d_dn=dn)
        metrics.append(fold_metrics(model, out["p"], full_label, train_label))
        models.append(model)
    return RallyFit(
        folds=tuple(models), report=RallyReport(tuple(metrics)), probability=out["p"],
        raw_score=out["raw"], hmm=hmm_out, r_up=out["r_up"], d_dn=out["d_dn"],
        fold_index=out["fold"], features=features,
    )  # fmt: skip


def predict_panel(panel: Panel, folds: tuple[FoldModel, ...]) -> FloatArray:
    """Calibrated P(rally) on ``panel`` from saved fold models (each on its test window).

    The panel must hold the symbols the models were fitted on, in the same order.
    """
    close = np.asarray(panel.array("close"), dtype=np.float64)
    _, base = base_features(panel)
    observations = hmm_observations(close)
    probability = np.full(close.shape, np.nan)
    for model in folds:
        s, e = model.fold.test_start, min(model.fold.test_end, close.shape[0])
        if s >= e:
            continue
        missing = [n for n in model.features if not n.startswith("hmm_p") and n not in base]
        if missing:
            raise ConfigError(f"rally model needs features the panel lacks: {missing}")
        stack = np.stack([base[n] for n in model.features if n in base], axis=2)
        if model.hmm is None:
            raise ConfigError("rally model has no HMM")
        probs = np.transpose(filter_probabilities(model.hmm, observations[:, :e]), (1, 0, 2))
        design = np.concatenate([stack[s:e], probs[s:e]], axis=2)
        probability[s:e] = model.predict(design.reshape(-1, design.shape[2])).reshape(e - s, -1)
    return probability


def generate(panel: Panel, config: HarvesterConfig) -> StrategyOutput:
    """Rally signals: entries, exhaustion exits, vol-targeted sizes, with their inputs."""
    return output_from_fit(panel, config, fit_walk_forward(panel, config))


def output_from_fit(panel: Panel, config: HarvesterConfig, fit: RallyFit) -> StrategyOutput:
    """The signals and explaining arrays of a walk-forward fit's (or saved models') P(rally)."""
    rally = resolve(config)
    params = rally.params
    close = np.asarray(panel.array("close"), dtype=np.float64)
    comp = FEATURES.compute(panel, "comp_score")
    p_rv = FEATURES.compute(panel, "p_rv")
    rv = realized_volatility(close, period=params.rv_period, periods_per_year=params.bars_per_year)
    k = config.risk_management.vol_target_k
    with np.errstate(invalid="ignore", divide="ignore"):
        size = np.minimum(k / rv, rally.max_size)
        entry = (fit.probability >= rally.p_threshold) & (comp >= rally.comp_threshold)
        exhausted = p_rv >= params.rv_exhaustion_pct
    size = np.where(np.isfinite(size) & (size > 0), size, 0.0)
    entry &= ~exhausted & (size > 0)
    direction = entry.astype(np.int8)
    score = np.where(np.isfinite(fit.probability), fit.probability, 0.0)
    details: dict[str, FloatArray] = {
        "p_rally": fit.probability,
        "raw_score": fit.raw_score,
        "comp_score": comp,
        "p_rv": p_rv,
        "realized_vol": rv,
        "r_up": fit.r_up,
        "d_dn": fit.d_dn,
        "fold": fit.fold_index,
        "p_threshold": np.full(close.shape, rally.p_threshold),
        "comp_threshold": np.full(close.shape, rally.comp_threshold),
        "rv_exhaustion_pct": np.full(close.shape, params.rv_exhaustion_pct),
        "entry": entry.astype(np.float64),
        "exhaustion_exit": exhausted.astype(np.float64),
        "size": size,
    }
    for j in range(fit.hmm.shape[2]):
        details[f"hmm_p{j}"] = fit.hmm[:, :, j]
    signals = Signals(direction, exhausted, size, score)
    return StrategyOutput(signals, details)


def validate_calibration(
    panel: Panel,
    config: HarvesterConfig,
    *,
    r_up: float | None = None,
    d_dn: float | None = None,
) -> dict[str, dict[str, object]]:
    """Compare auto-calibrated thresholds with hand-set ones (``--validate``).

    Hand-set values: the arguments, else the config's ``r_up`` / ``d_dn``, else
    :data:`HAND_R_UP` / :data:`HAND_D_DN`. Returns, for ``auto`` and ``hand``, the mean
    thresholds, the training label rate per fold and the out-of-sample Brier score per fold.
    """
    params = config.strategies.rally
    hand_up = r_up if r_up is not None else (params.r_up or HAND_R_UP)
    hand_dn = d_dn if d_dn is not None else (params.d_dn or HAND_D_DN)
    auto_config = config.model_copy(
        update={
            "strategies": config.strategies.model_copy(
                update={"rally": params.model_copy(update={"r_up": None, "d_dn": None})}
            )
        }
    )
    runs = {
        "auto": fit_walk_forward(panel, auto_config),
        "hand": fit_walk_forward(panel, config, r_up=hand_up, d_dn=hand_dn),
    }
    result: dict[str, dict[str, object]] = {}
    for name, fit in runs.items():
        result[name] = {
            "r_up": [float(np.mean(m.r_up)) for m in fit.folds],
            "d_dn": [float(np.mean(m.d_dn)) for m in fit.folds],
            "train_label_rate": [m.train_label_rate for m in fit.report.folds],
            "test_label_rate": [m.test_label_rate for m in fit.report.folds],
            "brier": [m.brier for m in fit.report.folds],
        }
    return result


def _params(config: HarvesterConfig) -> RallyStrategyConfig:
    return config.strategies.rally


STRATEGY = Strategy(
    name="rally",
    summary="Calibrated P(rally) after volatility compression (walk-forward logistic + HMM)",
    params=_params,
    generate=generate,
    features=feature_set("rally"),
    configure=apply_named_config,
)
