"""The built-in feature specs, in one tuple (the registry indexes it by name)."""

from __future__ import annotations

from harvester.features import technical as tech
from harvester.features import trend
from harvester.features._spec import FeatureSpec, Params
from harvester.features.volatility import realized_volatility, true_range

__all__ = ["BUILTIN_SPECS"]

CLOSE = ("close",)
HLC = ("high", "low", "close")
BOLLINGER = {"period": 20, "num_std": 2.0}
MACD = {"fast": 12, "slow": 26, "signal": 9}


def _period(params: Params) -> int:
    return int(params["period"])


def _period_less_one(params: Params) -> int:
    return int(params["period"]) - 1


def _macd_signal_warmup(params: Params) -> int:
    return int(params["slow"]) + int(params["signal"]) - 2


BUILTIN_SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec("returns", CLOSE, {}, lambda p: 1, tech.returns),
    FeatureSpec("log_returns", CLOSE, {}, lambda p: 1, tech.log_returns),
    FeatureSpec("true_range", HLC, {}, lambda p: 0, true_range),
    FeatureSpec("atr", HLC, {"period": 14}, _period, tech.wilder_atr),
    FeatureSpec(
        "realized_vol",
        CLOSE,
        {"period": 20, "periods_per_year": 252},
        _period,
        realized_volatility,
    ),
    FeatureSpec("zscore", CLOSE, {"period": 20}, _period_less_one, tech.zscore),
    FeatureSpec(
        "pct_rank", CLOSE, {"window": 252}, lambda p: int(p["window"]) - 1, tech.percentile_rank
    ),
    FeatureSpec("bb_middle", CLOSE, BOLLINGER, _period_less_one, tech.bollinger_middle),
    FeatureSpec("bb_upper", CLOSE, BOLLINGER, _period_less_one, tech.bollinger_upper),
    FeatureSpec("bb_lower", CLOSE, BOLLINGER, _period_less_one, tech.bollinger_lower),
    FeatureSpec("bb_width", CLOSE, BOLLINGER, _period_less_one, tech.bollinger_width),
    FeatureSpec("rsi", CLOSE, {"period": 14}, _period, tech.rsi),
    FeatureSpec("macd", CLOSE, MACD, lambda p: int(p["slow"]) - 1, trend.macd),
    FeatureSpec("macd_signal", CLOSE, MACD, _macd_signal_warmup, trend.macd_signal),
    FeatureSpec("macd_hist", CLOSE, MACD, _macd_signal_warmup, trend.macd_histogram),
    FeatureSpec("sma", CLOSE, {"period": 20}, _period_less_one, tech.sma),
    FeatureSpec("ema", CLOSE, {"period": 20}, _period_less_one, tech.ema),
    FeatureSpec(
        "ma_slope",
        CLOSE,
        {"period": 20, "lag": 5},
        lambda p: int(p["period"]) - 1 + int(p["lag"]),
        tech.ma_slope,
    ),
    FeatureSpec("linreg_slope", CLOSE, {"period": 20}, _period_less_one, trend.linreg_slope),
    FeatureSpec("linreg_r2", CLOSE, {"period": 20}, _period_less_one, trend.linreg_r2),
    FeatureSpec("adx", HLC, {"period": 14}, lambda p: 2 * int(p["period"]) - 1, trend.adx),
    FeatureSpec("chop", HLC, {"period": 14}, _period_less_one, trend.choppiness),
    FeatureSpec("range_position", HLC, {"period": 20}, _period_less_one, trend.range_position),
    FeatureSpec("volume_ratio", ("volume",), {"period": 20}, _period_less_one, trend.volume_ratio),
)
