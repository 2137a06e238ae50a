"""The home directory and atomic writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from harvester.core.paths import HarvesterHome, atomic_path, resolve_home


def test_home_comes_from_environment_or_default(tmp_path: Path) -> None:
    assert resolve_home({"HARVESTER_HOME": str(tmp_path)}) == tmp_path
    assert resolve_home({}) == Path.home() / ".harvester"


def test_home_paths_are_inside_root_and_not_created(tmp_path: Path) -> None:
    home = HarvesterHome(tmp_path / "h")
    for path in (home.cache, home.models, home.reports, home.logs, home.database):
        assert path.parent == home.root
    assert not home.root.exists()


def test_atomic_write_replaces_target_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.json"
    with atomic_path(target) as tmp:
        tmp.write_text("{}")
        assert not target.exists()
    assert target.read_text() == "{}"
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
