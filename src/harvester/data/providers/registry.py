"""Build the configured adapters from their names and the secrets they need."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from harvester.core.errors import ConfigError
from harvester.data.providers.alpaca import AlpacaProvider
from harvester.data.providers.alphavantage import AlphaVantageProvider
from harvester.data.providers.base import MarketDataProvider
from harvester.data.providers.yahoo import YahooProvider

__all__ = ["PROVIDER_NAMES", "SECRET_KEYS", "make_providers"]

logger = logging.getLogger(__name__)

PROVIDER_NAMES: tuple[str, ...] = ("yfinance", "alphavantage", "alpaca")

#: The secrets each provider needs, by the names ``harvester.config.secrets`` loads.
SECRET_KEYS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "yfinance": (),
        "alphavantage": ("ALPHA_VANTAGE_API_KEY",),
        "alpaca": ("ALPACA_API_KEY_ID", "ALPACA_API_SECRET_KEY"),
    }
)


def make_providers(
    names: Iterable[str], secrets: Mapping[str, str]
) -> tuple[MarketDataProvider, ...]:
    """Return an adapter per name, in order, skipping (with a warning) those lacking keys.

    Parameters
    ----------
    names
        Provider names, usually ``ProviderConfig.order``; fetching tries them in this order.
    secrets
        Secret values by name (e.g. ``Secrets.plain()``); read here, never from the
        environment, and never logged.

    Raises
    ------
    ConfigError
        A name is unknown, or no provider is left once those lacking keys are skipped.
    """
    built: list[MarketDataProvider] = []
    skipped: list[str] = []
    for name in names:
        if name not in SECRET_KEYS:
            raise ConfigError(f"unknown data provider {name!r}; use one of {PROVIDER_NAMES}")
        absent = [key for key in SECRET_KEYS[name] if not secrets.get(key)]
        if absent:
            skipped.append(f"{name} needs {' and '.join(absent)}")
            logger.warning("skipping data provider %s: set %s", name, " and ".join(absent))
            continue
        built.append(_build(name, secrets))
    if not built:
        needs = "; ".join(skipped) or "no provider was named"
        raise ConfigError(
            f"no data provider is usable ({needs}); set the keys in the environment or .env, "
            "or use yfinance, which needs none"
        )
    return tuple(built)


def _build(name: str, secrets: Mapping[str, str]) -> MarketDataProvider:
    if name == "alphavantage":
        return AlphaVantageProvider(secrets["ALPHA_VANTAGE_API_KEY"])
    if name == "alpaca":
        return AlpacaProvider(secrets["ALPACA_API_KEY_ID"], secrets["ALPACA_API_SECRET_KEY"])
    return YahooProvider()
