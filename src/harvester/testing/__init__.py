"""The test kit: a seeded synthetic market and a simulated clock; more fakes come later.

Production code never imports this package (an import-linter contract holds to that); the
generator itself lives in :mod:`harvester.data.synthetic` so the ``synthetic:`` data source
can use it, and is re-exported here for tests and benchmarks.
"""

from harvester.data.synthetic import (
    REGIME_NAMES,
    SyntheticMarket,
    SyntheticParams,
    generate_market,
    parse_synthetic_spec,
)
from harvester.testing.clock import SimClock

__all__ = [
    "REGIME_NAMES",
    "SimClock",
    "SyntheticMarket",
    "SyntheticParams",
    "generate_market",
    "parse_synthetic_spec",
]
