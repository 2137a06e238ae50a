"""Market regimes: a batched Gaussian HMM read causally, Composer's rule regimes, regime
stability, the SPY 200-day filter, Harvester II's conviction fallback chain and prior search.
"""

from harvester.regimes.conviction import (
    Conviction,
    ConvictionLevel,
    conviction,
    conviction_from_config,
)
from harvester.regimes.market_filter import (
    MarketFilterAdjustment,
    below_200_day,
    market_filter_adjustment,
)
from harvester.regimes.rules import RULE_REGIME_NAMES, rule_regime_names, rule_regimes
from harvester.regimes.stability import regime_stability

__all__ = [
    "RULE_REGIME_NAMES",
    "Conviction",
    "ConvictionLevel",
    "MarketFilterAdjustment",
    "below_200_day",
    "conviction",
    "conviction_from_config",
    "market_filter_adjustment",
    "regime_stability",
    "rule_regime_names",
    "rule_regimes",
]
