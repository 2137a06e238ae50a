"""``harvester optimize`` end to end on the bundled sample, a few trials."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from harvester.cli.main import main

_FAST = ["--train-len", "252", "--test-len", "252", "--seed", "3"]


def test_optimize_writes_the_report_and_prints_the_best(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HARVESTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "250")  # the assertions read whole lines
    out = tmp_path / "opt"
    code = main(["optimize", "--strategy", "composer", "--trials", "4", *_FAST, "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "best trial #" in printed and "top 5 trials (sharpe, out of sample)" in printed
    assert "best trial, out of sample" in printed and "use with --config" in printed
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "best_config.json", "optimize.html", "optimize.json", "optimize.md",
        "trial_returns.parquet", "trials.csv",
    ]  # fmt: skip
    assert (tmp_path / "home" / "studies.db").is_file()  # the default storage
    assert pd.read_parquet(out / "trial_returns.parquet").shape[1] == 4
    code = main(["walk-forward", "--config", str(out / "best_config.json"), "--strategy",
                 "composer", "--train-len", "252", "--test-len", "252", "--format", "json",
                 "--out", str(tmp_path / "wf")])  # fmt: skip
    rerun = json.loads(capsys.readouterr().out)
    best = json.loads((out / "optimize.json").read_text())["best"]
    assert code == 0 and rerun["overall"]["sharpe"] == pytest.approx(best["value"], rel=1e-9)


def test_optimize_json_with_custom_params_and_a_named_study(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HARVESTER_HOME", str(tmp_path / "home"))
    args = [
        "optimize", "--strategy", "composer", "--trials", "3", *_FAST, "--sampler", "random",
        "--objective", "composite", "--param", "strategies.composer.entry_threshold=0.2:0.5",
        "--param", "composer.temperature=0.5,1,2", "--storage",
        f"sqlite:///{tmp_path / 's.db'}", "--study", "mine", "--format", "json",
        "--out", str(tmp_path / "opt"),
    ]  # fmt: skip
    assert main(args) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["study"] == "mine" and payload["objective"]["name"] == "composite"
    assert payload["space"] == [
        "strategies.composer.entry_threshold=0.2:0.5", "composer.temperature=0.5,1,2",
    ]  # fmt: skip
    assert main(args) == 0  # resumed: the study now holds 6 trials
    assert json.loads(capsys.readouterr().out)["trials"]["total"] == 6


def test_optimize_bad_param_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["optimize", "--param", "strategies.composer.entry_treshold=0.1:0.5"])
    assert code == 2
    assert "unknown key 'strategies.composer.entry_treshold'" in capsys.readouterr().err
