"""``harvester learn``: attribution over the experience buffer, and the rule files.

- :func:`attribute` pairs the buffer's entries and exits into trades (optionally only the
  last ``rolling_days`` days, counted back from the newest exit), ranks the entry context
  with a random forest and proposes filter rules; with ``write_proposed`` the proposals
  replace ``rules_proposed.json`` for review;
- :func:`rule_lists` reads the proposed and active rules;
- :func:`activate` moves one proposed rule into ``rules_active.json``, the only file whose
  rules block buys in the live loop.

Files live in ``$HARVESTER_HOME/learning/``. See ``docs/learning.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from harvester.core.errors import ConfigError
from harvester.live.learning.attribution import Rule, load_rules, propose_rules, save_rules
from harvester.live.learning.experience import (
    BUFFER_NAME,
    default_learning_dir,
    pair_trades,
    read_records,
)
from harvester.live.learning.loop import ACTIVE_RULES, PROPOSED_RULES

__all__ = ["Attribution", "activate", "attribute", "rule_lists"]

_DAY_NS = 86_400 * 10**9


@dataclass(frozen=True, slots=True)
class Attribution:
    """What one attribution run saw and proposed."""

    buffer: Path
    trades: int
    importance: pd.Series
    rules: list[Rule]
    written: Path | None


def _recent(trades: pd.DataFrame, rolling_days: float | None) -> pd.DataFrame:
    if rolling_days is None or trades.empty:
        return trades
    newest = int(trades["exit_time_ns"].max())
    return trades[trades["exit_time_ns"] >= newest - int(rolling_days * _DAY_NS)]


def attribute(
    environ: Mapping[str, str],
    *,
    now: datetime,
    directory: Path | None = None,
    buffer: Path | None = None,
    min_trades: int = 20,
    rolling_days: float | None = None,
    write_proposed: bool = False,
) -> Attribution:
    """Propose filter rules from the experience buffer (and write them when asked).

    ``directory`` holds the buffer and the rule files (default ``$HARVESTER_HOME/learning``).
    """
    directory = directory or default_learning_dir(environ)
    path = buffer or directory / BUFFER_NAME
    if buffer is not None and not buffer.is_file():
        raise ConfigError(f"--buffer {buffer}: no such file")
    trades = _recent(pair_trades(read_records(path)), rolling_days)
    rules, importance = propose_rules(
        trades, min_trades=min_trades, created=now.isoformat(timespec="seconds")
    )
    written = None
    if write_proposed:
        written = directory / PROPOSED_RULES
        save_rules(written, rules)
    return Attribution(path, len(trades), importance, rules, written)


def rule_lists(environ: Mapping[str, str]) -> tuple[list[Rule], list[Rule]]:
    """The proposed and the active rules."""
    directory = default_learning_dir(environ)
    return load_rules(directory / PROPOSED_RULES), load_rules(directory / ACTIVE_RULES)


def activate(environ: Mapping[str, str], rule_id: str) -> Rule:
    """Move the proposed rule ``rule_id`` into the active rules (replacing a same-id rule)."""
    directory = default_learning_dir(environ)
    proposed, active = rule_lists(environ)
    found = [r for r in proposed if r.id == rule_id]
    if not found:
        known = ", ".join(r.id for r in proposed) or "none; run: harvester learn attribute"
        raise ConfigError(f"no proposed rule {rule_id!r}; proposed: {known}")
    rule = found[0]
    save_rules(directory / ACTIVE_RULES, [*(r for r in active if r.id != rule_id), rule])
    save_rules(directory / PROPOSED_RULES, [r for r in proposed if r.id != rule_id])
    return rule
