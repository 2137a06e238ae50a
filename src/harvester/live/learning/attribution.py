"""The attribution engine: which entry conditions make a setup fail, as reviewable rules.

A random forest (fixed ``random_state``) learns trade success from the numeric entry
context and ranks the features by importance. For the top features it tries, per setup,
the conditions ``feature > q`` and ``feature < q`` at the 5 %, 10 %, ..., 95 % quantiles of
that setup's values. A condition qualifies when at least ``min_trades`` of the setup's
trades meet it and fewer than 40 % of those succeeded. Of the qualifying thresholds of one
(setup, feature, operator) the one that blocks the most net losers (failures minus
successes under the condition) becomes a proposed :class:`Rule`.

Proposed rules are only written for review; only the rules in ``rules_active.json`` block
buys (:class:`RuleSet`, :class:`ActiveRules`).
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier  # type: ignore[import-untyped]

from harvester.core.paths import atomic_path
from harvester.live.learning.experience import TRADE_COLUMNS
from harvester.live.learning.hooks import Snapshot

__all__ = [
    "MAX_SUCCESS",
    "ActiveRules",
    "Rule",
    "RuleSet",
    "feature_columns",
    "load_rules",
    "propose_rules",
    "rank_features",
    "save_rules",
]

MAX_SUCCESS = 0.40
QUANTILES = tuple(round(q, 2) for q in np.arange(0.05, 0.951, 0.05))
_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {">": operator.gt, "<": operator.lt}
_WORDS = {">": "gt", "<": "lt"}


@dataclass(frozen=True, slots=True)
class Rule:
    """Block ``setup`` buys when ``feature operator threshold`` (it succeeded too rarely)."""

    id: str
    setup: str
    feature: str
    operator: str
    threshold: float
    success_rate: float
    trades: int
    importance: float
    created: str

    def matches(self, snapshot: Snapshot) -> bool:
        value = snapshot.context.get(self.feature)
        if snapshot.setup != self.setup or value is None or not math.isfinite(value):
            return False
        return bool(_OPERATORS[self.operator](value, self.threshold))

    def describe(self) -> str:
        return (
            f"{self.setup} when {self.feature} {self.operator} {self.threshold:.4g}: "
            f"{self.success_rate:.0%} success over {self.trades} trades"
        )


def rule_id(setup: str, feature: str, op: str, threshold: float) -> str:
    """A readable, shell-safe id, e.g. ``consensus_long.zscore.gt.0.98``."""
    return f"{setup}.{feature}.{_WORDS[op]}.{threshold:.4g}"


def feature_columns(trades: pd.DataFrame) -> list[str]:
    """The numeric entry-context columns of a paired-trades frame with any known value."""
    return [
        str(c)
        for c in trades.columns
        if c not in TRADE_COLUMNS
        and pd.api.types.is_numeric_dtype(trades[c])
        and trades[c].notna().any()
    ]


def rank_features(
    trades: pd.DataFrame, features: Sequence[str], *, random_state: int = 0
) -> pd.Series:
    """Random-forest importance of each feature for ``success``, highest first.

    Unknown values are filled with the column median. With one outcome class only there
    is nothing to learn and every importance is 0.
    """
    if not features or trades.empty:
        return pd.Series(dtype=float)
    x = trades[list(features)].astype(float)
    x = x.fillna(x.median())
    y = trades["success"].astype(bool).to_numpy()
    if len(np.unique(y)) < 2:
        return pd.Series(0.0, index=list(features))
    forest = RandomForestClassifier(
        n_estimators=200, min_samples_leaf=5, random_state=random_state, n_jobs=1
    )
    forest.fit(x.to_numpy(), y)
    ranked = pd.Series(forest.feature_importances_, index=list(features), dtype=float)
    return ranked.sort_values(ascending=False, kind="stable")


def _best_condition(
    values: pd.Series, success: pd.Series, op: str, *, min_trades: int
) -> tuple[float, int, float] | None:
    """(threshold, trades, success rate) of the qualifying threshold blocking most net losers."""
    best: tuple[float, int, float] | None = None
    best_net = -math.inf
    known = values.notna()
    for threshold in np.unique(np.quantile(values[known].to_numpy(float), QUANTILES)):
        under = known & _OPERATORS[op](values, threshold)
        count = int(under.sum())
        if count < min_trades:
            continue
        wins = int(success[under].sum())
        net = (count - wins) - wins
        if wins / count < MAX_SUCCESS and net > best_net:
            best, best_net = (float(threshold), count, wins / count), net
    return best


def propose_rules(
    trades: pd.DataFrame,
    *,
    min_trades: int = 20,
    top_features: int = 5,
    created: str = "",
    random_state: int = 0,
) -> tuple[list[Rule], pd.Series]:
    """Rules proposed from the paired trades, and the feature importances behind them."""
    features = feature_columns(trades)
    importance = rank_features(trades, features, random_state=random_state)
    rules: list[Rule] = []
    for feature in list(importance.index[:top_features]):
        for setup, group in trades.groupby("setup", sort=True):
            if len(group) < min_trades:
                continue
            for op in _OPERATORS:
                found = _best_condition(
                    group[feature].astype(float), group["success"], op, min_trades=min_trades
                )
                if found is None:
                    continue
                threshold, count, rate = found
                rules.append(
                    Rule(
                        id=rule_id(str(setup), str(feature), op, threshold),
                        setup=str(setup),
                        feature=str(feature),
                        operator=op,
                        threshold=threshold,
                        success_rate=rate,
                        trades=count,
                        importance=float(importance[feature]),
                        created=created,
                    )
                )
    return rules, importance


def load_rules(path: Path) -> list[Rule]:
    """The rules in a JSON file (a list of rule objects); none when it does not exist."""
    if not path.is_file():
        return []
    raw = json.loads(path.read_text(encoding="utf-8"))
    return [Rule(**item) for item in raw]


def save_rules(path: Path, rules: Iterable[Rule]) -> None:
    """Write the rules atomically as a JSON list."""
    text = json.dumps([asdict(r) for r in rules], indent=2)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")


class RuleSet:
    """Active rules, grouped by setup so a check touches only that setup's rules."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._by_setup: dict[str, list[Rule]] = {}
        for rule in rules:
            self._by_setup.setdefault(rule.setup, []).append(rule)

    def __len__(self) -> int:
        return sum(len(r) for r in self._by_setup.values())

    def should_block_buy(self, snapshot: Snapshot) -> str | None:
        """The reason the first matching rule blocks this buy, or None."""
        for rule in self._by_setup.get(snapshot.setup, ()):
            if rule.matches(snapshot):
                value = snapshot.context[rule.feature]
                return f"rule {rule.id}: {rule.describe()} (now {rule.feature}={value:.4g})"
        return None


class ActiveRules:
    """The rules of ``rules_active.json``, reloaded when the file changes.

    The file is checked at most once per ``check_every_s`` of snapshot time, so a rule
    activated after the close takes effect in a running loop without a restart.
    """

    def __init__(self, path: Path, *, check_every_s: float = 60.0) -> None:
        self.path = path
        self._every_ns = int(check_every_s * 1e9)
        self._checked_ns: int | None = None
        self._mtime: float | None = None
        self._rules = RuleSet()

    def _refresh(self, time_ns: int) -> None:
        if self._checked_ns is not None and time_ns - self._checked_ns < self._every_ns:
            return
        self._checked_ns = time_ns
        mtime = self.path.stat().st_mtime if self.path.is_file() else None
        if mtime != self._mtime:
            self._mtime = mtime
            self._rules = RuleSet(load_rules(self.path))

    def should_block_buy(self, snapshot: Snapshot) -> str | None:
        self._refresh(snapshot.time_ns)
        return self._rules.should_block_buy(snapshot)
