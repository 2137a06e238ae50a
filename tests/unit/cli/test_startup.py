"""The CLI starts light: importing it, or asking for help, loads none of the heavy libraries.

Every command used to import every ``harvester.app`` module (and with them scikit-learn, numba,
scipy, optuna, Dask ...) before parsing its arguments; now each command imports what it needs
when it runs. Checked in fresh interpreters, since this test process has loaded them all.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import get_args

import pytest

HEAVY = (
    "sklearn", "scipy", "numba", "optuna", "distributed", "fastapi", "discord", "anthropic",
    "hmmlearn", "statsmodels",
)  # fmt: skip
LOADED = f"sorted(m for m in {HEAVY!r} if m in sys.modules)"
COMMANDS = (
    "ab-test", "analyze", "backtest", "backtest-universe", "bias-check", "bot", "broker", "config",
    "consume", "dashboard", "data", "db", "explain", "features", "journal", "learn", "metrics",
    "optimize", "positions", "replay", "run", "scan", "screen", "serve", "setup", "smoke",
    "status", "strategies", "sweep", "train-composer", "version", "walk-forward",
)  # fmt: skip


def python(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "TERM": "dumb"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )


def test_importing_the_cli_loads_no_heavy_library() -> None:
    done = python(f"import harvester.cli.main, sys; print({LOADED})")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_help_exits_0_and_lists_every_command() -> None:
    done = python("import sys; from harvester.cli.main import main; sys.exit(main(['--help']))")
    assert done.returncode == 0, done.stderr
    listed = {line.split()[1] for line in done.stdout.splitlines() if line.startswith("│ ")}
    assert set(COMMANDS) <= listed


@pytest.mark.parametrize(
    "argv",
    [["serve", "--help"], ["consume", "--help"], ["bot", "--help"], ["run", "scan", "--help"]],
)
def test_command_help_loads_no_heavy_library(argv: list[str]) -> None:
    run = f"from harvester.cli.main import main; code = main({argv!r})"
    done = python(f"import sys; {run}; print({LOADED}); sys.exit(code)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert "Usage:" in done.stdout


def test_cli_defaults_equal_the_constants_they_mirror() -> None:
    from harvester.analytics.trades import DEFAULT_WINDOW
    from harvester.app.journal import DEFAULT_ACCOUNT
    from harvester.app.screen import DEFAULT_CHUNK, DEFAULT_DELAY
    from harvester.cli import defaults
    from harvester.research.optimize import SamplerName

    assert defaults.DEFAULT_WINDOW == DEFAULT_WINDOW
    assert defaults.DEFAULT_ACCOUNT == DEFAULT_ACCOUNT
    assert defaults.DEFAULT_CHUNK == DEFAULT_CHUNK
    assert defaults.DEFAULT_DELAY == DEFAULT_DELAY
    assert get_args(defaults.SamplerName) == get_args(SamplerName)
