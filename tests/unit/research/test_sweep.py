"""The named-config sweep: every variant walked forward on the same folds, then ranked."""

from __future__ import annotations

import html
import json
import math
import re
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

from harvester.config.loader import ConfigRequest, load_config
from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError
from harvester.data.panel import Panel
from harvester.research.folds import Fold, plan_folds
from harvester.research.objective import make_objective
from harvester.research.spaces import apply_params
from harvester.research.sweep import (
    NAMED_CONFIG_KEY,
    PAYLOAD_KEYS,
    TABLE_METRICS,
    SweepResult,
    Variant,
    sweep,
    sweep_variants,
    write_sweep_report,
)
from harvester.research.walk_forward import walk_forward
from harvester.testing import SyntheticParams, generate_market

_NAMES = ("baseline", "aggressive")


@cache
def _panel() -> Panel:
    return generate_market(SyntheticParams(symbols=3, years=3, seed=2)).panel


def _folds() -> tuple[Fold, ...]:
    return plan_folds(_panel().shape[0], train_len=252, test_len=126, purge=5)[-2:]


@cache
def _swept() -> SweepResult:
    return sweep(
        _panel(), HarvesterConfig(), _folds(), variants=sweep_variants(_NAMES),
        metric=make_objective("sharpe"),
    )  # fmt: skip


def test_variants_default_to_every_named_config() -> None:
    variants = sweep_variants()
    assert [v.name for v in variants] == ["baseline", "conservative", "aggressive", "concentrated"]
    assert variants[2].values == {NAMED_CONFIG_KEY: "aggressive"}


def test_variants_cross_named_configs_with_the_grid() -> None:
    variants = sweep_variants(
        ["baseline", "aggressive"],
        ["strategies.rally.p_threshold=0.5,0.6", "strategies.rally.horizon=5:10:5"],
    )
    assert [v.name for v in variants] == [
        "baseline p_threshold=0.5 horizon=5", "baseline p_threshold=0.5 horizon=10",
        "baseline p_threshold=0.6 horizon=5", "baseline p_threshold=0.6 horizon=10",
        "aggressive p_threshold=0.5 horizon=5", "aggressive p_threshold=0.5 horizon=10",
        "aggressive p_threshold=0.6 horizon=5", "aggressive p_threshold=0.6 horizon=10",
    ]  # fmt: skip
    assert variants[-1].values == {
        NAMED_CONFIG_KEY: "aggressive", "strategies.rally.p_threshold": 0.6,
        "strategies.rally.horizon": 10,
    }  # fmt: skip
    in_grid = sweep_variants(grid=[f"{NAMED_CONFIG_KEY}=conservative,baseline"])
    assert [v.name for v in in_grid] == ["conservative", "baseline"]
    other = sweep_variants(grid=["strategies.composer.entry_threshold=0.2,0.4"], rally=False)
    assert [v.name for v in other] == ["entry_threshold=0.2", "entry_threshold=0.4"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"names": ["bold"]}, "unknown name 'bold'; choose one of baseline"),
        ({"names": ["baseline"], "rally": False}, "applies to the rally strategy only"),
        ({"rally": False}, "sweep needs named configs or a --grid"),
        ({"grid": ["strategies.rally.p_treshold=0.5"]}, "unknown key"),
    ],
)
def test_bad_variants_are_one_line_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        sweep_variants(**kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


def test_rows_equal_separate_walk_forwards_and_best_is_the_max() -> None:
    result = _swept()
    assert [r.variant.name for r in result.rows] == list(_NAMES)
    sharpes = {}
    for row, name in zip(result.rows, _NAMES, strict=True):
        config = apply_params(HarvesterConfig(), {NAMED_CONFIG_KEY: name})
        alone = walk_forward(_panel(), "rally", config, _folds())
        for key in TABLE_METRICS:
            assert row.result.metrics[key] == pytest.approx(alone.metrics[key], nan_ok=True)
        sharpes[name] = alone.metrics["sharpe"]
        assert row.score == pytest.approx(alone.metrics["sharpe"], nan_ok=True)
    # The named configs really differ on this data (else the comparison proves nothing).
    trades = [r.result.metrics["number_of_trades"] for r in result.rows]
    assert trades[0] != trades[1]
    finite = {k: v for k, v in sharpes.items() if math.isfinite(v)}
    assert result.best is not None and result.best.variant.name == max(finite, key=finite.get)  # type: ignore[arg-type]
    table = result.table()
    assert list(table.columns) == ["variant", *TABLE_METRICS, "score"]
    assert table["number_of_trades"].tolist() == trades


def test_invalid_variant_fails_before_any_run() -> None:
    bad = (Variant("ok", {NAMED_CONFIG_KEY: "baseline"}),
           Variant("bad", {"strategies.rally.p_threshold": 1.5}))  # fmt: skip
    seen: list[str] = []
    with pytest.raises(ConfigError, match=r"key 'strategies\.rally\.p_threshold'"):
        sweep(_panel(), HarvesterConfig(), _folds(), variants=bad, metric=make_objective("sharpe"),
              on_variant=lambda v, r: seen.append(v.name))  # fmt: skip
    assert seen == []


def test_report_files_and_best_config(tmp_path: Path) -> None:
    result = _swept()
    written = write_sweep_report(result, tmp_path, extra={"data": "synthetic"})
    assert [p.name for p in written] == [
        "sweep.json", "sweep.md", "sweep.html", "sweep.csv", "best_config.json",
    ]  # fmt: skip
    csv = pd.read_csv(tmp_path / "sweep.csv")
    pd.testing.assert_frame_equal(csv, result.table(), check_dtype=False)
    payload = json.loads((tmp_path / "sweep.json").read_text())
    assert [r["variant"] for r in payload["rows"]] == list(_NAMES)
    assert payload["metric"]["name"] == "sharpe" and payload["rows"][0]["folds"] == 2
    best = result.best
    assert best is not None and payload["best"]["variant"] == best.variant.name
    resolved = load_config(ConfigRequest(base_file=tmp_path / "best_config.json"), environ={})
    rerun = walk_forward(_panel(), "rally", resolved.config, _folds())
    assert rerun.metrics["sharpe"] == pytest.approx(best.score, rel=1e-12)
    assert f"| {best.variant.name} **(best)** |" in (tmp_path / "sweep.md").read_text()


def test_json_keys_are_stable_and_html_has_scores_and_every_equity(tmp_path: Path) -> None:
    result = _swept()
    write_sweep_report(result, tmp_path)
    payload = json.loads((tmp_path / "sweep.json").read_text())
    keys = ["strategy", "metric", "plan", "data_fingerprint", "rows", "best", "extra"]
    assert list(payload) == keys and list(PAYLOAD_KEYS) == keys
    assert list(payload["rows"][0]) == ["variant", *TABLE_METRICS, "score", "values", "folds"]
    page = (tmp_path / "sweep.html").read_text()
    found = re.findall(r"<h2>([^<]*)</h2><img alt='[^']*' src='data:image/png;base64,", page)
    assert [html.unescape(f) for f in found] == [
        "sharpe per variant", "Stitched out-of-sample equity of every variant",
    ]  # fmt: skip
    sections = [html.unescape(f) for f in re.findall(r"<h2>([^<]*)</h2>", page)]
    best = result.best
    assert best is not None
    assert sections[2:] == [
        "Variants on the same folds (out of sample)",
        f"Best variant: {best.variant.name} (best_config.json)",
    ]
    assert f"<td>{NAMED_CONFIG_KEY}</td><td>{best.variant.name}</td>" in page
    for name in _NAMES:
        assert f"<td>{name}" in page
