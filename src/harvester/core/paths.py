"""The one home directory that holds everything harvester writes.

``HARVESTER_HOME`` (default ``~/.harvester``) contains ``cache/``, ``models/``, ``reports/``,
``logs/``, ``profiles/`` and the SQLite database. Directories are created when first written,
never on import or on read.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HarvesterHome", "atomic_path", "resolve_home"]

HOME_ENV = "HARVESTER_HOME"


def resolve_home(environ: Mapping[str, str]) -> Path:
    """Return the home directory named by ``HARVESTER_HOME`` or ``~/.harvester``."""
    raw = environ.get(HOME_ENV)
    return Path(raw).expanduser() if raw else Path.home() / ".harvester"


@dataclass(frozen=True, slots=True)
class HarvesterHome:
    """Paths inside the home directory; nothing is created until asked."""

    root: Path

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def learning(self) -> Path:
        """The experience buffer and the filter-rule files of the learning loop."""
        return self.root / "learning"

    @property
    def profiles(self) -> Path:
        return self.root / "profiles"

    @property
    def database(self) -> Path:
        return self.root / "harvester.db"

    @property
    def dotenv(self) -> Path:
        return self.root / ".env"


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target`` and rename it onto ``target`` on success.

    On any exception the temporary file is removed, so a failed write never leaves a
    half-written file behind.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
