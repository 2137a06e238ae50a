"""Open the database: SQLite in the home directory by default, PostgreSQL when configured.

Where the database is, first match wins:

1. the ``url`` argument (``harvester db --url``),
2. ``HARVESTER_DATABASE_URL`` — ``postgresql://user@host/db`` is rewritten to the psycopg 3
   driver (``postgresql+psycopg://``),
3. ``<HARVESTER_HOME>/harvester.db``.

SQLite connections get WAL journaling, foreign keys ON and a busy timeout from a connect
event, so every pooled connection behaves the same. When ``DATABASE_ENCRYPTION_KEY`` is set
the SQLite file is encrypted with SQLCipher (the ``encryption`` extra). ``open_store``
migrates the schema to the newest revision before returning, so callers never see an old
schema. Use :meth:`Store.session` as a unit of work: it commits on success, rolls back on any
error and turns database refusals into :mod:`harvester.store.errors`.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from harvester.core.errors import ConfigError
from harvester.core.paths import HarvesterHome, resolve_home
from harvester.store.errors import translate
from harvester.store.migrate import upgrade

__all__ = [
    "DATABASE_URL_ENV",
    "ENCRYPTION_KEY_ENV",
    "Store",
    "database_url",
    "open_store",
]

DATABASE_URL_ENV = "HARVESTER_DATABASE_URL"
ENCRYPTION_KEY_ENV = "DATABASE_ENCRYPTION_KEY"
BUSY_TIMEOUT_MS = 10_000


@dataclass(frozen=True, slots=True)
class Store:
    """An open database: the engine and a session factory."""

    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def url(self) -> str:
        """The database URL with any password masked, safe to print."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commit when the block ends, roll back if it raises."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except (IntegrityError, OperationalError) as e:
                session.rollback()
                raise translate(e) from e
            except BaseException:
                session.rollback()
                raise

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _postgres_url(url: URL) -> URL:
    if url.drivername in {"postgresql", "postgres"}:
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername != "postgresql+psycopg":
        raise ConfigError(
            f"{DATABASE_URL_ENV} uses driver {url.drivername!r}; write postgresql://user@host/db"
        )
    return url


def database_url(
    url: str | None = None,
    *,
    home: HarvesterHome | None = None,
    environ: Mapping[str, str] | None = None,
) -> URL:
    """Return the URL ``open_store`` would use (see the module docstring for the order)."""
    env = os.environ if environ is None else environ
    raw = url or env.get(DATABASE_URL_ENV) or None
    if raw is None:
        root = home or HarvesterHome(resolve_home(env))
        return URL.create("sqlite", database=str(root.database))
    try:
        parsed = make_url(raw)
    except ArgumentError:
        raise ConfigError(
            f"database URL {raw!r} is not a URL; write postgresql://user@host/db"
        ) from None
    if parsed.get_backend_name() in {"postgresql", "postgres"}:
        return _postgres_url(parsed)
    if parsed.get_backend_name() != "sqlite":
        raise ConfigError(
            f"database {parsed.get_backend_name()!r} is not supported; use sqlite or postgresql"
        )
    return parsed


def _sqlcipher_installed() -> bool:
    return importlib.util.find_spec("sqlcipher3") is not None


def _sqlcipher_url(url: URL, key: str) -> URL:
    if not _sqlcipher_installed():
        raise ConfigError(
            f"{ENCRYPTION_KEY_ENV} is set but SQLCipher is not installed; "
            "run: pip install 'harvester[encryption]' (or unset the key)"
        )
    if url.database in (None, "", ":memory:"):
        raise ConfigError(f"{ENCRYPTION_KEY_ENV} needs a database file, not an in-memory database")
    return URL.create("sqlite+pysqlcipher", password=key, database=url.database)


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _quiet_sqlcipher(dbapi_connection: Any, _record: Any) -> None:
    # SQLCipher logs a wrong key to stderr; open_store reports it as one clear error instead.
    dbapi_connection.execute("PRAGMA cipher_log_level = NONE")


def _make_engine(url: URL, encryption_key: str | None) -> Engine:
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if encryption_key:
        url = _sqlcipher_url(url, encryption_key)
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    if encryption_key:
        event.listen(engine, "connect", _quiet_sqlcipher)
    event.listen(engine, "connect", _set_sqlite_pragmas)
    return engine


def _unreadable(url: URL, *, encrypted: bool) -> ConfigError:
    if encrypted:
        hint = f"{ENCRYPTION_KEY_ENV} is wrong, or the file is not encrypted"
    else:
        hint = f"if it is encrypted, set {ENCRYPTION_KEY_ENV}"
    return ConfigError(f"cannot read the database {url.database}: {hint}")


def open_store(
    url: str | None = None,
    *,
    home: HarvesterHome | None = None,
    environ: Mapping[str, str] | None = None,
    encryption_key: str | None = None,
    migrate: bool = True,
) -> Store:
    """Open the database, migrate it to the newest schema (unless ``migrate=False``), return it.

    ``encryption_key`` defaults to ``DATABASE_ENCRYPTION_KEY`` from ``environ``; it applies to
    SQLite only (PostgreSQL encrypts at the server or disk level).
    """
    env = os.environ if environ is None else environ
    resolved = database_url(url, home=home, environ=env)
    key = encryption_key if encryption_key is not None else env.get(ENCRYPTION_KEY_ENV)
    engine = _make_engine(resolved, key or None)
    try:
        if migrate:
            upgrade(engine)
    except DatabaseError as e:
        engine.dispose()
        if "not a database" in str(e.orig):
            raise _unreadable(resolved, encrypted=bool(key)) from None
        if isinstance(e, OperationalError):
            raise translate(e) from e
        raise
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, sessionmaker(engine, expire_on_commit=False))
