"""The service's engine cannot write, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from tests.unit.service.conftest import seed

from harvester.core.errors import ConfigError
from harvester.service.readonly import open_readonly
from harvester.store import Store
from harvester.store.models import EquitySnapshotRow, RunRow


def test_reads_work_and_every_write_is_refused(store: Store) -> None:
    seed(store)
    readonly = open_readonly(store.engine.url)
    try:
        with readonly.engine.connect() as connection:
            assert (
                connection.scalar(
                    select(EquitySnapshotRow.equity)
                    .order_by(EquitySnapshotRow.date.desc())
                    .limit(1)
                )
                == 1045.0
            )
        row = {
            "kind": "scan",
            "started_at": datetime(2024, 1, 1, tzinfo=UTC),
            "status": "ok",
            "version": "0",
        }
        with pytest.raises(DBAPIError, match=r"(?i)read.?only"), readonly.engine.begin() as c:
            c.execute(insert(RunRow).values(**row))
        with pytest.raises(DBAPIError, match=r"(?i)read.?only"), readonly.engine.begin() as c:
            c.execute(text("DELETE FROM equity_snapshots"))
    finally:
        readonly.close()
    with store.engine.connect() as connection:  # nothing changed behind the service's back
        assert connection.scalar(text("SELECT count(*) FROM equity_snapshots")) == 4


def test_a_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    target = tmp_path / "absent.db"
    with pytest.raises(ConfigError, match="no database"):
        open_readonly(make_url(f"sqlite:///{target}"))
    assert not target.exists()
