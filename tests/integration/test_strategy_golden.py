"""Pinned statistics: every strategy's metrics on the bundled sample match the golden file.

Tolerance: trade counts exactly; every other metric within 1e-6 relative (1e-9 absolute),
room for floating-point differences between library versions and machines, far below any
change in behaviour. Regenerate with ``python scripts/pin_strategy_metrics.py`` when a change
is meant to move them, and say why in the commit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from harvester.strategies.registry import STRATEGIES
from harvester.testing.golden import sample_metrics

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "strategy_metrics.json").read_text())


def test_every_strategy_is_pinned() -> None:
    assert set(GOLDEN) == set(STRATEGIES)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_metrics_on_the_sample_have_not_drifted(name: str, tmp_path: Path) -> None:
    metrics = sample_metrics(name, home=tmp_path)
    pinned = GOLDEN[name]
    assert set(metrics) == set(pinned)
    assert metrics["number_of_trades"] == pinned["number_of_trades"]
    assert metrics["number_of_trades"] > 0
    drifted = {
        key: (metrics[key], value)
        for key, value in pinned.items()
        if not math.isclose(metrics[key], value, rel_tol=1e-6, abs_tol=1e-9)
        and not (math.isnan(metrics[key]) and math.isnan(value))
    }
    assert not drifted, f"{name}: (now, pinned) {drifted}"
