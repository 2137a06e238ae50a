"""The README's example outputs are what the program prints today."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from harvester.cli.main import main

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def block_after(marker: str) -> list[str]:
    """Return the lines of the first fenced block after ``marker`` (without the fences)."""
    start = README.index("```", README.index(marker))
    body = README[README.index("\n", start) + 1 : README.index("\n```", start)]
    return body.splitlines()


def printed(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    assert main(list(args)) == 0
    return [line.rstrip() for line in capsys.readouterr().out.splitlines()]


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "150")


def test_quick_start_output_is_real(capsys: pytest.CaptureFixture[str]) -> None:
    shown = [line.rstrip() for line in block_after("Its output, as printed") if line != "…"]
    output = printed(capsys, "run")
    assert any(line.startswith("config: defaults (hash ") for line in shown)
    assert all(line in output for line in shown), set(shown) - set(output)


def test_backtest_example_output_is_real(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = importlib.util.spec_from_file_location("example", ROOT / "scripts/example_signals.py")
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", ["example_signals.py", "ma.csv"])
    example.main()
    capsys.readouterr()
    shown = [line.rstrip() for line in block_after("Drive it from any source")]
    command = next(line for line in shown if line.startswith("$ harvester backtest"))
    flags = command.removeprefix("$ harvester ").rstrip(" \\").split()
    flags += shown[shown.index(command) + 1].split()
    output = printed(capsys, *flags)
    expected = shown[shown.index(command) + 2 :]
    assert any("sharpe" in line for line in expected)
    assert all(line in output for line in expected), set(expected) - set(output)
