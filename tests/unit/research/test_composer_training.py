"""Composer Level-2 training: one out-of-sample study per asset class on its own symbols."""

from __future__ import annotations

import html
import json
import re
from functools import cache
from pathlib import Path

import pytest

from harvester.config.loader import ConfigRequest, load_config
from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError
from harvester.data.panel import Panel
from harvester.research.composer_training import (
    PAYLOAD_KEYS,
    ComposerTraining,
    class_seed,
    composer_weight_space,
    group_by_asset_class,
    train_composer,
    write_training_report,
)
from harvester.research.folds import Fold, plan_folds
from harvester.research.objective import make_objective
from harvester.research.walk_forward import walk_forward
from harvester.testing import SyntheticParams, generate_market

# Symbol names pick the class: SPY/QQQ are ETFs, BTC-USD crypto, AAPL/MSFT single stocks.
_SYMBOLS = ("SPY", "AAPL", "BTC-USD", "QQQ", "MSFT")


@cache
def _panel() -> Panel:
    base = generate_market(SyntheticParams(symbols=len(_SYMBOLS), years=2, seed=5)).panel
    return Panel(base.index, _SYMBOLS, dict(base.fields), aux=dict(base.aux))


def _folds() -> tuple[Fold, ...]:
    return plan_folds(_panel().shape[0], train_len=126, test_len=126, purge=5)[:2]


@cache
def _trained() -> ComposerTraining:
    calls.clear()
    return train_composer(
        _panel(), HarvesterConfig(), objective=make_objective("composite"), n_trials=3,
        folds=_folds(), seed=11, on_trial=lambda c, r: calls.append((c, r.number)),
    )  # fmt: skip


calls: list[tuple[str, int]] = []


def test_symbols_are_grouped_by_asset_class() -> None:
    assert group_by_asset_class(_panel()) == {
        "crypto": ("BTC-USD",), "etf": ("SPY", "QQQ"), "equity": ("AAPL", "MSFT"),
    }  # fmt: skip


def test_space_holds_only_the_logits_that_can_move_the_blend() -> None:
    etf = {p.path for p in composer_weight_space("etf")}
    equity = {p.path for p in composer_weight_space("equity")}
    crypto = {p.path for p in composer_weight_space("crypto")}
    assert len(crypto) == 4 * 3 + 1 and len(etf) == len(equity) == 4 * 2 + 1
    assert not any(p.endswith("_breakout") for p in etf)
    assert not any(p.endswith("_mean_reversion") for p in equity)
    assert "composer.temperature" in etf
    narrowed = composer_weight_space("crypto", eligible=("momentum",))
    assert [p.path for p in narrowed][:4] == [
        f"strategies.composer.w_{r}_momentum" for r in ("trend", "chop", "volatile", "neutral")
    ]
    with pytest.raises(ConfigError, match="no strategy is eligible for asset class etf"):
        composer_weight_space("etf", eligible=("breakout",))


def test_each_study_sees_only_its_classs_symbols() -> None:
    training = _trained()
    by_class = training.by_class()
    assert set(by_class) == {"crypto", "etf", "equity"} and training.skipped == ()
    for asset_class, trained in by_class.items():
        alone = _panel().select(trained.symbols)
        assert trained.result.data_fingerprint == alone.fingerprint()
        assert trained.result.data_fingerprint != _panel().fingerprint()
        assert {_panel().meta[s].asset_class for s in trained.symbols} == {asset_class}
        assert len(trained.result.trials) == 3
    assert sorted(c for c, _ in calls) == ["crypto"] * 3 + ["equity"] * 3 + ["etf"] * 3


def test_written_configs_reproduce_each_classs_best_trial(tmp_path: Path) -> None:
    training = _trained()
    written = write_training_report(training, tmp_path, extra={"data": "synthetic"})
    assert sorted(p.name for p in written) == sorted(
        [*(f"composer_{c}.json" for c in ("crypto", "etf", "equity")),
         *(f"trials_{c}.csv" for c in ("crypto", "etf", "equity")),
         "composer_weights.json", "train_composer.md", "train_composer.html"]
    )  # fmt: skip
    composite = make_objective("composite")
    for trained in training.classes:
        best = trained.result.best
        assert best is not None
        resolved = load_config(ConfigRequest(base_file=tmp_path / trained.config_file), environ={})
        rerun = walk_forward(
            _panel().select(trained.symbols), "composer", resolved.config, _folds()
        )
        assert composite(rerun.metrics) == pytest.approx(best.value, rel=1e-12)
        values = [t.value for t in trained.result.completed if t.value is not None]
        assert best.value == max(values)
    summary = json.loads((tmp_path / "composer_weights.json").read_text())
    assert summary["objective"]["name"] == "composite" and summary["skipped"] == []
    assert summary["classes"]["etf"]["symbols"] == ["SPY", "QQQ"]
    assert summary["classes"]["etf"]["config_file"] == "composer_etf.json"
    etf_best = training.by_class()["etf"].result.best
    assert etf_best is not None and summary["classes"]["etf"]["best"]["number"] == etf_best.number
    assert "| etf | 2 | 3 |" in (tmp_path / "train_composer.md").read_text()


def test_classes_can_be_chosen_and_must_have_symbols() -> None:
    only = train_composer(
        _panel().select(("SPY", "QQQ", "AAPL")), HarvesterConfig(),
        objective=make_objective("sharpe"), n_trials=1, folds=_folds(), classes=["etf"],
    )  # fmt: skip
    assert [c.asset_class for c in only.classes] == ["etf"]
    assert only.skipped == ("crypto", "equity")
    with pytest.raises(ConfigError, match="asset class crypto has no symbols in the data"):
        train_composer(
            _panel().select(("SPY",)), HarvesterConfig(), objective=make_objective("sharpe"),
            n_trials=1, folds=_folds(), classes=["crypto"],
        )  # fmt: skip
    with pytest.raises(ConfigError, match="unknown asset class 'bonds'"):
        train_composer(
            _panel(), HarvesterConfig(), objective=make_objective("sharpe"), n_trials=1,
            folds=_folds(), classes=["bonds"],
        )  # fmt: skip


def test_each_class_has_its_own_stable_seed() -> None:
    # seed 11 plus the class's index in (crypto, etf, equity), by hand.
    assert [class_seed(11, c) for c in ("crypto", "etf", "equity")] == [11, 12, 13]
    assert class_seed(None, "etf") is None
    by_class = _trained().by_class()
    assert {c: t.result.seed for c, t in by_class.items()} == {
        "crypto": 11,
        "etf": 12,
        "equity": 13,
    }
    # ETF and equity search the same number of parameters, yet draw different values.
    etf, equity = by_class["etf"].result.trials[0], by_class["equity"].result.trials[0]
    assert len(etf.params) == len(equity.params)
    assert etf.params["composer.temperature"] != equity.params["composer.temperature"]
    # The ETF study draws the same first trial when trained alone (seed of the class only).
    alone = train_composer(
        _panel(), HarvesterConfig(), objective=make_objective("composite"), n_trials=1,
        folds=_folds(), seed=11, classes=["etf"],
    )  # fmt: skip
    assert alone.classes[0].result.trials[0].params == etf.params


def test_json_keys_are_stable_and_html_has_history_and_weights(tmp_path: Path) -> None:
    write_training_report(_trained(), tmp_path, extra={"data": "synthetic"})
    payload = json.loads((tmp_path / "composer_weights.json").read_text())
    keys = ["strategy", "objective", "plan", "data_fingerprint", "classes", "skipped", "extra"]
    assert list(payload) == keys and list(PAYLOAD_KEYS) == keys
    assert list(payload["classes"]["etf"]) == [
        "symbols", "study", "storage", "seed", "space", "trials", "best", "config_file",
    ]  # fmt: skip
    assert payload["classes"]["etf"]["seed"] == 12
    page = (tmp_path / "train_composer.html").read_text()
    found = re.findall(r"<h2>([^<]*)</h2><img alt='[^']*' src='data:image/png;base64,", page)
    assert [html.unescape(f) for f in found] == [
        f"{c}: {kind}" for c in ("crypto", "etf", "equity")
        for kind in ("optimisation history", "best weights")
    ]  # fmt: skip
    sections = [html.unescape(f) for f in re.findall(r"<h2>([^<]*)</h2>", page)]
    assert sections[6] == "Best out-of-sample result per asset class"
    assert [s.split(" (")[0] for s in sections[7:]] == [
        f"{c}: best regime × strategy logits" for c in ("crypto", "etf", "equity")
    ]
    # The ETF logits table: a row per regime, a column per eligible strategy (no breakout).
    etf = _trained().by_class()["etf"].result.best
    assert etf is not None
    trend = etf.params["strategies.composer.w_trend_momentum"]
    assert "<th>regime</th><th>momentum</th><th>mean_reversion</th></tr>" in page
    assert f"<td>trend</td><td>{trend:.4g}</td>" in page
