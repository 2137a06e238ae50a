"""The daily opportunity pool (the Python brain's screener): which symbols are active today.

A symbol is **active** on its last bar when either criterion holds:

- ``|zscore| > z``: the ``period``-bar z-score of the close (the ``zscore`` feature:
  population standard deviation over a window that includes the current bar) is extreme;
- ``volume_ratio > volume_spike``: the volume is a spike against its ``period``-bar average
  (the ``volume_ratio`` feature; that average includes the current bar).

Active symbols are ranked by the **activity score**
``max(|zscore| / z, volume_ratio / volume_spike)``: how many times over its stricter
threshold a symbol is, so an active symbol always scores above 1 and the two criteria
compare on one scale. Ties are broken by symbol. Only the top N are kept.

The pool is written as JSON (``write_active_symbols``, atomically) and read back by the live
loop and the stream consumer with :func:`read_active_symbols`; a plain text file with one
symbol per line (the Python brain's ``active_symbols.txt``) is read too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from harvester.core.errors import ConfigError, DataError
from harvester.core.paths import atomic_path
from harvester.data.panel import Panel
from harvester.features import FEATURES

__all__ = [
    "ACTIVE_SYMBOLS_FILE",
    "SCREEN_COLUMNS",
    "ActiveSymbols",
    "ScreenCriteria",
    "active_symbols_json",
    "chunks",
    "read_active_symbols",
    "screen_panel",
    "write_active_symbols",
]

ACTIVE_SYMBOLS_FILE = "active_symbols.json"
"""The pool's file name inside ``<HARVESTER_HOME>``."""
SCREEN_COLUMNS = ("symbol", "date", "close", "zscore", "volume_ratio", "score", "reasons")
ZSCORE, VOLUME_SPIKE = "zscore", "volume_spike"


@dataclass(frozen=True, slots=True)
class ScreenCriteria:
    """The thresholds: ``|zscore| > z`` or ``volume_ratio > volume_spike`` over ``period``."""

    z: float = 2.0
    volume_spike: float = 2.0
    period: int = 20

    def __post_init__(self) -> None:
        if not (self.z > 0 and self.volume_spike > 0):
            raise ConfigError("--z and --volume-spike must be positive")
        if self.period < 2:
            raise ConfigError(f"the screen period must be at least 2 sessions, not {self.period}")


def _last_rows(close: np.ndarray) -> np.ndarray:
    has_bar = np.isfinite(close)
    last = len(close) - 1 - has_bar[::-1].argmax(axis=0)
    result: np.ndarray = np.where(has_bar.any(axis=0), last, -1)
    return result


def screen_panel(
    panel: Panel, criteria: ScreenCriteria | None = None
) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Screen every symbol on its last bar.

    Returns the active symbols (columns ``SCREEN_COLUMNS``; ``reasons`` a tuple of
    ``"zscore"`` / ``"volume_spike"``) ranked by activity score, best first, and the symbols
    that could not be screened with why.
    """
    criteria = criteria or ScreenCriteria()
    close = panel.array("close")
    z = FEATURES.compute(panel, "zscore", period=criteria.period)
    ratio = FEATURES.compute(panel, "volume_ratio", period=criteria.period)
    rows, skipped = [], []
    for column, (symbol, last) in enumerate(zip(panel.symbols, _last_rows(close), strict=True)):
        if last < 0:
            skipped.append((symbol, "no bars"))
            continue
        z_now, ratio_now = float(z[last, column]), float(ratio[last, column])
        if not math.isfinite(z_now):
            bars = int(np.isfinite(close[: last + 1, column]).sum())
            skipped.append((symbol, f"only {bars} sessions of history (needs {criteria.period})"))
            continue
        reasons = []
        if abs(z_now) > criteria.z:
            reasons.append(ZSCORE)
        if math.isfinite(ratio_now) and ratio_now > criteria.volume_spike:
            reasons.append(VOLUME_SPIKE)
        if not reasons:
            continue
        ratio_part = ratio_now / criteria.volume_spike if math.isfinite(ratio_now) else 0.0
        rows.append(
            (symbol, pd.Timestamp(panel.index[last]).date(), float(close[last, column]), z_now,
             ratio_now, max(abs(z_now) / criteria.z, ratio_part), tuple(reasons))
        )  # fmt: skip
    frame = pd.DataFrame(rows, columns=list(SCREEN_COLUMNS))
    ranked = frame.sort_values(["score", "symbol"], ascending=[False, True], kind="stable")
    return ranked.reset_index(drop=True), skipped


@dataclass(frozen=True, slots=True)
class ActiveSymbols:
    """The pool as read back: the symbols in rank order and, per symbol, why it is active."""

    symbols: tuple[str, ...]
    generated_at: datetime | None = None
    reasons: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    details: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "reasons", MappingProxyType(dict(self.reasons)))

    def __contains__(self, symbol: object) -> bool:
        return symbol in self.symbols


def _number(value: float) -> float | None:
    return round(value, 6) if math.isfinite(value) else None


def active_symbols_json(
    ranked: pd.DataFrame,
    *,
    generated_at: datetime,
    universe: str,
    criteria: ScreenCriteria,
    screened: int,
) -> dict[str, Any]:
    """The file's content: time stamp, universe, criteria and the ranked symbols."""
    details = [
        {
            "symbol": str(r["symbol"]),
            "rank": rank,
            "date": r["date"].isoformat() if isinstance(r["date"], date) else str(r["date"]),
            "close": _number(float(r["close"])),
            "zscore": _number(float(r["zscore"])),
            "volume_ratio": _number(float(r["volume_ratio"])),
            "score": _number(float(r["score"])),
            "reasons": list(r["reasons"]),
        }
        for rank, r in enumerate(ranked.to_dict("records"), start=1)
    ]
    return {
        "generated_at": generated_at.isoformat(),
        "universe": universe,
        "criteria": {"z": criteria.z, "volume_spike": criteria.volume_spike,
                     "period": criteria.period},
        "screened": screened,
        "symbols": [d["symbol"] for d in details],
        "details": details,
    }  # fmt: skip


def write_active_symbols(path: Path, content: Mapping[str, Any]) -> Path:
    """Write the pool to ``path`` atomically (a reader never sees half a file)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    return path


def _from_lines(text: str) -> ActiveSymbols:
    lines = (line.split("#", 1)[0].strip().upper() for line in text.splitlines())
    return ActiveSymbols(tuple(dict.fromkeys(s for s in lines if s)))


def read_active_symbols(path: Path) -> ActiveSymbols:
    """Read the pool written by ``harvester screen`` (or a text file, one symbol a line).

    Raises
    ------
    ConfigError
        The file does not exist.
    DataError
        The file is not a pool (bad JSON, no ``symbols`` list).
    """
    if not path.is_file():
        raise ConfigError(f"no active-symbols file at {path}; run: harvester screen --out {path}")
    text = path.read_text(encoding="utf-8")
    if not text.lstrip().startswith("{"):
        return _from_lines(text)
    try:
        content = json.loads(text)
        symbols = tuple(str(s) for s in content["symbols"])
        details = tuple(dict(d) for d in content.get("details", ()))
        stamp = content.get("generated_at")
        generated = datetime.fromisoformat(stamp) if stamp else None
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path} is not an active-symbols file ({exc})") from None
    reasons = {str(d["symbol"]): tuple(d.get("reasons", ())) for d in details if "symbol" in d}
    return ActiveSymbols(symbols, generated, reasons, details)


def chunks(symbols: Sequence[str], size: int) -> list[tuple[str, ...]]:
    """``symbols`` in consecutive groups of ``size`` (the last may be shorter)."""
    if size < 1:
        raise ConfigError(f"--chunk must be at least 1, not {size}")
    return [tuple(symbols[i : i + size]) for i in range(0, len(symbols), size)]
