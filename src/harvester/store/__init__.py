"""The database: what runs did (signals, orders, fills, trades, positions, snapshots, scans,
model metadata), in SQLite by default or PostgreSQL, with Alembic migrations.

Open it with :func:`open_store`; read and write through :mod:`harvester.store.repository`.
See ``docs/store.md``.
"""

from __future__ import annotations

from harvester.store.database import Store, database_url, open_store
from harvester.store.errors import StoreConflictError, StoreUnavailableError

__all__ = ["Store", "StoreConflictError", "StoreUnavailableError", "database_url", "open_store"]
