"""The strategy registry: names are unique, lookups fail with the list of names."""

from __future__ import annotations

import pytest

from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError
from harvester.strategies.base import Strategy, StrategyRegistry
from harvester.strategies.registry import STRATEGIES


def test_the_four_spec_strategies_are_registered() -> None:
    assert set(STRATEGIES) == {"panic", "composer", "rally", "consensus"}
    assert "panic" in STRATEGIES and "signals" not in STRATEGIES


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="available: composer, consensus, panic, rally"):
        STRATEGIES["nope"]


def test_names_must_be_unique() -> None:
    twice = (STRATEGIES["panic"], STRATEGIES["panic"])
    with pytest.raises(ConfigError, match="unique"):
        StrategyRegistry.from_strategies(twice)


def test_configure_defaults_to_the_config_unchanged() -> None:
    strategy = STRATEGIES["panic"]
    plain = Strategy("x", "y", strategy.params, strategy.generate)
    config = HarvesterConfig()
    assert plain.configure(config) is config
