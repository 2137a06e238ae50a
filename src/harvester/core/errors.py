"""The project's error hierarchy, sorted by what the operator must do.

::

    HarvesterError              base; never raised directly
    ├── ConfigError             fix the configuration (exit 2)
    ├── DataError               fix or replace the input data (exit 2)
    ├── TransientError          retry later: network, rate limit, service down (exit 75)
    ├── BrokerRejection         the broker said no; a business outcome, not a crash (exit 1)
    └── StrategyError           a strategy failed; the message names it (exit 1)

Messages say what was found, what was expected and how to fix it, in one line, naming
the file, row or key involved. Shells (CLI, service) map them to exit codes in one place.
"""

from __future__ import annotations

__all__ = [
    "BrokerRejection",
    "ConfigError",
    "DataError",
    "HarvesterError",
    "StrategyError",
    "TransientError",
]


class HarvesterError(Exception):
    """Base of every error the project raises on purpose."""

    exit_code = 1


class ConfigError(HarvesterError):
    """The configuration is wrong: an unknown key, a bad type, a missing file."""

    exit_code = 2


class DataError(HarvesterError):
    """The input data is malformed or fails a sanity rule."""

    exit_code = 2


class TransientError(HarvesterError):
    """A temporary failure (network, rate limit, service down); retrying may succeed."""

    exit_code = 75


class BrokerRejection(HarvesterError):
    """The broker refused an order or request."""


class StrategyError(HarvesterError):
    """A strategy raised or returned something invalid."""
