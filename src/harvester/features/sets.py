"""Named feature sets: which registered features each family of strategies reads.

``harvester features --set NAME`` computes one of these; ``all`` is every registered feature.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from harvester.core.errors import ConfigError
from harvester.features.registry import FEATURES

__all__ = ["FEATURE_SETS", "feature_set"]

TECHNICAL: tuple[str, ...] = (
    "returns", "log_returns", "true_range", "atr", "realized_vol", "zscore", "pct_rank",
    "bb_middle", "bb_upper", "bb_lower", "bb_width", "rsi", "macd", "macd_signal", "macd_hist",
    "sma", "ema", "ma_slope", "linreg_slope", "linreg_r2", "adx", "chop", "range_position",
    "volume_ratio",
)  # fmt: skip

# Harvester II's entry, filter and macro signals (reads aux vix, benchmark, oil).
PANIC: tuple[str, ...] = ("cri", "panic_score", "g_score")

# The Rally detector's base features (reads aux vix).
RALLY: tuple[str, ...] = (
    "p_atr", "p_bb", "p_rv", "comp_score", "range_width", "range_tightness", "trap", "trend",
    "golden_cross", "price_vs_ma", "p_vol", "macd_hist_norm", "vix_level", "vix_change",
    "vix_pctile",
)  # fmt: skip

# The Python brain's scores, chart patterns, VWAP and breadth.
BRAIN: tuple[str, ...] = (
    "rsi_score", "macd_score", "zscore_signal", "atr_stop_distance", "vwap", "vwap_extension",
    "double_top", "inverse_head_shoulders", "bull_flag", "bear_flag", "pct_above_ma",
    "golden_cross_count", "pct_new_high", "pct_new_low",
)  # fmt: skip

FEATURE_SETS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"technical": TECHNICAL, "panic": PANIC, "rally": RALLY, "brain": BRAIN}
)


def feature_set(name: str) -> tuple[str, ...]:
    """Return the feature names of set ``name`` (``all``: every registered feature)."""
    if name == "all":
        return tuple(FEATURES)
    try:
        return FEATURE_SETS[name]
    except KeyError:
        known = ", ".join([*FEATURE_SETS, "all"])
        raise ConfigError(f"unknown feature set {name!r}; choose one of {known}") from None
