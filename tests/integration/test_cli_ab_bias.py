"""``harvester ab-test`` and ``harvester bias-check`` end to end on the bundled sample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harvester.cli.main import main


def test_ab_test_of_a_variant_against_itself(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    variant = tmp_path / "same.json"
    variant.write_text("{}", encoding="utf-8")
    out = tmp_path / "ab"
    code = main(
        ["ab-test", "--strategy", "composer", "--a", str(variant), "--b", str(variant),
         "--out", str(out), "--format", "json"]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    payload = json.loads(captured.out)
    assert payload["verdict"] == "no significant difference"
    assert payload["sharpe_difference"]["difference"] == 0.0
    assert payload["sharpe_difference"]["p_value"] == 1.0
    assert payload["folds"] == 7
    assert sorted(p.name for p in out.iterdir()) == ["ab_test.html", "ab_test.json", "ab_test.md"]
    page = (out / "ab_test.html").read_text()
    assert "Stitched out-of-sample equity of A and B" in page
    assert "Bootstrap distribution of the Sharpe difference" in page
    assert page.count("data:image/png;base64,") == 2


def test_ab_test_toggle_prints_the_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["ab-test", "--strategy", "panic", "--toggle", "bayesian.enabled", "--out", str(tmp_path)]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "verdict: " in printed
    assert "JKM p = " in printed


def test_ab_test_needs_variants(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ab-test", "--strategy", "composer"]) != 0
    assert "--toggle KEY" in capsys.readouterr().err


def test_bias_check_passes_a_causal_strategy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bias"
    code = main(["bias-check", "--strategy", "composer", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "look-ahead" in printed and "survivorship" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "bias_check.html", "bias_check.json", "bias_check.md",
    ]  # fmt: skip
    page = (out / "bias_check.html").read_text()
    assert "<h2>Findings</h2>" in page and "<h2>Look-ahead perturbations</h2>" in page


def test_bias_check_fails_on_an_overfit_study(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = tmp_path / "study"
    study.mkdir()
    rng = np.random.default_rng(1)
    trials = pd.DataFrame(rng.normal(0.0, 0.01, (1000, 200))).add_prefix("trial_")
    trials.to_parquet(study / "trial_returns.parquet")
    code = main(
        ["bias-check", "--strategy", "composer", "--study", str(study), "--format", "json",
         "--out", str(tmp_path / "out")]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1
    payload = json.loads(captured.out)
    assert payload["failed"] is True
    severities = {f["check"]: f["severity"] for f in payload["findings"] if f["severity"] == "fail"}
    assert severities == {"overfitting": "fail"}
    assert "bias check failed" in captured.err
