"""Each strategy's metrics on the bundled sample, as pinned in ``tests/golden``."""

from __future__ import annotations

from pathlib import Path

from harvester.app.backtest import backtest_strategy
from harvester.config.loader import ConfigRequest, load_config
from harvester.data.bundled import load_sample

__all__ = ["sample_metrics"]


def sample_metrics(name: str, *, home: Path) -> dict[str, float]:
    """Backtest strategy ``name`` on the bundled sample with its shipped defaults only (an
    empty ``home``, no environment) and return its metrics.
    """
    environ = {"HARVESTER_HOME": str(home)}
    config = load_config(ConfigRequest(strategy=name), environ=environ).config
    result = backtest_strategy(load_sample(), name, config)
    return {key: float(value) for key, value in result.metrics.items()}
