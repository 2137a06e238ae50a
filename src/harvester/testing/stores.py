"""Pytest fixtures of the store: ``store`` run twice, on a fresh SQLite file and on the real
PostgreSQL server (a plugin: ``pytest_plugins = ["harvester.testing.stores"]``).

PostgreSQL tests share one schema per test module (created, migrated once through
``search_path``, dropped afterwards); every test starts from empty tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from harvester.store import Store, open_store
from harvester.store.models import Base
from harvester.testing.services import service_url


def _postgres_url(schema: str | None = None) -> str:
    url = make_url(service_url("postgres")).set(drivername="postgresql+psycopg")
    if schema is not None:
        url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def postgres_schema_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL schema for this module, dropped when the module ends."""
    schema = f"harvester_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_postgres_url())
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _postgres_url(schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _empty_tables(store: Store) -> None:
    names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with store.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An open, migrated store with empty tables on each backend."""
    if request.param == "sqlite":
        opened = open_store(f"sqlite:///{tmp_path / 'store.db'}", environ={})
    else:
        opened = open_store(request.getfixturevalue("postgres_schema_url"), environ={})
        _empty_tables(opened)
    try:
        yield opened
    finally:
        opened.close()
