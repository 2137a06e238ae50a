"""Alembic environment: runs on the connection the store passes in, never from an ini URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from harvester.store.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through harvester.store.migrate (harvester db upgrade)")
_run(connection)
