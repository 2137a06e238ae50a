"""Every research report: stable JSON keys, and HTML pages with their sections and plots."""

from __future__ import annotations

import html
import json
import re
from functools import cache
from pathlib import Path

import pytest

from harvester.config.models import HarvesterConfig
from harvester.data.panel import Panel
from harvester.research.ab_test import ABResult, ab_test, write_ab_report
from harvester.research.bias import BiasReport, bias_check, write_bias_report
from harvester.research.folds import Fold, plan_folds
from harvester.research.objective import make_objective
from harvester.research.optimize import OptimizeResult, optimize
from harvester.research.optimize_report import write_optimize_report
from harvester.research.report import html_page, write_report
from harvester.research.spaces import Param, apply_params
from harvester.research.walk_forward import walk_forward
from harvester.testing import SyntheticParams, generate_market

MIN_SOURCES = "strategies.consensus.min_sources"


@cache
def _panel() -> Panel:
    return generate_market(SyntheticParams(symbols=3, years=3, seed=5)).panel


def _folds() -> tuple[Fold, ...]:
    return plan_folds(_panel().shape[0], train_len=252, test_len=126, purge=5)


@cache
def _study() -> OptimizeResult:
    return optimize(
        _panel(), "consensus", HarvesterConfig(), space=(Param(MIN_SOURCES, "int", 1, 3),),
        objective=make_objective("total_return"), n_trials=3, folds=_folds(), seed=0,
    )  # fmt: skip


@cache
def _ab() -> ABResult:
    b = apply_params(HarvesterConfig(), {MIN_SOURCES: 1})
    return ab_test(_panel(), "consensus", HarvesterConfig(), b, _folds(), n_boot=200)


@cache
def _bias() -> BiasReport:
    return bias_check(
        _panel(), "consensus", HarvesterConfig(), cuts=1, folds=_folds(),
        study_dir=_study().trial_returns,
    )  # fmt: skip


def _figures(page: str) -> list[str]:
    """The captions (``<h2>``) right before each embedded PNG of ``page``."""
    found = re.findall(r"<h2>([^<]*)</h2><img alt='[^']*' src='data:image/png;base64,", page)
    return [html.unescape(f) for f in found]


def _sections(page: str) -> list[str]:
    return [html.unescape(f) for f in re.findall(r"<h2>([^<]*)</h2>", page)]


def test_walk_forward_report(tmp_path: Path) -> None:
    result = walk_forward(_panel(), "consensus", HarvesterConfig(), _folds())
    write_report(result, tmp_path, fold_params=[{MIN_SOURCES: 2}] * len(result.folds))
    payload = json.loads((tmp_path / "walk_forward.json").read_text())
    assert list(payload) == [
        "strategy", "config_hash", "data_fingerprint", "plan", "folds", "overall", "extra",
    ]  # fmt: skip
    assert list(payload["folds"][0]) == [
        "fold", "train_start", "train_end", "test_start", "test_end", "train_bars",
        "test_bars", "trades", "total_return", "sharpe", "max_drawdown", "params",
    ]  # fmt: skip
    page = (tmp_path / "walk_forward.html").read_text()
    assert _figures(page) == ["Stitched out-of-sample equity"]
    assert "Per-fold parameters (chosen on each fold's training bars)" in _sections(page)
    assert (
        "| fold | strategies.consensus.min_sources |" in (tmp_path / "walk_forward.md").read_text()
    )


def test_optimize_report(tmp_path: Path) -> None:
    result = _study()
    write_optimize_report(result, tmp_path, extra={"data": "synthetic"})
    payload = json.loads((tmp_path / "optimize.json").read_text())
    assert list(payload) == [
        "strategy", "study", "storage", "sampler", "seed", "objective", "space", "plan",
        "data_fingerprint", "trials", "best", "top", "extra",
    ]  # fmt: skip
    assert list(payload["best"]) == ["number", "value", "params", "overrides", "metrics"]
    page = (tmp_path / "optimize.html").read_text()
    assert result.best is not None
    assert _figures(page) == [
        "Optimisation history",
        f"Out-of-sample equity of the best trial (#{result.best.number}, growth of 1)",
    ]
    assert {"Best trial parameters", "Top trials"} <= set(_sections(page))
    assert page.count("<tr>") - 1 >= len(payload["top"])  # the top-N rows are in the page


def test_ab_test_report(tmp_path: Path) -> None:
    payload, written = write_ab_report(_ab(), tmp_path, extra={"a": "base", "b": "variant"})
    assert [p.name for p in written] == ["ab_test.json", "ab_test.md", "ab_test.html"]
    assert list(json.loads(written[0].read_text())) == list(payload) == [
        "strategy", "verdict", "data_fingerprint", "config_hash", "plan", "folds",
        "n_observations", "metrics", "sharpe_difference", "folds_b_better",
        "conviction_correlation", "extra",
    ]  # fmt: skip
    page = written[2].read_text()
    assert _figures(page) == [
        "Stitched out-of-sample equity of A and B",
        "Bootstrap distribution of the Sharpe difference",
    ]
    assert "Metrics (out of sample)" in _sections(page)
    assert written[1].read_text().startswith(f"# A/B test of consensus: {payload['verdict']}")


def test_bias_check_report(tmp_path: Path) -> None:
    payload, written = write_bias_report(_bias(), tmp_path)
    assert [p.name for p in written] == ["bias_check.json", "bias_check.md", "bias_check.html"]
    assert list(payload) == ["strategy", "failed", "findings", "details", "extra"]
    assert list(payload["details"]) == [
        "look_ahead", "survivorship", "overfitting", "walk_forward",
    ]  # fmt: skip
    page = written[2].read_text()
    assert _figures(page) == ["PBO logit distribution"]
    assert _sections(page)[1:] == [
        "Findings", "Look-ahead perturbations", "Survivorship runs (walk-forward)",
        "Overfitting: deflated Sharpe ratio and PBO",
    ]  # fmt: skip
    assert "dsr_probability" in page and "pbo" in page


def test_html_page_escapes_text() -> None:
    page = html_page("a <b>", notes=["x & y"], tables=[("t", ["h"], [["<i>"]])])
    assert "<h1>a &lt;b&gt;</h1>" in page and "<li>x &amp; y</li>" in page
    assert "<td>&lt;i&gt;</td>" in page


@pytest.mark.parametrize("cuts", [1, 2])
def test_bias_check_progress_reaches_its_total(cuts: int) -> None:
    calls: list[tuple[int, int]] = []
    bias_check(
        _panel(), "consensus", HarvesterConfig(), cuts=cuts, folds=_folds(),
        on_progress=lambda done, total: calls.append((done, total)),
    )  # fmt: skip
    done = [d for d, _ in calls]
    assert done == sorted(done) and calls[-1][0] == calls[-1][1]
    # 1 full run + cuts x 4 perturbations + the walk-forward's folds (all symbols complete)
    assert calls[-1][1] == 1 + 4 * cuts + len(_folds())
