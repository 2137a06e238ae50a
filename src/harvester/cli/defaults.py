"""Option defaults and choices the CLI needs when commands are registered.

They mirror constants of heavy modules (``analytics.trades`` pulls pandas, ``research.optimize``
pulls optuna and sklearn); copying them here keeps ``harvester --help`` from importing those.
``tests/unit/cli/test_startup.py`` checks each copy equals its source.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_CHUNK",
    "DEFAULT_DELAY",
    "DEFAULT_WINDOW",
    "SamplerName",
]

DEFAULT_WINDOW = 200  # harvester.analytics.trades.DEFAULT_WINDOW
DEFAULT_ACCOUNT = "paper"  # harvester.app.journal.DEFAULT_ACCOUNT
DEFAULT_CHUNK = 50  # harvester.app.screen.DEFAULT_CHUNK
DEFAULT_DELAY = 0.5  # harvester.app.screen.DEFAULT_DELAY
SamplerName = Literal["tpe", "grid", "random"]  # harvester.research.optimize.SamplerName
