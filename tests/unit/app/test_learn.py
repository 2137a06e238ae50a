"""``harvester learn``: attribute writes the proposed rules, activate moves one, rules lists."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harvester.cli.main import main
from harvester.live.learning.experience import ExperienceBuffer
from harvester.live.learning.hooks import Outcome, Snapshot


def _buffer(path: Path, step_ns: int = 1) -> Path:
    """Setup X: 60 trades at zscore <= 0.9 all win; 40 at zscore >= 1.1 win 1 in 5."""
    zscores = np.concatenate([np.linspace(-1.5, 0.9, 60), np.linspace(1.1, 2.0, 40)])
    wins = np.concatenate([np.ones(60, bool), np.arange(40) % 5 == 0])
    buffer = ExperienceBuffer(path)
    for i, (z, win) in enumerate(zip(zscores, wins, strict=True)):
        buffer.append(Snapshot(f"S{i}", 2 * i * step_ns, "entry", "X", 100.0, {"zscore": float(z)}))
        pnl = 1.0 if win else -1.0
        outcome = Outcome(pnl, "target" if win else "stop", 60.0)
        buffer.append(
            Snapshot(f"S{i}", (2 * i + 1) * step_ns, "exit", "X", 100.0 + pnl, {}, outcome)
        )
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_attribute_writes_proposals_and_activate_moves_one(
    tmp_path: Path, isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    buffer = _buffer(tmp_path / "buffer.jsonl")
    code, out, err = _run(capsys, "learn", "attribute", "--buffer", str(buffer), "--write-proposed")
    assert code == 0, err
    assert "100 paired trade(s)" in out and "X.zscore.gt.0.98" in out
    assert "zscore > 0.98" in out and "20.0%" in out
    proposed_path = isolated_home / "learning" / "rules_proposed.json"
    proposed = json.loads(proposed_path.read_text())
    assert [(r["id"], r["trades"]) for r in proposed] == [("X.zscore.gt.0.98", 40)]
    assert set(proposed[0]) == {
        "id", "setup", "feature", "operator", "threshold", "success_rate", "trades",
        "importance", "created",
    }  # fmt: skip
    assert not (isolated_home / "learning" / "rules_active.json").exists()

    code, out, err = _run(capsys, "learn", "activate", "X.zscore.gt.0.98")
    assert code == 0, err
    assert "activated X.zscore.gt.0.98" in out
    active = json.loads((isolated_home / "learning" / "rules_active.json").read_text())
    assert [r["id"] for r in active] == ["X.zscore.gt.0.98"]
    assert json.loads(proposed_path.read_text()) == []

    code, out, _ = _run(capsys, "learn", "rules")
    assert code == 0 and "proposed rules (0)" in out and "active rules (1" in out


def test_attribute_without_write_leaves_no_file_and_rolling_days_narrows(
    tmp_path: Path, isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    day = 86_400 * 10**9
    buffer = _buffer(tmp_path / "buffer.jsonl", step_ns=day)  # trade i exits on day 2i + 1
    code, out, _ = _run(
        capsys, "learn", "attribute", "--buffer", str(buffer), "--rolling-days", "10"
    )
    # The newest exit is day 199; exits on day >= 189 are trades 94..99.
    assert code == 0 and "6 paired trade(s)" in out
    assert not (isolated_home / "learning" / "rules_proposed.json").exists()


def test_unknown_rule_and_missing_buffer_are_config_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "learn", "activate", "nope")
    assert code == 2 and "no proposed rule 'nope'" in err
    code, _, err = _run(capsys, "learn", "attribute", "--buffer", str(tmp_path / "none.jsonl"))
    assert code == 2 and "no such file" in err
