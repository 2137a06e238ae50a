"""The built-in feature specs, in one tuple (the registry indexes it by name)."""

from __future__ import annotations

from collections.abc import Callable

from harvester.features import brain, breadth, patterns, rally, trend
from harvester.features import harvester_ii as h2
from harvester.features import technical as tech
from harvester.features._spec import FeatureSpec, Params
from harvester.features.volatility import realized_volatility, true_range
from harvester.features.vwap import rolling_vwap

__all__ = ["BUILTIN_SPECS"]

CLOSE = ("close",)
HLC = ("high", "low", "close")
BOLLINGER = {"period": 20, "num_std": 2.0}
MACD = {"fast": 12, "slow": 26, "signal": 9}
CROWD = ("close", "volume")
PANIC = {
    "period": 20,
    "vol_period": 20,
    "volatility_weight": 1.0,
    "volume_weight": 1.0,
    "trends_weight": 0.8,
}
G_SCORE = {"horizon": 7, "vix_threshold": 25.0, "benchmark_drop": 0.05, "oil_rise": 0.10}
PCT = {"percentile_window": 252}
COMPRESSION = {"atr_period": 20, "bb_period": 20, "rv_period": 20, **PCT}
TRAP = {
    "trap_range_period": 20,
    "trap_lookforward": 5,
    "rv_period": 20,
    **PCT,
    "rv_trap_percentile": 0.70,
}


def _period(params: Params) -> int:
    return int(params["period"])


def _period_less_one(params: Params) -> int:
    return int(params["period"]) - 1


def _macd_signal_warmup(params: Params) -> int:
    return int(params["slow"]) + int(params["signal"]) - 2


def _int(name: str, offset: int = 0) -> Callable[[Params], int]:
    return lambda p: int(p[name]) + offset


def _comp_warmup(params: Params) -> int:
    first = max(int(params["atr_period"]) - 1, int(params["bb_period"]) - 1)
    return max(first, int(params["rv_period"])) + int(params["percentile_window"]) - 1


def _panic_warmup(params: Params) -> int:
    period = int(params["period"])
    return max(int(params["vol_period"]), period - 1) + period - 1


def _rank_of(name: str, offset: int) -> Callable[[Params], int]:
    return lambda p: int(p[name]) + offset + int(p["percentile_window"]) - 1


HARVESTER_II: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "cri", CROWD, {"window": 20}, lambda p: 2 * int(p["window"]) - 1, h2.cri,
        optional_fields=("attention",),
    ),
    FeatureSpec("panic_score", CROWD, PANIC, _panic_warmup, h2.panic_score,
                optional_fields=("attention",)),
    FeatureSpec("g_score", CLOSE, G_SCORE, _int("horizon"), h2.g_score,
                aux=("vix", "benchmark", "oil")),
)  # fmt: skip

RALLY: tuple[FeatureSpec, ...] = (
    FeatureSpec("p_atr", HLC, {"atr_period": 20, **PCT}, _rank_of("atr_period", -1), rally.p_atr),
    FeatureSpec("p_bb", CLOSE, {"bb_period": 20, **PCT}, _rank_of("bb_period", -1), rally.p_bb),
    FeatureSpec("p_rv", CLOSE, {"rv_period": 20, **PCT}, _rank_of("rv_period", 0), rally.p_rv),
    FeatureSpec("comp_score", HLC, COMPRESSION, _comp_warmup, rally.comp_score),
    FeatureSpec("range_width", HLC, {"range_period": 40}, _int("range_period", -1),
                rally.range_width),
    FeatureSpec("range_tightness", HLC, {"range_period": 40, "atr_period": 20},
                lambda p: max(int(p["range_period"]), int(p["atr_period"])) - 1,
                rally.range_tightness),
    FeatureSpec("trap", ("low", "close"), TRAP, _rank_of("rv_period", 0), rally.trap),
    FeatureSpec("trend", CLOSE, {"ma_long": 200}, _int("ma_long", -1), rally.trend),
    FeatureSpec("golden_cross", CLOSE, {"fast": 50, "slow": 200}, _int("slow", -1),
                rally.golden_cross),
    FeatureSpec("price_vs_ma", CLOSE, {"period": 50}, _period_less_one, rally.price_vs_ma),
    FeatureSpec("p_vol", ("volume",), {"volume_period": 20, **PCT},
                _rank_of("volume_period", -1), rally.p_vol),
    FeatureSpec("macd_hist_norm", CLOSE, MACD, _macd_signal_warmup, rally.macd_hist_norm),
    FeatureSpec("vix_level", CLOSE, {}, lambda p: 0, rally.vix_level, aux=("vix",)),
    FeatureSpec("vix_change", CLOSE, {"period": 5}, _period, rally.vix_change, aux=("vix",)),
    FeatureSpec("vix_pctile", CLOSE, PCT, _int("percentile_window", -1), rally.vix_pctile,
                aux=("vix",)),
)  # fmt: skip

HLCV = ("high", "low", "close", "volume")
TOP = {"lookback": 40, "tolerance": 0.03, "depth": 0.05}
HEAD_SHOULDERS = {"lookback": 60, "tolerance": 0.03, "depth": 0.05}
FLAG = {"pole_bars": 5, "flag_bars": 10, "pole_gain": 0.08, "retrace": 0.5}


def _flag_warmup(params: Params) -> int:
    return int(params["pole_bars"]) + int(params["flag_bars"])


BRAIN: tuple[FeatureSpec, ...] = (
    FeatureSpec("rsi_score", CLOSE, {"period": 14}, _period, brain.rsi_score),
    FeatureSpec("macd_score", HLC, {**MACD, "atr_period": 14},
                lambda p: max(_macd_signal_warmup(p), int(p["atr_period"])), brain.macd_score),
    FeatureSpec("zscore_signal", CLOSE, {"period": 20, "entry": 2.0}, _period_less_one,
                brain.zscore_signal),
    FeatureSpec("atr_stop_distance", HLC, {"period": 14, "multiple": 2.0}, _period,
                brain.atr_stop_distance),
    FeatureSpec("vwap", HLCV, {"period": 20}, _period_less_one, rolling_vwap),
    FeatureSpec("vwap_extension", HLCV, {"period": 20}, _period_less_one, brain.vwap_extension),
    FeatureSpec("double_top", CLOSE, TOP, _int("lookback"), patterns.double_top),
    FeatureSpec("inverse_head_shoulders", CLOSE, HEAD_SHOULDERS, _int("lookback"),
                patterns.inverse_head_shoulders),
    FeatureSpec("bull_flag", CLOSE, FLAG, _flag_warmup, patterns.bull_flag),
    FeatureSpec("bear_flag", CLOSE, FLAG, _flag_warmup, patterns.bear_flag),
    FeatureSpec("pct_above_ma", CLOSE, {"period": 50}, _period_less_one, breadth.pct_above_ma),
    FeatureSpec("golden_cross_count", CLOSE, {"fast": 50, "slow": 200}, _int("slow", -1),
                breadth.golden_cross_count),
    FeatureSpec("pct_new_high", CLOSE, {"period": 252}, _period_less_one, breadth.pct_new_high),
    FeatureSpec("pct_new_low", CLOSE, {"period": 252}, _period_less_one, breadth.pct_new_low),
)  # fmt: skip


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
    *HARVESTER_II,
    *RALLY,
    *BRAIN,
)
