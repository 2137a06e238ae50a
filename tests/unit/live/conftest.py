"""Fixtures of the daily-step tests: a small sample history (``store`` comes from
:mod:`harvester.testing.stores`)."""

from __future__ import annotations

import pytest

from harvester.data.bundled import load_sample
from harvester.data.panel import Panel

SAMPLE_SYMBOLS = ("AAPL", "AMT", "AMZN", "BA", "BAC", "C", "CAT", "CVX", "DUK", "EBAY")
"""Ten sample stocks: composer trades them often enough in any 60 sessions of 2017."""


@pytest.fixture(scope="session")
def history() -> Panel:
    """Ten sample stocks from September 2016 to the end of 2017 (warm-up included)."""
    return load_sample().select(SAMPLE_SYMBOLS).slice("2016-09-01", "2017-12-29")
