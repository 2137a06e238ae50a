"""The strategy catalogue use case: every strategy with its current parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harvester.config.models import HarvesterConfig
from harvester.strategies.registry import STRATEGIES

__all__ = ["StrategyRow", "strategy_rows"]


@dataclass(frozen=True, slots=True)
class StrategyRow:
    """One strategy as ``harvester strategies list`` shows it."""

    name: str
    summary: str
    parameters: dict[str, Any]
    features: tuple[str, ...]


def strategy_rows(config: HarvesterConfig) -> list[StrategyRow]:
    """Return every registered strategy with the parameter values ``config`` gives it."""
    return [
        StrategyRow(
            name=strategy.name,
            summary=strategy.summary,
            parameters=strategy.params(config).model_dump(mode="json"),
            features=strategy.features,
        )
        for strategy in STRATEGIES.values()
    ]
