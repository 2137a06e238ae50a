"""Typed, frozen configuration for every component; unknown keys are rejected.

Defaults are the values the five source specifications use (Harvester II ``config.json``,
the Composer ``base.json`` and risk profiles, the Rally and Python-brain defaults). Each
component receives its own section, never the root and never a dict.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import Field, model_validator

from harvester.config.base import Section
from harvester.config.strategies import StrategiesConfig

__all__ = [
    "BayesianConfig",
    "BrainConfig",
    "ComposerConfig",
    "DataConfig",
    "ExecutionConfig",
    "HarvesterConfig",
    "LoggingConfig",
    "MonitoringConfig",
    "OrchestratorConfig",
    "PanicScoreWeights",
    "ProviderConfig",
    "RegimeConfig",
    "RiskManagementConfig",
    "RiskParams",
    "SanityConfig",
    "ScaleOutStep",
    "SignalsConfig",
    "TrailingStopConfig",
    "UniverseConfig",
]

SanityMode = Literal["warn", "enforce", "off"]
ProviderName = Literal["yfinance", "alphavantage", "alpaca"]
StrategyName = Literal["momentum", "mean_reversion", "breakout"]


class UniverseConfig(Section):
    """Which assets to trade (Harvester II ``universe``)."""

    assets: tuple[str, ...] = ("SPY", "QQQ", "BTC-USD", "ETH-USD")
    cri_threshold: float = Field(0.4, ge=-1.0, le=1.0)


class PanicScoreWeights(Section):
    volatility_weight: float = 1.0
    volume_weight: float = 1.0
    trends_weight: float = 0.8


class SignalsConfig(Section):
    """Entry-signal thresholds (Harvester II ``signals``)."""

    panic_threshold: float = 3.0
    panic_score_weights: PanicScoreWeights = PanicScoreWeights()


class RiskParams(Section):
    """Portfolio guards (Composer ``risk_params``); the risk profiles change these.

    ``max_daily_loss_pct`` is the daily drawdown kill-switch (Harvester II's
    ``daily_drawdown_limit`` of 0.02 is the same rule, written as a percent here).
    """

    max_gross_exposure_pct: float = Field(50.0, gt=0.0, le=1000.0)
    max_daily_loss_pct: float = Field(2.0, ge=0.0, le=100.0)
    max_position_size: float = Field(0.1, gt=0.0, le=10.0)
    max_drawdown_pct: float = Field(15.0, ge=0.0, le=100.0)
    kill_switch_flatten: bool = False
    daily_profit_cap_pct: float = Field(0.0, ge=0.0)
    reentry_cooldown_bars: int = Field(0, ge=0)


class TrailingStopConfig(Section):
    enabled: bool = True
    atr_multiplier: float = Field(1.5, gt=0.0)
    min_distance: float = Field(0.02, ge=0.0, lt=1.0)


class ScaleOutStep(Section):
    """Close ``fraction`` of the original quantity when price reaches ``r_multiple`` × R."""

    r_multiple: float = Field(gt=0.0)
    fraction: float = Field(gt=0.0, le=1.0)


class RiskManagementConfig(Section):
    """Per-trade sizing and exits (Harvester II ``risk_management``, Rally sizing and stops).

    A zero multiple switches that exit off (``take_profit_atr=0``: no target).
    """

    sizing: Literal["fixed_fraction", "risk", "volatility"] = "fixed_fraction"
    base_position_fraction: float = Field(0.005, gt=0.0, le=10.0)
    risk_per_trade: float = Field(0.005, gt=0.0, le=1.0)
    vol_target_k: float = Field(0.10, gt=0.0)
    max_position_notional_usd: float = Field(5_000.0, ge=0.0)
    max_open_positions: int = Field(4, ge=1)
    allow_short: bool = True
    atr_period: int = Field(14, ge=1)
    rv_period: int = Field(20, ge=2)
    stop_loss_atr: float = Field(1.0, ge=0.0)
    take_profit_atr: float = Field(2.0, ge=0.0)
    trailing_stops: TrailingStopConfig = TrailingStopConfig()
    time_stop_bars: int = Field(0, ge=0)
    scale_out: tuple[ScaleOutStep, ...] = ()


class ExecutionConfig(Section):
    """How orders fill: timing, slippage, commission, participation, share rounding."""

    fill: Literal["next_open", "close"] = "next_open"
    slippage_model: Literal["bps", "atr", "sqrt_impact"] = "bps"
    slippage_bps: float = Field(5.0, ge=0.0)
    slippage_atr_fraction: float = Field(0.1, ge=0.0)
    impact_coefficient: float = Field(0.1, ge=0.0)
    adv_bars: int = Field(20, ge=1)
    commission_bps: float = Field(1.0, ge=0.0)
    commission_per_share: float = Field(0.0, ge=0.0)
    commission_min_usd: float = Field(0.0, ge=0.0)
    participation_cap: float = Field(0.0, ge=0.0, le=1.0)
    fractional_shares: bool = False


class ComposerConfig(Section):
    """Strategy blending (Composer ``composer``); the asset-class overrides set the eligible set."""

    use_composer: bool = False
    composer_mode: Literal["softmax_blender"] = "softmax_blender"
    eligible_strategies: tuple[StrategyName, ...] = ("momentum", "mean_reversion", "breakout")
    temperature: float = Field(1.0, gt=0.0)


class BayesianConfig(Section):
    """HMM conviction (Harvester II ``bayesian``) and its fallback chain HMM → rules → default.

    ``n_init``: EM restarts per symbol (the best log-likelihood wins). ``stressed_states``:
    HMM states whose filtered probabilities make the conviction (default: the last state,
    panic). ``rule_conviction_window``: bars over which the rule level counts volatile
    labels. ``fallback_conviction``: the conviction when neither HMM nor rules apply.
    """

    enabled: bool = True
    n_states: int = Field(3, ge=2, le=6)
    conviction_threshold: float = Field(0.7, ge=0.0, le=1.0)
    priors: tuple[float, ...] = (0.3, 0.4, 0.3)
    covariance_type: Literal["full", "diag", "spherical", "tied"] = "full"
    training_samples: int = Field(1000, ge=10)
    inference_timeout: float = Field(2.0, gt=0.0)
    n_init: int = Field(1, ge=1)
    stressed_states: tuple[int, ...] = (2,)
    rule_conviction_window: int = Field(20, ge=1)
    fallback_conviction: float = Field(0.5, ge=0.0, le=1.0)

    @model_validator(mode="before")
    @classmethod
    def _default_stressed_state(cls, data: Any) -> Any:
        """Without ``stressed_states``, stress is the last state of ``n_states``."""
        if isinstance(data, dict) and "stressed_states" not in data:
            n_states = data.get("n_states", 3)
            if isinstance(n_states, bool):
                return data
            try:
                last = int(n_states) - 1
            except (TypeError, ValueError):
                return data  # the field validator reports the bad n_states
            return {**data, "stressed_states": (last,)}
        return data

    @model_validator(mode="after")
    def _priors_match_states(self) -> BayesianConfig:
        if len(self.priors) != self.n_states:
            raise ValueError(
                f"priors has {len(self.priors)} values but n_states is {self.n_states}"
            )
        if abs(sum(self.priors) - 1.0) > 1e-6:
            raise ValueError(f"priors must sum to 1, they sum to {sum(self.priors):.6g}")
        if not self.stressed_states:
            raise ValueError("stressed_states must name at least one state")
        outside = [k for k in self.stressed_states if not 0 <= k < self.n_states]
        if outside or len(set(self.stressed_states)) != len(self.stressed_states):
            raise ValueError(
                f"stressed_states {self.stressed_states} must be distinct states in "
                f"0..{self.n_states - 1} (n_states is {self.n_states})"
            )
        return self


class RegimeConfig(Section):
    """Composer's rule regimes and the SPY 200-day market filter (``regimes.rules``).

    A bar is a trend when ``|trend_strength|`` over ``trend_window`` bars exceeds
    ``trend_threshold``, chop when the choppiness index over ``chop_window`` bars exceeds
    ``chop_threshold``, volatile when realised volatility over ``vol_window`` bars is above
    its ``vol_quantile`` quantile over ``vol_rank_window`` bars. ``market_filter_period``:
    the moving average of the market filter.
    """

    trend_window: int = Field(20, ge=2)
    trend_threshold: float = Field(2.0, gt=0.0)
    chop_window: int = Field(14, ge=2)
    chop_threshold: float = Field(61.8, gt=0.0, lt=100.0)
    vol_window: int = Field(20, ge=2)
    vol_rank_window: int = Field(252, ge=2)
    vol_quantile: float = Field(0.8, gt=0.0, lt=1.0)
    market_filter_period: int = Field(200, ge=1)


class SanityConfig(Section):
    """Data-sanity rules (Composer DataSanity): thresholds and what a finding does."""

    mode: SanityMode = "warn"
    max_abs_return: float = Field(0.5, gt=0.0)
    stale_bars: int = Field(5, ge=2)
    zero_volume_bars: int = Field(3, ge=1)
    check_calendar: bool = True


class ProviderConfig(Section):
    """How the online adapters fetch: concurrency, rate limit, retries, cache lifetime."""

    order: tuple[ProviderName, ...] = ("yfinance", "alphavantage")
    max_concurrency: int = Field(8, ge=1, le=64)
    requests_per_second: float = Field(5.0, gt=0.0)
    max_retries: int = Field(3, ge=0, le=10)
    backoff_seconds: float = Field(1.0, ge=0.0)
    timeout_seconds: float = Field(20.0, gt=0.0)
    cache_ttl_hours: float = Field(12.0, ge=0.0)


class DataConfig(Section):
    """Where market data comes from and how it is checked."""

    source: str = "sample"
    start: str | None = None
    end: str | None = None
    calendar: str = "XNYS"
    crypto_calendar: str = "24/7"
    providers: ProviderConfig = ProviderConfig()
    sanity: SanityConfig = SanityConfig()


class MonitoringConfig(Section):
    prometheus_enabled: bool = True
    prometheus_port: int = Field(8000, ge=1, le=65535)


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_lines: bool = False
    to_file: bool = True
    max_bytes: int = Field(5_000_000, ge=10_000)
    backup_count: int = Field(5, ge=0)


class OrchestratorConfig(Section):
    """``harvester run scan|retrain|auto|health|live``: freshness limits and the schedule.

    Times are wall-clock times in ``timezone``; ``retrain_weekday`` counts from Monday = 0
    (6 = Sunday, the Rally spec's weekly retrain). ``skip_fresh_days`` is the Rally spec's
    pipeline default. ``broker``: where the daily scan's orders go — ``paper`` (the store's
    paper broker books the session's fills) or a real broker by name (``alpaca``,
    ``alpaca-live``, ``ib``), sent the orders for the next open after the close, on the
    account of that name (:mod:`harvester.live.next_session`).
    """

    scan_strategy: str = "composer"
    broker: str = "paper"
    skip_fresh_days: float = Field(7.0, ge=0.0)
    stale_model_days: float = Field(14.0, gt=0.0)
    stale_data_sessions: int = Field(1, ge=0)
    timezone: str = "America/New_York"
    daily_time: str = Field("16:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    retrain_weekday: int = Field(6, ge=0, le=6)
    retrain_time: str = Field("18:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class BrainConfig(Section):
    """The stream decision loop (``harvester consume``, the Python brain's live consumer).

    The rules are ``strategies.consensus``'s; sizing, stops and targets are
    ``risk_management``'s, costs ``execution``'s and the daily cap
    ``risk_params.daily_profit_cap_pct``. ``cooldown_seconds``: no new buy of a symbol
    within this much event time after its last order. ``spy_refresh_minutes``: how often
    (event time) the benchmark's below-200-day flag is recomputed. ``active_symbols_file``:
    the screener's pool (None: every symbol is active), checked for changes every
    ``active_check_seconds`` of event time. ``sentiment_hours``: news older than this no
    longer counts in a symbol's sentiment.
    """

    cooldown_seconds: float = Field(300.0, ge=0.0)
    spy_refresh_minutes: float = Field(15.0, gt=0.0)
    benchmark: str = "SPY"
    active_symbols_file: str | None = None
    active_check_seconds: float = Field(60.0, gt=0.0)
    sentiment_hours: float = Field(24.0, gt=0.0)
    paper_orders: bool = True
    account: str = "stream-paper"
    experience_buffer_enabled: bool = True
    shadow_strategy_enabled: bool = True
    conviction_sizing_enabled: bool = True


class HarvesterConfig(Section):
    """The whole system's configuration, as resolved from all layers."""

    profile: str | None = None
    asset_class: Literal["crypto", "etf", "equity"] | None = None
    initial_capital: float = Field(100_000.0, gt=0.0)
    universe: UniverseConfig = UniverseConfig()
    signals: SignalsConfig = SignalsConfig()
    risk_params: RiskParams = RiskParams()
    risk_management: RiskManagementConfig = RiskManagementConfig()
    execution: ExecutionConfig = ExecutionConfig()
    composer: ComposerConfig = ComposerConfig()
    bayesian: BayesianConfig = BayesianConfig()
    regimes: RegimeConfig = RegimeConfig()
    strategies: StrategiesConfig = StrategiesConfig()
    data: DataConfig = DataConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    logging: LoggingConfig = LoggingConfig()
    orchestrator: OrchestratorConfig = OrchestratorConfig()
    brain: BrainConfig = BrainConfig()

    def content_hash(self) -> str:
        """Return the SHA-256 of the canonical JSON form; equal configs, equal hash."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()
