"""``harvester db upgrade`` and ``harvester db current`` through ``main(argv)``."""

from __future__ import annotations

from pathlib import Path

import pytest

from harvester.cli.main import main
from harvester.store.migrate import head_revision


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(autouse=True)
def no_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARVESTER_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_ENCRYPTION_KEY", raising=False)


def test_db_upgrade_then_current_in_the_home_directory(
    capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    code, out, _ = run_cli(capsys, "db", "current")
    assert code == 0
    assert "no database" in out and "harvester db upgrade" in out
    assert not (isolated_home / "harvester.db").exists()

    code, out, _ = run_cli(capsys, "db", "upgrade")
    assert code == 0
    assert (isolated_home / "harvester.db").is_file()
    assert f"revision {head_revision()} (head)" in out

    code, out, _ = run_cli(capsys, "db", "current")
    assert code == 0
    assert f"revision {head_revision()} (up to date)" in out


def test_db_current_on_an_unmigrated_file_says_upgrade(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    code, out, _ = run_cli(capsys, "db", "current", "--url", f"sqlite:///{path}")
    assert code == 0
    assert "revision none" in out and "run: harvester db upgrade" in out


def test_db_upgrade_with_an_unsupported_url_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run_cli(capsys, "db", "upgrade", "--url", "mysql://host/db")
    assert code == 2
    assert err.strip() == ("error: database 'mysql' is not supported; use sqlite or postgresql")
