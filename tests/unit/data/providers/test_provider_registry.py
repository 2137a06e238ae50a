"""Adapters are built from provider names and explicitly passed secrets."""

from __future__ import annotations

import logging

import pytest

from harvester.core.errors import ConfigError
from harvester.data.providers import (
    AlpacaProvider,
    AlphaVantageProvider,
    YahooProvider,
    make_providers,
)

SECRETS = {
    "ALPHA_VANTAGE_API_KEY": "av-key-1234",
    "ALPACA_API_KEY_ID": "alpaca-id-5678",
    "ALPACA_API_SECRET_KEY": "alpaca-secret-9012",
}


def test_make_providers_keeps_the_configured_order() -> None:
    providers = make_providers(["alpaca", "yfinance", "alphavantage"], SECRETS)

    assert [p.name for p in providers] == ["alpaca", "yfinance", "alphavantage"]
    assert isinstance(providers[0], AlpacaProvider)
    assert isinstance(providers[1], YahooProvider)
    assert isinstance(providers[2], AlphaVantageProvider)


def test_make_providers_skips_a_provider_without_its_key_and_says_which(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        providers = make_providers(["yfinance", "alphavantage"], {})

    assert [p.name for p in providers] == ["yfinance"]
    assert "skipping data provider alphavantage: set ALPHA_VANTAGE_API_KEY" in caplog.text


def test_make_providers_needs_both_alpaca_keys() -> None:
    only_id = {"ALPACA_API_KEY_ID": "alpaca-id-5678"}

    with pytest.raises(ConfigError, match="alpaca needs ALPACA_API_SECRET_KEY"):
        make_providers(["alpaca"], only_id)


def test_make_providers_rejects_an_unknown_name() -> None:
    with pytest.raises(ConfigError, match="unknown data provider 'bloomberg'"):
        make_providers(["bloomberg"], SECRETS)


def test_built_providers_never_show_their_keys() -> None:
    text = " ".join(repr(p) for p in make_providers(["alphavantage", "alpaca"], SECRETS))

    assert not any(value in text for value in SECRETS.values())
