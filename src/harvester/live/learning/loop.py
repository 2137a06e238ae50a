"""The learning loop behind :class:`~harvester.live.learning.hooks.LearningHooks`.

It composes the four pieces, each behind an enable flag of :class:`LearningConfig`:

- ``experience_buffer``: every entry and exit snapshot is appended to
  ``<directory>/experience_buffer.jsonl`` (trimmed to the last ``max_records``);
- ``rules``: the active filter rules of ``<directory>/rules_active.json`` block buys
  (the file is re-read when it changes, checked at most once a minute of event time);
- ``shadow``: three ghost variants trade beside live (:mod:`.shadow`);
- ``conviction``: per-setup size multipliers from recent exits (:mod:`.conviction`),
  warmed at start from the exits already in the buffer so a restart keeps its memory.

A failure to write the buffer (disk full, permissions) is logged and never stops trading.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harvester.live.learning.attribution import ActiveRules
from harvester.live.learning.conviction import Conviction
from harvester.live.learning.experience import (
    BUFFER_NAME,
    DEFAULT_MAX_RECORDS,
    ExperienceBuffer,
    read_records,
)
from harvester.live.learning.hooks import Outcome, Snapshot
from harvester.live.learning.shadow import DEFAULT_VARIANTS, ShadowBook, ShadowVariant

__all__ = ["ACTIVE_RULES", "PROPOSED_RULES", "LearningConfig", "LearningLoop"]

log = logging.getLogger(__name__)

ACTIVE_RULES = "rules_active.json"
PROPOSED_RULES = "rules_proposed.json"


@dataclass(frozen=True, slots=True)
class LearningConfig:
    """Which parts run, and their bounds."""

    experience_buffer: bool = True
    shadow: bool = True
    conviction: bool = True
    rules: bool = True
    max_records: int = DEFAULT_MAX_RECORDS
    conviction_window: int = 20
    shadow_keep: int = 1000
    shadow_min_trades: int = 30


class LearningLoop:
    """Experience buffer, active rules, shadow strategies and conviction sizing in one."""

    def __init__(
        self,
        directory: Path,
        config: LearningConfig | None = None,
        *,
        variants: Sequence[ShadowVariant] = DEFAULT_VARIANTS,
    ) -> None:
        cfg = config or LearningConfig()
        self.directory = directory
        self.buffer = (
            ExperienceBuffer(directory / BUFFER_NAME, max_records=cfg.max_records)
            if cfg.experience_buffer
            else None
        )
        self.rules = ActiveRules(directory / ACTIVE_RULES) if cfg.rules else None
        self.shadows = (
            ShadowBook(variants, keep=cfg.shadow_keep, min_trades=cfg.shadow_min_trades)
            if cfg.shadow
            else None
        )
        self.conviction = Conviction(window=cfg.conviction_window) if cfg.conviction else None
        if self.conviction is not None and self.buffer is not None:
            self._warm_conviction(self.conviction, self.buffer.path)

    @staticmethod
    def _warm_conviction(conviction: Conviction, path: Path) -> None:
        records = read_records(path)
        if records.empty:
            return
        exits = records[records["kind"] == "exit"]
        for row in exits.to_dict("records"):
            pnl = row.get("pnl_pct")
            if pnl is None or (isinstance(pnl, float) and math.isnan(pnl)):
                continue
            outcome = Outcome(float(pnl), str(row.get("exit_reason") or ""), 0.0)
            conviction.record(str(row["setup"]), outcome)

    def _record(self, snapshot: Snapshot, **levels: float) -> None:
        if self.buffer is None:
            return
        try:
            self.buffer.append(snapshot, **levels)
        except OSError as error:
            log.warning("experience buffer %s not written: %s", self.buffer.path, error)

    def block_reason(self, snapshot: Snapshot) -> str | None:
        return None if self.rules is None else self.rules.should_block_buy(snapshot)

    def size_multiplier(self, setup: str) -> float:
        return 1.0 if self.conviction is None else self.conviction.multiplier(setup)

    def on_entry(self, snapshot: Snapshot, *, stop: float, target: float) -> None:
        self._record(snapshot, stop=stop, target=target)
        if self.shadows is not None:
            self.shadows.on_entry(snapshot, stop=stop, target=target)

    def on_exit(self, snapshot: Snapshot) -> None:
        self._record(snapshot)
        if self.conviction is not None and snapshot.outcome is not None:
            self.conviction.record(snapshot.setup, snapshot.outcome)
        if self.shadows is not None:
            self.shadows.on_exit(snapshot)

    def on_price(self, symbol: str, time_ns: int, price: float) -> None:
        del time_ns
        if self.shadows is not None:
            self.shadows.on_price(symbol, price)

    def report(self) -> dict[str, Any]:
        """Conviction per setup and the shadow comparison (for logs and status)."""
        return {
            "conviction": None if self.conviction is None else self.conviction.report(),
            "shadow": None if self.shadows is None else self.shadows.report(),
            "buffer_lines": None if self.buffer is None else self.buffer.lines,
        }
