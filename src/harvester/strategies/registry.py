"""The built-in strategies, by name: one immutable registry built from a tuple."""

from __future__ import annotations

from harvester.strategies.base import Strategy, StrategyRegistry
from harvester.strategies.composer import STRATEGY as COMPOSER
from harvester.strategies.consensus import STRATEGY as CONSENSUS
from harvester.strategies.panic import STRATEGY as PANIC
from harvester.strategies.rally import STRATEGY as RALLY

__all__ = ["STRATEGIES"]

BUILTIN: tuple[Strategy, ...] = (PANIC, COMPOSER, CONSENSUS, RALLY)

STRATEGIES: StrategyRegistry = StrategyRegistry.from_strategies(BUILTIN)
"""The built-in strategies, by name."""
