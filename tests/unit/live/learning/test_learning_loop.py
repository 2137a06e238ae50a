"""The learning loop is a LearningHooks and composes buffer, rules, shadows and conviction."""

from __future__ import annotations

from pathlib import Path

import pytest

from harvester.live.learning.attribution import Rule, save_rules
from harvester.live.learning.experience import read_records
from harvester.live.learning.hooks import LearningHooks, Outcome, Snapshot
from harvester.live.learning.loop import LearningConfig, LearningLoop

ENTRY = Snapshot("AAPL", 10, "entry", "X", 100.0, {"zscore": 1.5})
EXIT = Snapshot("AAPL", 20, "exit", "X", 102.0, {}, Outcome(2.0, "signal", 10.0))
RULE = Rule("X.zscore.gt.1", "X", "zscore", ">", 1.0, 0.2, 40, 0.6, "2024-01-02")


def _trade(hooks: LearningHooks) -> None:
    hooks.on_entry(ENTRY, stop=98.0, target=104.0)
    hooks.on_price("AAPL", 15, 101.5)  # the scalp ghost takes its target (101.32)
    hooks.on_exit(EXIT)


def test_a_round_trip_is_recorded_sized_and_shadowed(tmp_path: Path) -> None:
    loop = LearningLoop(tmp_path)
    hooks: LearningHooks = loop
    assert hooks.size_multiplier("X") == 1.0
    _trade(hooks)
    records = read_records(tmp_path / "experience_buffer.jsonl")
    assert list(records["kind"]) == ["entry", "exit"]
    assert list(records["stop"].iloc[:1]) == [98.0]
    assert hooks.size_multiplier("X") == pytest.approx(1.1)  # one win: 1 + 1/10
    assert loop.shadows is not None
    assert loop.shadows.report()["shadows"]["scalp"]["ghost_total_pct"] == pytest.approx(1.5)


def test_only_the_active_rules_file_blocks(tmp_path: Path) -> None:
    save_rules(tmp_path / "rules_proposed.json", [RULE])
    assert LearningLoop(tmp_path).block_reason(ENTRY) is None
    save_rules(tmp_path / "rules_active.json", [RULE])
    reason = LearningLoop(tmp_path).block_reason(ENTRY)
    assert reason is not None and "zscore > 1" in reason
    off = LearningLoop(tmp_path, LearningConfig(rules=False))
    assert off.block_reason(ENTRY) is None


def test_a_restart_warms_conviction_from_the_buffer(tmp_path: Path) -> None:
    _trade(LearningLoop(tmp_path))
    _trade(LearningLoop(tmp_path))
    assert LearningLoop(tmp_path).size_multiplier("X") == pytest.approx(1.2)  # two wins


def test_everything_off_behaves_like_no_learning(tmp_path: Path) -> None:
    off = LearningConfig(experience_buffer=False, shadow=False, conviction=False, rules=False)
    loop = LearningLoop(tmp_path, off)
    _trade(loop)
    assert loop.size_multiplier("X") == 1.0 and loop.block_reason(ENTRY) is None
    assert not (tmp_path / "experience_buffer.jsonl").exists()
    assert loop.report() == {"conviction": None, "shadow": None, "buffer_lines": None}
