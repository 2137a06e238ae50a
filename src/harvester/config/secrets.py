"""Secrets (API keys, tokens) come only from the environment or a ``.env`` file.

They are never part of the config files, never printed (``config show`` says only whether
each is set and where from), and their values feed the log redaction filter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values
from pydantic import SecretStr

__all__ = ["SECRET_NAMES", "Secrets", "load_secrets"]

SECRET_NAMES: tuple[str, ...] = (
    "ALPACA_API_KEY_ID",
    "ALPACA_API_SECRET_KEY",
    "ALPACA_API_KEY",
    "ALPACA_SECRET_KEY",
    "ALPHA_VANTAGE_API_KEY",
    "ANTHROPIC_API_KEY",
    "DATABASE_ENCRYPTION_KEY",
    "DISCORD_BOT_TOKEN",
    "DISCORD_CHANNEL_ID",
    "DISCORD_WEBHOOK_URL",
)


@dataclass(frozen=True, slots=True)
class Secrets:
    """Known secrets by name, each masked in any repr, with where it was found."""

    values: Mapping[str, SecretStr] = field(default_factory=dict)
    origins: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        """Return the plain value of secret ``name`` or None when it is not set."""
        secret = self.values.get(name)
        return None if secret is None else secret.get_secret_value()

    def plain(self) -> dict[str, str]:
        """Return every set secret in plain text, for adapters that need them."""
        return {name: secret.get_secret_value() for name, secret in self.values.items()}

    def redaction_values(self) -> list[str]:
        """Return the values the log filter must mask."""
        return list(self.plain().values())

    def status(self) -> dict[str, str]:
        """Return, per known secret, ``set (from ORIGIN)`` or ``not set``; never the value."""
        return {
            name: f"set (from {self.origins[name]})" if name in self.values else "not set"
            for name in SECRET_NAMES
        }


def load_secrets(environ: Mapping[str, str], dotenv_paths: Iterable[Path] = ()) -> Secrets:
    """Collect known secrets from ``.env`` files (in order) and then the environment.

    The environment wins over any ``.env`` file; later ``.env`` files win over earlier ones.
    ``os.environ`` is never modified.
    """
    values: dict[str, SecretStr] = {}
    origins: dict[str, str] = {}
    for path in dotenv_paths:
        if not path.is_file():
            continue
        for name, value in dotenv_values(path).items():
            if name in SECRET_NAMES and value:
                values[name], origins[name] = SecretStr(value), str(path)
    for name in SECRET_NAMES:
        value = environ.get(name)
        if value:
            values[name], origins[name] = SecretStr(value), "environment"
    return Secrets(values, origins)
