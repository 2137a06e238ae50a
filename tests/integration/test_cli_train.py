"""``harvester train-composer`` and ``harvester sweep`` end to end on small synthetic data."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from harvester.cli.main import main
from harvester.data.panel import Panel
from harvester.testing import SyntheticParams, generate_market

_SYMBOLS = ("SPY", "AAPL", "BTC-USD", "QQQ")
_FOLDS = ["--train-len", "126", "--test-len", "126", "--purge", "5"]


def _mixed_csv(folder: Path) -> Path:
    """A long CSV of four synthetic symbols named so they fall in all three classes."""
    base = generate_market(SyntheticParams(symbols=len(_SYMBOLS), years=2, seed=5)).panel
    path = folder / "mixed.csv"
    Panel(base.index, _SYMBOLS, dict(base.fields)).to_long().to_csv(path, index=False)
    return path


def test_train_composer_writes_a_config_per_class_that_reproduces_its_best(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HARVESTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "250")
    data, out = _mixed_csv(tmp_path), tmp_path / "train"
    args = ["train-composer", "--data", str(data), "--trials", "2", *_FOLDS, "--out", str(out)]
    code = main(args)
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "Composer Level-2 weights per asset class (composite)" in printed
    assert "composer_<class>.json (use with --config)" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "composer_crypto.json", "composer_equity.json", "composer_etf.json",
        "composer_weights.json", "train_composer.html", "train_composer.md", "trials_crypto.csv",
        "trials_equity.csv", "trials_etf.csv",
    ]  # fmt: skip
    assert (tmp_path / "home" / "studies.db").is_file()
    summary = json.loads((out / "composer_weights.json").read_text())
    assert summary["classes"]["etf"]["symbols"] == ["QQQ", "SPY"]  # the loader sorts
    assert len(pd.read_csv(out / "trials_etf.csv")) == 2
    # The ETF file, run on the ETFs alone, gives the ETF study's best composite score.
    etf_only = tmp_path / "etf.csv"
    frame = pd.read_csv(data)
    frame[frame["symbol"].isin(["SPY", "QQQ"])].to_csv(etf_only, index=False)
    code = main(["walk-forward", "--data", str(etf_only), "--strategy", "composer",
                 "--config", str(out / "composer_etf.json"), *_FOLDS, "--format", "json",
                 "--out", str(tmp_path / "wf")])  # fmt: skip
    overall = json.loads(capsys.readouterr().out)["overall"]
    best = summary["classes"]["etf"]["best"]
    assert code == 0 and overall["sharpe"] == pytest.approx(best["metrics"]["sharpe"], rel=1e-9)


def test_train_composer_json_one_class_and_a_bad_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HARVESTER_HOME", str(tmp_path / "home"))
    args = [
        "train-composer", "--data", str(_mixed_csv(tmp_path)), "--trials", "1", *_FOLDS,
        "--asset-class", "crypto", "--objective", "sharpe", "--study", "l2",
        "--format", "json", "--out", str(tmp_path / "train"),
    ]  # fmt: skip
    assert main(args) == 0
    payload = json.loads(capsys.readouterr().out)
    assert list(payload) == [
        "strategy", "objective", "plan", "data_fingerprint", "classes", "skipped", "extra",
    ]  # fmt: skip
    assert list(payload["classes"]) == ["crypto"] and payload["skipped"] == ["etf", "equity"]
    assert payload["classes"]["crypto"]["seed"] == 0  # seed 0 + crypto's index 0
    assert payload["classes"]["crypto"]["study"] == "l2-crypto"
    assert payload["objective"]["name"] == "sharpe"
    code = main([*args[:7], "--asset-class", "bonds"])
    assert code == 2 and "unknown asset class 'bonds'" in capsys.readouterr().err


def test_sweep_compares_named_configs_on_the_same_folds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HARVESTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "250")
    out = tmp_path / "sweep"
    args = [
        "sweep", "--data", "synthetic:symbols=3,years=3,seed=2", "--named-config", "baseline",
        "--named-config", "aggressive", "--train-len", "504", "--test-len", "126",
        "--out", str(out),
    ]  # fmt: skip
    code = main(args)
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "rally sweep on synthetic" in printed and "best by sharpe: aggressive" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "best_config.json", "sweep.csv", "sweep.html", "sweep.json", "sweep.md",
    ]  # fmt: skip
    assert "data:image/png;base64," in (out / "sweep.html").read_text()
    table = pd.read_csv(out / "sweep.csv")
    assert table["variant"].tolist() == ["baseline", "aggressive"]
    assert json.loads((out / "best_config.json").read_text()) == {
        "strategies": {"rally": {"named_config": "aggressive"}}
    }


def test_sweep_bad_named_config_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "--named-config", "bold"]) == 2
    assert "unknown name 'bold'" in capsys.readouterr().err


def test_sweep_format_json_prints_the_stable_keys_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HARVESTER_HOME", str(tmp_path / "home"))
    args = [
        "sweep", "--data", "synthetic:symbols=2,years=3,seed=2", "--named-config", "baseline",
        "--train-len", "504", "--test-len", "126", "--format", "json",
        "--out", str(tmp_path / "sweep"),
    ]  # fmt: skip
    assert main(args) == 0
    payload = json.loads(capsys.readouterr().out)  # the progress bar went to stderr
    assert list(payload) == [
        "strategy", "metric", "plan", "data_fingerprint", "rows", "best", "extra",
    ]  # fmt: skip
    assert [r["variant"] for r in payload["rows"]] == ["baseline"]
    assert (tmp_path / "sweep" / "sweep.html").is_file()
