"""Research: walk-forward fold plans and runs, and their reports (JSON, Markdown, HTML).

Sits between ``app`` and ``backtest`` (DESIGN.md §2): it may use backtest, strategies,
features, regimes, data, config, analytics, domain and core, never app or the shells.
"""

from __future__ import annotations

from harvester.research.folds import Fold, plan_folds
from harvester.research.walk_forward import FoldResult, WalkForwardResult, walk_forward

__all__ = ["Fold", "FoldResult", "WalkForwardResult", "plan_folds", "walk_forward"]
