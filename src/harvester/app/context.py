"""The composition root: one ``AppContext`` per command, built from config and environment."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from harvester.config.loader import ConfigRequest, ResolvedConfig, load_config
from harvester.config.models import HarvesterConfig
from harvester.config.secrets import Secrets, load_secrets
from harvester.core.errors import ConfigError
from harvester.core.logsetup import configure_logging
from harvester.core.paths import HarvesterHome
from harvester.data.loader import LoadContext
from harvester.data.providers.fetch import Progress

__all__ = ["AppContext", "open_context"]


def _check_date(value: str, *, flag: str) -> None:
    try:
        pd.Timestamp(value)
    except ValueError:
        raise ConfigError(f"--{flag} {value!r} is not a date; write YYYY-MM-DD") from None


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class AppContext:
    """Everything a use case needs: resolved config, secrets, home and a clock."""

    resolved: ResolvedConfig
    secrets: Secrets
    now: Callable[[], datetime] = _utc_now
    request: ConfigRequest = field(default_factory=ConfigRequest)
    environ: Mapping[str, str] = field(default_factory=dict)

    @property
    def config(self) -> HarvesterConfig:
        return self.resolved.config

    @property
    def home(self) -> HarvesterHome:
        return self.resolved.home

    def data_context(self, *, progress: Progress | None = None) -> LoadContext:
        """Return what the data layer needs, and nothing more."""
        return LoadContext(
            config=self.config.data,
            cache_dir=self.home.cache,
            secrets=self.secrets.plain(),
            now=self.now,
            progress=progress,
        )

    def for_strategy(self, name: str) -> AppContext:
        """Return a context whose config starts from the strategy's shipped defaults (if it
        has any, e.g. Harvester II's ``config.json`` for ``panic``), then the same layers.
        """
        resolved = load_config(replace(self.request, strategy=name), environ=self.environ)
        config = resolved.config.model_copy(update={"data": self.config.data})
        return replace(self, resolved=replace(resolved, config=config))

    def with_data_range(self, start: str | None, end: str | None) -> AppContext:
        """Return a context whose data section uses ``start``/``end`` where given."""
        given = {k: v for k, v in {"start": start, "end": end}.items() if v is not None}
        for flag, value in given.items():
            _check_date(value, flag=flag)
        data = self.config.data.model_copy(update=given)
        config = self.config.model_copy(update={"data": data})
        return replace(self, resolved=replace(self.resolved, config=config))


def open_context(
    request: ConfigRequest,
    *,
    environ: Mapping[str, str],
    cwd: Path,
    log_to_console: bool = True,
) -> AppContext:
    """Resolve config and secrets and set up logging; the first thing every command does."""
    resolved = load_config(request, environ=environ)
    secrets = load_secrets(environ, [cwd / ".env", resolved.home.dotenv])
    logging_config = resolved.config.logging
    configure_logging(
        level=logging_config.level,
        log_dir=resolved.home.logs if logging_config.to_file else None,
        json_lines=logging_config.json_lines,
        secrets=secrets.redaction_values(),
        max_bytes=logging_config.max_bytes,
        backup_count=logging_config.backup_count,
        console=log_to_console,
    )
    return AppContext(resolved, secrets, request=request, environ=dict(environ))
