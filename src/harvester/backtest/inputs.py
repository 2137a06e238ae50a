"""Build the simulator's arrays from a Panel and the config sections that own each rule."""

from __future__ import annotations

import numpy as np

from harvester.backtest._arrays import EngineParams, MarketArrays
from harvester.config.models import ExecutionConfig, HarvesterConfig, RiskManagementConfig
from harvester.core.errors import ConfigError
from harvester.core.types import FloatArray
from harvester.data.panel import Panel
from harvester.execution.costs import SLIPPAGE_ATR, SLIPPAGE_BPS, SLIPPAGE_SQRT_IMPACT
from harvester.features._memo import shared
from harvester.features.volatility import (
    average_daily_volume,
    average_true_range,
    realized_volatility,
)
from harvester.risk.sizing import SIZING_FIXED_FRACTION, SIZING_RISK, SIZING_VOLATILITY

__all__ = ["engine_params", "market_arrays"]

_SLIPPAGE = {"bps": SLIPPAGE_BPS, "atr": SLIPPAGE_ATR, "sqrt_impact": SLIPPAGE_SQRT_IMPACT}
_SIZING = {
    "fixed_fraction": SIZING_FIXED_FRACTION,
    "risk": SIZING_RISK,
    "volatility": SIZING_VOLATILITY,
}
TRADING_DAYS_PER_YEAR = 252.0
CALENDAR_DAYS_PER_YEAR = 365.0


def _slippage_rate(execution: ExecutionConfig) -> float:
    return {
        "bps": execution.slippage_bps,
        "atr": execution.slippage_atr_fraction,
        "sqrt_impact": execution.impact_coefficient,
    }[execution.slippage_model]


def _sizing_fraction(risk: RiskManagementConfig) -> float:
    return {
        "fixed_fraction": risk.base_position_fraction,
        "risk": risk.risk_per_trade,
        "volatility": risk.vol_target_k,
    }[risk.sizing]


def _scale_out(risk: RiskManagementConfig) -> tuple[np.ndarray, np.ndarray]:
    steps = sorted(risk.scale_out, key=lambda step: step.r_multiple)
    fractions = np.array([s.fraction for s in steps], dtype=np.float64)
    if fractions.sum() > 1.0 + 1e-9:
        raise ConfigError(
            f"risk_management.scale_out closes {fractions.sum():.0%} of a position; "
            "the fractions must add up to at most 1"
        )
    return np.array([s.r_multiple for s in steps], dtype=np.float64), fractions


def engine_params(config: HarvesterConfig) -> EngineParams:
    """Return the simulator rules from ``execution``, ``risk_management`` and ``risk_params``."""
    execution, risk, guards = config.execution, config.risk_management, config.risk_params
    scale_r, scale_fraction = _scale_out(risk)
    return EngineParams(
        initial_cash=config.initial_capital,
        fill_at_close=execution.fill == "close",
        slippage_model=_SLIPPAGE[execution.slippage_model],
        slippage_rate=_slippage_rate(execution),
        commission_bps=execution.commission_bps,
        commission_per_share=execution.commission_per_share,
        commission_min=execution.commission_min_usd,
        participation_cap=execution.participation_cap,
        sizing=_SIZING[risk.sizing],
        sizing_fraction=_sizing_fraction(risk),
        max_size=guards.max_position_size,
        max_notional=risk.max_position_notional_usd,
        stop_atr=risk.stop_loss_atr,
        target_atr=risk.take_profit_atr,
        trail_enabled=risk.trailing_stops.enabled,
        trail_atr=risk.trailing_stops.atr_multiplier,
        trail_min_distance=risk.trailing_stops.min_distance,
        time_stop_bars=risk.time_stop_bars,
        scale_r=scale_r,
        scale_fraction=scale_fraction,
        allow_short=risk.allow_short,
        max_positions=risk.max_open_positions,
        max_gross=guards.max_gross_exposure_pct / 100.0,
        kill_switch=guards.max_daily_loss_pct / 100.0,
        kill_switch_flatten=guards.kill_switch_flatten,
        profit_cap=guards.daily_profit_cap_pct / 100.0,
        max_drawdown=guards.max_drawdown_pct / 100.0,
        cooldown_bars=guards.reentry_cooldown_bars,
    )


def _day_numbers(panel: Panel) -> np.ndarray:
    days = panel.index.normalize()
    result: np.ndarray = np.unique(days.asi8, return_inverse=True)[1].astype(np.int64)
    return result


def market_arrays(panel: Panel, config: HarvesterConfig) -> MarketArrays:
    """Return prices and the causal ATR, ADV and realised vol the rules need."""
    risk, execution = config.risk_management, config.execution
    crypto = np.array([panel.meta[s].asset_class == "crypto" for s in panel.symbols], dtype=bool)
    atr, adv, realized_vol = _rule_inputs(
        panel.array("high"), panel.array("low"), panel.array("close"), panel.array("volume"),
        atr_period=risk.atr_period, adv_bars=execution.adv_bars, rv_period=risk.rv_period,
        crypto=tuple(bool(c) for c in crypto),
    )  # fmt: skip
    return MarketArrays(
        open=panel.array("open"),
        high=panel.array("high"),
        low=panel.array("low"),
        close=panel.array("close"),
        volume=panel.array("volume"),
        atr=atr,
        adv=adv,
        realized_vol=realized_vol,
        day=_day_numbers(panel),
        fractional=crypto | execution.fractional_shares,
    )


@shared
def _rule_inputs(
    high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray, *,
    atr_period: int, adv_bars: int, rv_period: int, crypto: tuple[bool, ...],
) -> tuple[FloatArray, FloatArray, FloatArray]:  # fmt: skip
    """ATR, ADV and annualised realised vol, row-ordered for the kernel (shared across an
    optimisation's trials: they depend on the data and three periods only)."""
    periods = np.where(np.array(crypto, dtype=bool), CALENDAR_DAYS_PER_YEAR, TRADING_DAYS_PER_YEAR)
    realized = realized_volatility(close, period=rv_period, periods_per_year=1.0)
    # The kernel wants row-ordered arrays; pandas hands back column-ordered ones.
    return (
        np.ascontiguousarray(average_true_range(high, low, close, period=atr_period)),
        np.ascontiguousarray(average_daily_volume(volume, period=adv_bars)),
        np.ascontiguousarray(realized * np.sqrt(periods)),
    )
