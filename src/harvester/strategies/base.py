"""The strategy protocol: a named, causal function from panel and config to ``Signals``.

A :class:`Strategy` declares its name, a one-line summary, the config slice holding its
typed parameters (a pydantic model under ``strategies.<name>`` or another section) and the
registered features it reads; ``generate(panel, config)`` returns a :class:`StrategyOutput`:
the ``Signals`` the engine trades and, for ``harvester explain``, the (time × symbols)
arrays that produced them (feature values, regime probabilities, weights, votes), by name.

Every strategy is causal: row t of every output uses nothing after bar t. The generic test
in ``tests/property/test_strategy_causality.py`` checks that for every registered strategy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

from pydantic import BaseModel

from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError
from harvester.core.types import FloatArray
from harvester.data.panel import Panel
from harvester.strategies.signals import Signals

__all__ = ["LazyDetails", "Strategy", "StrategyOutput", "StrategyRegistry"]


class StrategyOutput(NamedTuple):
    """Signals and the named (time × symbols) arrays that explain them."""

    signals: Signals
    details: Mapping[str, FloatArray]


class LazyDetails(Mapping[str, FloatArray]):
    """Explaining arrays computed on first access: a backtest or an optimisation trial
    needs only the signals, ``explain`` and the reports need the details too."""

    def __init__(self, compute: Callable[[], Mapping[str, FloatArray]]) -> None:
        self._compute = compute
        self._values: Mapping[str, FloatArray] | None = None

    def _loaded(self) -> Mapping[str, FloatArray]:
        if self._values is None:
            self._values = self._compute()
        return self._values

    def __getitem__(self, key: str) -> FloatArray:
        return self._loaded()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())


def _unchanged(config: HarvesterConfig) -> HarvesterConfig:
    return config


@dataclass(frozen=True, slots=True)
class Strategy:
    """One registered strategy.

    Attributes
    ----------
    name
        The name users pass to ``--strategy``.
    summary
        One line for ``harvester strategies list``.
    params
        Selects the strategy's typed parameters from the config (its own slice).
    generate
        ``(panel, config) -> StrategyOutput``; causal.
    features
        The registered features it reads (for docs and ``explain``).
    configure
        Adjusts the engine's settings the strategy prescribes (Rally's named configs set the
        profit target, time stop and sizing); applied before ``generate`` and the backtest.
    """

    name: str
    summary: str
    params: Callable[[HarvesterConfig], BaseModel]
    generate: Callable[[Panel, HarvesterConfig], StrategyOutput]
    features: tuple[str, ...] = ()
    configure: Callable[[HarvesterConfig], HarvesterConfig] = _unchanged


@dataclass(frozen=True, slots=True)
class StrategyRegistry(Mapping[str, Strategy]):
    """An immutable name → :class:`Strategy` mapping."""

    strategies: Mapping[str, Strategy] = field(default_factory=dict)

    @classmethod
    def from_strategies(cls, strategies: tuple[Strategy, ...]) -> StrategyRegistry:
        """Build a registry from strategies with unique names."""
        by_name = {strategy.name: strategy for strategy in strategies}
        if len(by_name) != len(strategies):
            raise ConfigError("strategy names must be unique")
        return cls(MappingProxyType(by_name))

    def __getitem__(self, name: str) -> Strategy:
        try:
            return self.strategies[name]
        except KeyError:
            known = ", ".join(sorted(self.strategies)) or "none"
            raise ConfigError(f"unknown strategy {name!r}; available: {known}") from None

    def __contains__(self, name: object) -> bool:
        return name in self.strategies

    def __iter__(self) -> Iterator[str]:
        return iter(self.strategies)

    def __len__(self) -> int:
        return len(self.strategies)
