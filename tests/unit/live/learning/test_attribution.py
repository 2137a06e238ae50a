"""Attribution finds the condition under which a setup fails, and only active rules block."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harvester.live.learning.attribution import (
    ActiveRules,
    Rule,
    RuleSet,
    load_rules,
    propose_rules,
    save_rules,
)
from harvester.live.learning.experience import ExperienceBuffer, pair_trades, read_records
from harvester.live.learning.hooks import Outcome, Snapshot


def _write(path: Path, setup: str, zscores: np.ndarray, wins: np.ndarray, rsi: np.ndarray) -> None:
    buffer = ExperienceBuffer(path)
    for i, (z, win, r) in enumerate(zip(zscores, wins, rsi, strict=True)):
        context = {"zscore": float(z), "rsi": float(r)}
        buffer.append(Snapshot(f"S{i}", 2 * i, "entry", setup, 100.0, context))
        pnl = 1.0 if win else -1.0
        outcome = Outcome(pnl, "target" if win else "stop", 60.0)
        buffer.append(Snapshot(f"S{i}", 2 * i + 1, "exit", setup, 100.0 + pnl, {}, outcome))


def _pattern_trades(path: Path) -> pd.DataFrame:
    """Setup X: 60 trades at zscore <= 0.9 all win; 40 at zscore >= 1.1 win 1 in 5."""
    low = np.linspace(-1.5, 0.9, 60)
    high = np.linspace(1.1, 2.0, 40)
    wins = np.concatenate([np.ones(60, bool), np.arange(40) % 5 == 0])
    rsi = np.random.default_rng(7).uniform(20, 80, 100)
    _write(path, "X", np.concatenate([low, high]), wins, rsi)
    return pair_trades(read_records(path))


def test_a_setup_failing_above_a_zscore_gets_exactly_that_rule(tmp_path: Path) -> None:
    trades = _pattern_trades(tmp_path / "buffer.jsonl")
    rules, importance = propose_rules(trades, min_trades=20, created="2024-01-02T16:30:00")
    assert importance.index[0] == "zscore"
    assert len(rules) == 1
    rule = rules[0]
    # The 60 % quantile of the 100 sorted zscores sits 0.4 of the way from 0.9 to 1.1:
    # 0.9 + 0.4 * 0.2 = 0.98. Above it: the 40 high trades, of which 8 (every 5th) won.
    assert (rule.setup, rule.feature, rule.operator) == ("X", "zscore", ">")
    assert rule.threshold == pytest.approx(0.98)
    assert rule.trades == 40 and rule.success_rate == pytest.approx(8 / 40)
    assert rule.id == "X.zscore.gt.0.98" and rule.created == "2024-01-02T16:30:00"
    assert rule.importance == pytest.approx(float(importance["zscore"]))


def test_no_rule_without_a_pattern(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    n = 200
    path = tmp_path / "buffer.jsonl"
    _write(path, "X", rng.normal(size=n), rng.random(n) < 0.7, rng.uniform(20, 80, n))
    rules, importance = propose_rules(pair_trades(read_records(path)), min_trades=20)
    assert rules == []
    assert set(importance.index) == {"zscore", "rsi"}


def test_a_setup_with_fewer_than_min_trades_gets_no_rule(tmp_path: Path) -> None:
    trades = _pattern_trades(tmp_path / "buffer.jsonl")
    assert propose_rules(trades, min_trades=101)[0] == []  # X has 100 trades


RULE = Rule("X.zscore.gt.0.98", "X", "zscore", ">", 0.98, 0.2, 40, 0.6, "2024-01-02")


def _snap(setup: str = "X", **context: float) -> Snapshot:
    return Snapshot("AAPL", 0, "entry", setup, 100.0, context)


def test_a_rule_set_blocks_only_its_setup_above_its_threshold() -> None:
    rules = RuleSet([RULE])
    reason = rules.should_block_buy(_snap(zscore=1.2))
    assert reason is not None
    assert "X.zscore.gt.0.98" in reason and "zscore > 0.98" in reason
    assert "20% success over 40 trades" in reason and "zscore=1.2" in reason
    assert rules.should_block_buy(_snap(zscore=0.98)) is None
    assert rules.should_block_buy(_snap("Y", zscore=1.2)) is None
    assert rules.should_block_buy(_snap(zscore=math.nan)) is None
    assert rules.should_block_buy(_snap(rsi=50.0)) is None


def test_only_active_rules_block_and_a_changed_file_is_reloaded(tmp_path: Path) -> None:
    save_rules(tmp_path / "rules_proposed.json", [RULE])
    assert load_rules(tmp_path / "rules_proposed.json") == [RULE]
    active = ActiveRules(tmp_path / "rules_active.json", check_every_s=60)
    blocked = Snapshot("AAPL", 0, "entry", "X", 100.0, {"zscore": 1.5})
    assert active.should_block_buy(blocked) is None
    save_rules(tmp_path / "rules_active.json", [RULE])
    assert active.should_block_buy(blocked) is None  # not re-checked within the minute
    later = Snapshot("AAPL", 61 * 10**9, "entry", "X", 100.0, {"zscore": 1.5})
    assert active.should_block_buy(later) is not None
