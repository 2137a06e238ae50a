"""``harvester run scan|retrain|auto|health|live`` through ``main(argv)``; plain
``harvester run`` keeps its output (tests/integration/test_cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harvester.cli.main import main


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_auto_on_a_holiday_does_nothing(
    capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    code, out, _ = _cli(capsys, "run", "auto", "--as-of", "2017-07-04", "--executor", "serial")
    assert code == 0
    assert "auto: none" in out and "2017-07-04 is a XNYS holiday" in out


def test_health_is_healthy_inside_the_sample_and_fails_after_it(
    capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    code, out, _ = _cli(capsys, "run", "health", "--as-of", "2018-02-07")
    assert code == 0 and "healthy" in out and "database" in out
    code, out, err = _cli(capsys, "run", "health", "--as-of", "2018-03-30")
    assert code == 1 and "UNHEALTHY" in out
    assert "error: unhealthy on 2018-03-30: data check(s) failed" in err


def test_live_runs_the_daily_job_once_a_day(
    capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    args = ("run", "live", "--as-of", "2017-07-04", "--executor", "serial")
    code, out, _ = _cli(capsys, *args)
    assert code == 0 and "auto: none" in out
    code, out, _ = _cli(capsys, *args)
    assert code == 0 and "already ran" in out


def test_run_help_lists_the_workflows(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(capsys, "run", "--help")
    assert code == 0
    for word in ("scan", "retrain", "auto", "health", "live", "--summary-only"):
        assert word in out
