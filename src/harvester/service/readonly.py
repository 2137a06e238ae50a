"""Open the database read-only, so nothing the service does can change it.

- SQLite: the file is opened through a ``file:…?mode=ro`` URI (the ``sqlite3`` module's own
  read-only mode), so any write fails in SQLite itself with "attempt to write a readonly
  database"; a missing file is an error, never a new empty database.
- PostgreSQL: every connection starts with ``default_transaction_read_only=on`` (a ``-c``
  option at connect time, added to any ``options`` the URL already has, such as a
  ``search_path``), so the server refuses any write in any transaction.

No migration runs: the schema is whatever the writers put there.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import sessionmaker

from harvester.core.errors import ConfigError
from harvester.store import Store

__all__ = ["READ_ONLY_OPTION", "open_readonly", "readonly_engine"]

READ_ONLY_OPTION = "-c default_transaction_read_only=on"
_BUSY_TIMEOUT_S = 10.0


def _sqlite_engine(url: URL) -> Engine:
    if url.database in (None, "", ":memory:"):
        raise ConfigError("a read-only service needs a database file, not an in-memory database")
    path = Path(url.database).expanduser().resolve()
    if not path.is_file():
        raise ConfigError(
            f"no database at {path} yet; run: harvester scan (or harvester db upgrade)"
        )
    uri = f"{path.as_uri()}?mode=ro"

    def connect() -> sqlite3.Connection:
        # Handlers run in a thread pool; SQLAlchemy's pool hands a connection to one at a time.
        return sqlite3.connect(uri, uri=True, timeout=_BUSY_TIMEOUT_S, check_same_thread=False)

    return create_engine("sqlite://", creator=connect)


def _postgres_engine(url: URL) -> Engine:
    options = url.query.get("options", "")
    if isinstance(options, tuple):
        options = " ".join(options)
    merged = f"{options} {READ_ONLY_OPTION}".strip()
    return create_engine(url.update_query_dict({"options": merged}), pool_pre_ping=True)


def readonly_engine(url: URL) -> Engine:
    """An engine on ``url`` that cannot write (see the module docstring)."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.drivername != "sqlite":
            raise ConfigError(f"the read-only service cannot open {url.drivername} databases")
        return _sqlite_engine(url)
    if backend == "postgresql":
        return _postgres_engine(url)
    raise ConfigError(f"database {backend!r} is not supported; use sqlite or postgresql")


def open_readonly(url: URL) -> Store:
    """A :class:`~harvester.store.Store` over a read-only engine (no migration)."""
    engine = readonly_engine(url)
    return Store(engine=engine, sessions=sessionmaker(engine))
