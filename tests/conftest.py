"""Shared test set-up: the service plugin, hypothesis profiles, an isolated home."""

from __future__ import annotations

import os
from pathlib import Path

# Compiled numba kernels are cached inside the checkout (git-ignored), never in a real home.
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).parents[1] / ".numba_cache"))

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ["pytester", "harvester.testing.services", "harvester.testing.stores"]

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
