"""Shared test set-up: the service plugin, hypothesis profiles, an isolated home."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ["pytester", "harvester.testing.services"]

settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HARVESTER_HOME at a temporary folder so no test writes to the real home."""
    home = tmp_path / "harvester-home"
    monkeypatch.setenv("HARVESTER_HOME", str(home))
    return home
