"""``harvester walk-forward`` and ``harvester smoke`` end to end on the bundled sample."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from harvester.app.research import check_smoke
from harvester.cli.main import main
from harvester.config.models import HarvesterConfig
from harvester.data.bundled import load_sample
from harvester.research.folds import plan_folds
from harvester.research.walk_forward import WalkForwardResult, walk_forward


def test_walk_forward_prints_the_fold_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "wf"
    code = main(["walk-forward", "--strategy", "consensus", "--data", "sample", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "5 folds (out of sample)" in printed
    assert "2015-02-10 .. 2015-08-10" in printed  # the first test window (504 + 126 bars)
    assert "overall (stitched out-of-sample)" in printed
    names = sorted(p.name for p in out.iterdir())
    assert names == ["walk_forward.html", "walk_forward.json", "walk_forward.md"]


def test_walk_forward_json_goes_to_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "walk-forward", "--strategy", "composer", "--train-len", "252", "--test-len", "126",
            "--anchored", "--purge", "5", "--embargo", "3", "--format", "json",
            "--out", str(tmp_path),
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    payload = json.loads(captured.out)
    assert payload["strategy"] == "composer"
    assert payload["plan"] == {
        "train_len": 252, "test_len": 126, "stride": 126, "anchored": True, "purge": 5,
        "embargo": 3,
    }  # fmt: skip
    assert len(payload["folds"]) == 7
    assert payload["folds"][0]["train_start"] == "2013-02-08"
    assert sum(f["trades"] for f in payload["folds"]) == payload["overall"]["number_of_trades"]


def test_walk_forward_on_local_processes_prints_the_same_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(*executor: str) -> dict[str, object]:
        args = ["walk-forward", "--strategy", "consensus", "--format", "json", *executor]
        code = main([*args, "--out", str(tmp_path / "-".join(executor or ("inline",)))])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        payload: dict[str, object] = json.loads(captured.out)
        return payload

    assert run("--executor", "local:2") == run()


def test_walk_forward_optimises_each_fold_on_its_training_bars(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "wf"
    code = main(
        ["walk-forward", "--strategy", "consensus", "--train-len", "504", "--test-len", "252",
         "--optimize-trials", "2", "--param", "strategies.consensus.min_sources=1,2",
         "--sampler", "grid", "--objective", "total_return", "--format", "json",
         "--out", str(out)]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    payload = json.loads(captured.out)  # the progress bar went to stderr
    chosen = [f["params"] for f in payload["folds"]]
    assert len(chosen) == 2 and all(set(p) == {"strategies.consensus.min_sources"} for p in chosen)
    assert "Per-fold parameters" in (out / "walk_forward.md").read_text()


def test_walk_forward_too_short_data_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["walk-forward", "--train-len", "1200", "--test-len", "126"])
    assert code != 0
    assert "needs at least 1326 bars, the data has 1259" in capsys.readouterr().err


def test_smoke_passes_on_the_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["smoke", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "smoke passed: 7 folds" in printed and "wall time" in printed
    payload = json.loads((tmp_path / "smoke.json").read_text())
    assert payload["passed"] is True and payload["failures"] == []
    assert payload["walk_forward"]["overall"]["number_of_trades"] > 0
    assert (tmp_path / "smoke.md").read_text().startswith("# Smoke run: PASSED")
    page = (tmp_path / "smoke.html").read_text()
    assert "<h1>Smoke run: PASSED" in page and "data:image/png;base64," in page


def test_smoke_fails_with_one_line_per_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["smoke", "--data", "synthetic:symbols=2,years=1,seed=3", "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 1
    assert "smoke: FAIL: walk-forward plan has 0 folds" in captured.err
    assert "error: smoke run failed 1 check" in captured.err
    assert json.loads((tmp_path / "smoke.json").read_text())["passed"] is False


def _result() -> WalkForwardResult:
    panel = load_sample().slice("2016-01-01", "2017-12-31")
    folds = plan_folds(panel.shape[0], train_len=126, test_len=126)
    return walk_forward(panel, "consensus", HarvesterConfig(), folds)


def test_the_smoke_checker_names_each_failure() -> None:
    good = _result()
    assert check_smoke(good, wall_seconds=1.0) == []
    no_trades = replace(good, metrics={**good.metrics, "number_of_trades": 0.0})
    assert check_smoke(no_trades, wall_seconds=1.0) == [
        "no trades: the strategy closed no trade in any fold"
    ]
    nan = replace(good, metrics={**good.metrics, "sharpe": math.nan, "cagr": math.inf})
    assert check_smoke(nan, wall_seconds=1.0) == ["NaN/inf metrics: overall cagr, overall sharpe"]
    assert check_smoke(good, wall_seconds=61.0) == ["runtime 61.0 s is over the 60 s limit"]
    empty = replace(good, folds=(), metrics={**good.metrics, "number_of_trades": 0.0})
    assert check_smoke(empty, wall_seconds=1.0)[0] == "0 folds: the walk-forward produced no fold"
