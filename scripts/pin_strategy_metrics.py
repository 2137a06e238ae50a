"""Pin every strategy's metrics on the bundled sample in ``tests/golden/strategy_metrics.json``.

Usage: python scripts/pin_strategy_metrics.py

``tests/integration/test_strategy_golden.py`` fails when a strategy's metrics on the sample
drift from these numbers beyond its stated tolerance. When a change is meant to move them,
run this script and say in the commit why they moved.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from harvester.strategies.registry import STRATEGIES
from harvester.testing.golden import sample_metrics

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "golden" / "strategy_metrics.json"


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        pinned = {name: sample_metrics(name, home=Path(home)) for name in STRATEGIES}
    GOLDEN.write_text(json.dumps(pinned, indent=2, sort_keys=True) + "\n")
    for name, metrics in pinned.items():
        print(f"{name}: {metrics['number_of_trades']:.0f} trades, sharpe {metrics['sharpe']:.3f}")
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
