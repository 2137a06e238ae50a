"""``consensus``: the Python brain on daily bars — a buy needs N sources to agree.

Four sources vote +1 / −1 / 0 (abstain) for every (bar, symbol):

- **news**: the panel field ``sentiment`` (see :func:`harvester.features.sentiment.with_sentiment`)
  beyond ± ``sentiment_threshold``; NaN or no such field abstains;
- **momentum**: the ``momentum_lookback``-bar return beyond ± ``momentum_threshold``;
- **technical**: ``rsi_score`` and ``macd_score`` averaged, plus the chart patterns
  (``inverse_head_shoulders``, ``bull_flag`` bullish; ``double_top``, ``bear_flag`` bearish)
  times ``pattern_weight``, beyond ± ``technical_threshold``;
- **microstructure**: Z-score mean reversion — z at or below the long entry (−2, tightened
  to −2.8 while the benchmark is below its 200-day average) votes +1, z at or above +2 −1.

:class:`~harvester.strategies.rules.BrainRules` turns the votes into signals: a buy
consensus (``min_sources`` positive) enters long unless the close is extended more than
``vwap_mean_reversion_pct`` above its VWAP; long size is halved while the benchmark is below
its ``regimes.market_filter_period``-day average; a sell consensus closes longs (or goes
short with ``allow_short``). Stops and targets are the engine's, in ATR multiples of
``risk_management`` (the spec's ATR stop); the spec's 0.25 % daily cap is the engine guard
``risk_params.daily_profit_cap_pct``.

Causal: every input is a causal feature at bar t (or the benchmark's SMA up to t) and the
rules are element-wise, so row t uses nothing after bar t.
"""

from __future__ import annotations

import warnings

import numpy as np

from harvester.config.models import HarvesterConfig
from harvester.config.strategies import ConsensusStrategyConfig
from harvester.core.types import FloatArray
from harvester.data.panel import Panel
from harvester.features.registry import FEATURES, InsufficientHistoryWarning
from harvester.regimes.market_filter import below_200_day
from harvester.strategies.base import Strategy, StrategyOutput
from harvester.strategies.rules import (
    SOURCES,
    BrainInputs,
    BrainRules,
    ConsensusRule,
    MarketFilterRule,
    TechnicalRule,
    ThresholdVoteRule,
    VwapRule,
    ZScoreRule,
)
from harvester.strategies.signals import Signals

__all__ = ["STRATEGY", "brain_rules", "generate", "momentum"]

_FEATURES = (
    "rsi_score",
    "macd_score",
    "double_top",
    "inverse_head_shoulders",
    "bull_flag",
    "bear_flag",
    "zscore",
    "vwap_extension",
    "atr_stop_distance",
)


def brain_rules(params: ConsensusStrategyConfig, *, allow_short: bool) -> BrainRules:
    """Build the rule objects from the strategy's parameters."""
    return BrainRules(
        news=ThresholdVoteRule(params.sentiment_threshold),
        momentum=ThresholdVoteRule(params.momentum_threshold),
        technical=TechnicalRule(params.pattern_weight, params.technical_threshold),
        zscore=ZScoreRule(short_entry=-params.zscore_mean_reversion_buy),
        vwap=VwapRule(params.vwap_mean_reversion_pct / 100.0, enabled=params.use_vwap_anchor),
        market=MarketFilterRule(
            z_entry=params.zscore_mean_reversion_buy,
            z_tighten=params.spy_below_200ma_z_tighten,
            long_size_multiplier=params.spy_below_200ma_long_size_multiplier,
            enabled=params.spy_200ma_regime_enabled,
        ),
        consensus=ConsensusRule(params.min_sources, params.max_negative_sources),
        allow_short=allow_short,
    )


def momentum(close: FloatArray, *, lookback: int) -> FloatArray:
    """Return ``close[t] / close[t − lookback] − 1`` (NaN for the first ``lookback`` bars)."""
    out = np.full(close.shape, np.nan)
    if close.shape[0] > lookback:
        with np.errstate(invalid="ignore", divide="ignore"):
            out[lookback:] = close[lookback:] / close[:-lookback] - 1.0
    out[~np.isfinite(out)] = np.nan
    return out


def _feature(panel: Panel, name: str, on: bool = True, **params: float | int) -> FloatArray:
    if not on:
        return np.full(panel.shape, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsufficientHistoryWarning)
        return FEATURES.compute(panel, name, **params)


def generate(panel: Panel, config: HarvesterConfig) -> StrategyOutput:
    """Return the brain's signals and the votes, counts and thresholds behind them."""
    p = config.strategies.consensus
    risk = config.risk_management
    nan = np.full(panel.shape, np.nan)
    close = panel.array("close")
    technical = p.use_technical_indicators
    patterns = technical and p.use_patterns
    ohlc = all(f in panel.fields for f in ("high", "low"))
    values = {
        "sentiment": np.array(panel.fields.get("sentiment", nan), dtype=np.float64),
        "momentum": momentum(close, lookback=p.momentum_lookback),
        "rsi_score": _feature(panel, "rsi_score", technical, period=p.rsi_period),
        "macd_score": _feature(panel, "macd_score", technical and p.use_macd and ohlc),
        "double_top": _feature(panel, "double_top", patterns),
        "inverse_head_shoulders": _feature(panel, "inverse_head_shoulders", patterns),
        "bull_flag": _feature(panel, "bull_flag", patterns),
        "bear_flag": _feature(panel, "bear_flag", patterns),
        "zscore": _feature(panel, "zscore", p.use_zscore_mean_reversion, period=p.zscore_period),
        "vwap_extension": _feature(
            panel,
            "vwap_extension",
            p.use_vwap_anchor and ohlc and "volume" in panel.fields,
            period=p.vwap_lookback,
        ),
    }
    below = np.zeros(panel.shape[0], dtype=bool)
    if p.spy_200ma_regime_enabled and "benchmark" in panel.aux:
        below = below_200_day(panel.aux["benchmark"], period=config.regimes.market_filter_period)
    bullish = np.nan_to_num(values["inverse_head_shoulders"]) + np.nan_to_num(values["bull_flag"])
    bearish = np.nan_to_num(values["double_top"]) + np.nan_to_num(values["bear_flag"])
    rules = brain_rules(p, allow_short=p.allow_short and risk.allow_short)
    decision = rules.decide(
        BrainInputs(
            values["sentiment"], values["momentum"], values["rsi_score"], values["macd_score"],
            bullish, bearish, values["zscore"], values["vwap_extension"], below[:, None],
        )
    )  # fmt: skip
    signals = Signals(
        np.ascontiguousarray(decision.direction, dtype=np.int8),
        np.ascontiguousarray(decision.exit, dtype=np.bool_),
        np.ascontiguousarray(decision.size, dtype=np.float64),
        np.ascontiguousarray(decision.score, dtype=np.float64),
    )
    atr_stop = (
        _feature(panel, "atr_stop_distance", period=risk.atr_period, multiple=risk.stop_loss_atr)
        if ohlc
        else nan
    )
    details: dict[str, FloatArray] = {
        **values,
        "bullish_patterns": bullish,
        "bearish_patterns": bearish,
        "technical_score": decision.technical_score,
        **{f"vote_{name}": decision.votes[..., k] for k, name in enumerate(SOURCES)},
        "positive_votes": decision.positive,
        "negative_votes": decision.negative,
        "buy_consensus": decision.buy.astype(np.float64),
        "sell_consensus": decision.sell.astype(np.float64),
        "market_filter": np.broadcast_to(below[:, None], panel.shape).astype(np.float64),
        "long_entry_z": decision.long_entry_z,
        "long_size_multiplier": decision.long_size,
        "vwap_block": decision.vwap_block.astype(np.float64),
        "atr_stop_distance": atr_stop,
    }
    return StrategyOutput(
        signals, {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in details.items()}
    )


def _params(config: HarvesterConfig) -> ConsensusStrategyConfig:
    return config.strategies.consensus


STRATEGY = Strategy(
    name="consensus",
    summary="Python brain: enter when N of news, momentum, technical, Z-score sources agree",
    params=_params,
    generate=generate,
    features=_FEATURES,
)
