"""Brokers by name: ``open_broker("alpaca", environ=os.environ)``.

:data:`BROKER_FACTORIES` maps each name to a factory called with ``environ`` and the
caller's options. The adapter modules are imported only when their broker is opened, so a
missing optional dependency (``pip install 'harvester[alpaca]'`` or ``[ib]``) is reported
only for the broker actually asked for. ``paper`` needs no keys and no network: it opens
the store the environment names and books into it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from harvester.core.errors import ConfigError
from harvester.live.brokers.base import Broker

__all__ = ["BROKER_FACTORIES", "BrokerFactory", "open_broker"]


class BrokerFactory(Protocol):
    """Build a broker from the environment (credentials, hosts) and named options."""

    def __call__(self, *, environ: Mapping[str, str], **options: Any) -> Broker: ...


def _missing(extra: str, package: str) -> ConfigError:
    return ConfigError(f"{package} is not installed; run: pip install 'harvester[{extra}]'")


def _alpaca(*, environ: Mapping[str, str], **options: Any) -> Broker:
    try:
        from harvester.live.brokers.alpaca import open_alpaca
    except ImportError as e:
        raise _missing("alpaca", "alpaca-py") from e
    return open_alpaca(environ=environ, paper=True, **options)


def _alpaca_live(*, environ: Mapping[str, str], **options: Any) -> Broker:
    try:
        from harvester.live.brokers.alpaca import open_alpaca
    except ImportError as e:
        raise _missing("alpaca", "alpaca-py") from e
    return open_alpaca(environ=environ, paper=False, **options)


def _paper(
    *, environ: Mapping[str, str], account: str = "paper", initial_cash: float = 100_000.0,
    **options: Any,
) -> Broker:  # fmt: skip
    """The paper broker on the configured store (``HARVESTER_DATABASE_URL`` or the SQLite
    file in ``HARVESTER_HOME``; ``DATABASE_ENCRYPTION_KEY`` when set); ``store=`` overrides."""
    from harvester.live.paper import PaperBroker
    from harvester.store.database import open_store

    store = options.pop("store", None) or open_store(None, environ=environ)
    return PaperBroker(store, account=account, initial_cash=initial_cash, **options)


def _ib(*, environ: Mapping[str, str], **options: Any) -> Broker:
    try:
        from harvester.live.brokers.ib import open_ib
    except ImportError as e:
        raise _missing("ib", "ib_async") from e
    return open_ib(environ=environ, **options)


BROKER_FACTORIES: dict[str, BrokerFactory] = {
    "alpaca": _alpaca,
    "alpaca-live": _alpaca_live,
    "ib": _ib,
    "paper": _paper,
}
"""Factories by broker name; add an entry to make a new broker reachable by name."""


def open_broker(name: str, *, environ: Mapping[str, str], **options: Any) -> Broker:
    """The broker called ``name``, built from ``environ`` and ``options``."""
    factory = BROKER_FACTORIES.get(name)
    if factory is None:
        known = ", ".join(sorted(BROKER_FACTORIES))
        raise ConfigError(f"unknown broker {name!r}; choose one of: {known}")
    return factory(environ=environ, **options)
