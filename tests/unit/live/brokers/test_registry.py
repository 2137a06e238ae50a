"""Brokers by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from harvester.core.errors import ConfigError
from harvester.live.brokers.alpaca import AlpacaBroker
from harvester.live.brokers.base import Broker
from harvester.live.brokers.registry import BROKER_FACTORIES, open_broker

KEYS = {"ALPACA_API_KEY": "PKTEST", "ALPACA_SECRET_KEY": "secret"}


def test_alpaca_names_pick_the_endpoint() -> None:
    paper, live = open_broker("alpaca", environ=KEYS), open_broker("alpaca-live", environ=KEYS)
    assert isinstance(paper, AlpacaBroker) and paper.paper and paper.name == "alpaca"
    assert isinstance(live, AlpacaBroker) and not live.paper


def test_missing_credentials_name_the_variables() -> None:
    with pytest.raises(ConfigError, match="ALPACA_API_KEY and ALPACA_SECRET_KEY"):
        open_broker("alpaca", environ={})


def test_unknown_broker_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown broker 'etrade'.*alpaca, alpaca-live, ib"):
        open_broker("etrade", environ={})


def test_ib_refuses_the_live_port_by_name() -> None:
    with pytest.raises(ConfigError, match="live-trading port"):
        open_broker("ib", environ={}, port=7496)


def test_factories_can_be_added(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Mapping[str, str]] = []

    def factory(*, environ: Mapping[str, str], **options: Any) -> Broker:
        seen.append(environ)
        return open_broker("alpaca", environ=KEYS)

    monkeypatch.setitem(BROKER_FACTORIES, "paper", factory)
    assert open_broker("paper", environ={"X": "1"}).name == "alpaca"
    assert seen == [{"X": "1"}]
