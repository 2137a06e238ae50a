"""The ``regimes`` config section carries exactly the rule functions' defaults."""

from __future__ import annotations

import inspect

from harvester.config.models import RegimeConfig
from harvester.regimes.market_filter import below_200_day
from harvester.regimes.rules import rule_regimes


def test_rule_defaults_match_the_rule_functions() -> None:
    regimes = RegimeConfig()
    defaults = inspect.signature(rule_regimes).parameters
    for name, value in regimes.model_dump(exclude={"market_filter_period"}).items():
        assert defaults[name].default == value, name
    period = inspect.signature(below_200_day).parameters["period"].default
    assert regimes.market_filter_period == period
