"""Opening the store: URLs, SQLite settings, migrations, errors and encryption."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text

from harvester.core.errors import ConfigError
from harvester.core.paths import HarvesterHome
from harvester.store import Store, StoreConflictError, database_url, open_store
from harvester.store import database as database_module
from harvester.store.migrate import current_revision, head_revision, upgrade
from harvester.store.models import OrderRow, RunRow

TABLES = {
    "runs",
    "signals",
    "orders",
    "fills",
    "trades",
    "positions",
    "equity_snapshots",
    "model_artifacts",
    "scan_results",
    "bot_users",
    "bot_trades",
}


def test_migrations_create_every_table_at_head(store: Store) -> None:
    names = set(inspect(store.engine).get_table_names())
    assert names == TABLES | {"alembic_version"}
    assert current_revision(store.engine) == head_revision() == "0003"


def test_migrated_schema_matches_the_models(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, RunRow.metadata)
    assert diffs == []


def test_reopening_a_migrated_store_is_a_no_op(store: Store) -> None:
    again = open_store(store.engine.url.render_as_string(hide_password=False), environ={})
    try:
        assert current_revision(again.engine) == head_revision()
    finally:
        again.close()


def _order(client_order_id: str) -> OrderRow:
    when = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)
    return OrderRow(
        client_order_id=client_order_id,
        account="default",
        symbol="AAPL",
        side="buy",
        qty=1.0,
        order_type="market",
        status="new",
        submitted_at=when,
        updated_at=when,
    )


def test_a_duplicate_key_becomes_a_store_conflict_error(store: Store) -> None:
    with store.session() as session:
        session.add(_order("dup-1"))
    with pytest.raises(StoreConflictError, match="client_order_id"), store.session() as session:
        session.add(_order("dup-1"))
    with store.session() as session:  # the failed unit of work left nothing behind
        assert len(session.scalars(select(OrderRow)).all()) == 1


def test_timestamps_come_back_as_utc_and_naive_ones_are_refused(store: Store) -> None:
    new_york = timezone(timedelta(hours=-5))
    started = datetime(2024, 3, 1, 16, 30, tzinfo=new_york)
    with store.session() as session:
        session.add(RunRow(kind="scan", started_at=started, status="ok", version="x"))
    with store.session() as session:
        row = session.scalars(select(RunRow)).one()
        assert row.started_at == datetime(2024, 3, 1, 21, 30, tzinfo=UTC)
        assert row.started_at.tzinfo == UTC
    with pytest.raises(Exception, match="no time zone"), store.session() as session:
        session.add(RunRow(kind="scan", started_at=datetime(2024, 3, 1), status="ok", version="x"))


def test_sqlite_uses_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'h.db'}", environ={})
    try:
        with store.engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA busy_timeout").scalar() == database_module.BUSY_TIMEOUT_MS
    finally:
        store.close()


def test_the_default_database_lives_in_the_home_directory(tmp_path: Path) -> None:
    home = HarvesterHome(tmp_path / "home")
    assert database_url(home=home, environ={}).database == str(tmp_path / "home" / "harvester.db")
    store = open_store(home=home, environ={})
    store.close()
    assert (tmp_path / "home" / "harvester.db").is_file()


def test_home_comes_from_harvester_home_when_not_given(tmp_path: Path) -> None:
    url = database_url(environ={"HARVESTER_HOME": str(tmp_path)})
    assert url.database == str(tmp_path / "harvester.db")


@pytest.mark.parametrize(
    "raw",
    ["postgresql://trader@db.example/harvester", "postgres://trader@db.example/harvester"],
)
def test_plain_postgres_urls_use_the_psycopg_driver(raw: str) -> None:
    url = database_url(environ={"HARVESTER_DATABASE_URL": raw})
    assert url.drivername == "postgresql+psycopg"
    assert (url.username, url.host, url.database) == ("trader", "db.example", "harvester")


def test_an_explicit_url_wins_over_the_environment(tmp_path: Path) -> None:
    explicit = f"sqlite:///{tmp_path / 'x.db'}"
    env = {"HARVESTER_DATABASE_URL": "postgresql://h/db"}
    assert database_url(explicit, environ=env).get_backend_name() == "sqlite"


@pytest.mark.parametrize(
    ("raw", "message"),
    [("mysql://h/db", "not supported"), ("postgresql+asyncpg://h/db", "driver")],
)
def test_unsupported_urls_are_config_errors(raw: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        database_url(raw, environ={})


def test_encryption_without_sqlcipher_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database_module, "_sqlcipher_installed", lambda: False)
    with pytest.raises(ConfigError, match=r"pip install 'harvester\[encryption\]'"):
        open_store(f"sqlite:///{tmp_path / 'e.db'}", environ={"DATABASE_ENCRYPTION_KEY": "k"})


def test_encrypted_database_needs_the_right_key(tmp_path: Path) -> None:
    pytest.importorskip("sqlcipher3")
    path = tmp_path / "secret.db"
    store = open_store(f"sqlite:///{path}", environ={"DATABASE_ENCRYPTION_KEY": "s3cret"})
    with store.session() as session:
        session.add(RunRow(kind="scan", started_at=datetime.now(UTC), status="ok", version="x"))
    store.close()
    assert b"SQLite format 3" not in path.read_bytes()[:16]
    reopened = open_store(f"sqlite:///{path}", environ={}, encryption_key="s3cret")
    with reopened.session() as session:
        assert session.scalars(select(RunRow.kind)).all() == ["scan"]
    reopened.close()
    with pytest.raises(ConfigError, match="DATABASE_ENCRYPTION_KEY is wrong"):
        open_store(f"sqlite:///{path}", environ={"DATABASE_ENCRYPTION_KEY": "nope"})
    with pytest.raises(ConfigError, match="if it is encrypted, set DATABASE_ENCRYPTION_KEY"):
        open_store(f"sqlite:///{path}", environ={})


def test_revision_0002_keeps_old_trades_and_lets_a_second_same_day_exit_in(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0001")
    values = (
        "'paper', 's', 'XOM', 1, '2024-03-04', 100.0, '2024-03-08', 110.0, 5.0, 50.0, 0.1, "
        "'scale_out', 4"
    )
    columns = (
        "account, strategy, symbol, side, entry_date, entry_price, exit_date, exit_price, qty, "
        "pnl, trade_return, exit_reason, bars_held"
    )
    with engine.begin() as connection:
        connection.execute(text(f"INSERT INTO trades ({columns}) VALUES ({values})"))
    upgrade(engine, "0002")
    assert current_revision(engine) == "0002"
    with engine.begin() as connection:
        connection.execute(text(f"INSERT INTO trades ({columns}, exit_seq) VALUES ({values}, 1)"))
        seqs = connection.execute(text("SELECT exit_seq FROM trades ORDER BY id")).scalars()
        assert list(seqs) == [0, 1]
    engine.dispose()
