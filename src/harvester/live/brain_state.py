"""The stream brain's small state objects: costs, the benchmark filter, the active set, books.

Each keeps O(1) (or O(symbols)) state and is updated in event order by
:class:`~harvester.live.brain.Brain`; see ``docs/consume.md`` (the decision loop).
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from harvester.config.models import ExecutionConfig, RiskManagementConfig
from harvester.execution.costs import (
    SLIPPAGE_ATR,
    SLIPPAGE_BPS,
    SLIPPAGE_SQRT_IMPACT,
    commission,
    slippage_per_share,
)
from harvester.live.screener import read_active_symbols
from harvester.risk.sizing import (
    SIZING_FIXED_FRACTION,
    SIZING_RISK,
    SIZING_VOLATILITY,
    round_quantity,
    target_notional,
)

__all__ = [
    "ActiveWatch",
    "BenchmarkFilter",
    "Book",
    "CostModel",
    "NewsMemory",
    "Position",
    "Sizer",
]

logger = logging.getLogger("harvester.live.brain")

NAN = math.nan
_SLIPPAGE = {"bps": SLIPPAGE_BPS, "atr": SLIPPAGE_ATR, "sqrt_impact": SLIPPAGE_SQRT_IMPACT}
_SIZING = {
    "fixed_fraction": SIZING_FIXED_FRACTION,
    "risk": SIZING_RISK,
    "volatility": SIZING_VOLATILITY,
}


@dataclass(frozen=True, slots=True)
class CostModel:
    """The backtest's slippage and commission (``execution``), for one paper fill."""

    model: int
    rate: float
    commission_bps: float
    per_share: float
    minimum: float

    @classmethod
    def from_config(cls, execution: ExecutionConfig) -> CostModel:
        rate = {
            "bps": execution.slippage_bps,
            "atr": execution.slippage_atr_fraction,
            "sqrt_impact": execution.impact_coefficient,
        }[execution.slippage_model]
        return cls(
            _SLIPPAGE[execution.slippage_model], rate, execution.commission_bps,
            execution.commission_per_share, execution.commission_min_usd,
        )  # fmt: skip

    def slippage(self, price: float, qty: float, atr: float, adv: float) -> float:
        """Adverse move per share; 0 when the model's input is missing (as the engine)."""
        slip = float(slippage_per_share(self.model, price, qty, atr, adv, self.rate))
        return 0.0 if math.isnan(slip) else slip

    def fee(self, price: float, qty: float) -> float:
        """Commission of ``qty`` shares at ``price``."""
        return float(
            commission(price * qty, qty, self.commission_bps, self.per_share, self.minimum)
        )


@dataclass(frozen=True, slots=True)
class Sizer:
    """``risk_management`` sizing (:func:`~harvester.risk.sizing.target_notional`)."""

    method: int
    fraction: float
    max_size: float
    max_notional: float
    stop_atr: float
    target_atr: float
    fractional: bool

    @classmethod
    def from_config(cls, risk: RiskManagementConfig, max_size: float, *, fractional: bool) -> Sizer:
        fraction = {
            "fixed_fraction": risk.base_position_fraction,
            "risk": risk.risk_per_trade,
            "volatility": risk.vol_target_k,
        }[risk.sizing]
        return cls(
            _SIZING[risk.sizing], fraction, max_size, risk.max_position_notional_usd,
            risk.stop_loss_atr, risk.take_profit_atr, fractional,
        )  # fmt: skip

    def quantity(self, equity: float, price: float, multiplier: float, atr: float) -> float:
        """Shares to buy at ``price`` (0 when the size is unknown or rounds to nothing).

        The stream keeps no realised volatility, so ``volatility`` sizing never sizes.
        """
        notional = float(
            target_notional(
                self.method, equity, price, multiplier, self.fraction, self.stop_atr * atr,
                NAN, self.max_size, self.max_notional,
            )
        )  # fmt: skip
        if not notional > 0.0:
            return 0.0
        return float(round_quantity(notional / price, self.fractional))


class BenchmarkFilter:
    """The benchmark below its ``period``-day average, recomputed every ``refresh_seconds``.

    One close per day (UTC date of the bar): a later bar of the same day replaces that day's
    close, so intraday bars do not shorten the window. While fewer than ``period`` days are
    known the flag is False (as :func:`~harvester.regimes.market_filter.below_200_day`).
    """

    __slots__ = ("_closes", "_day", "below", "next_refresh", "refresh_seconds")

    def __init__(self, period: int, refresh_seconds: float) -> None:
        self._closes: deque[float] = deque(maxlen=period)
        self._day = -1
        self.refresh_seconds = refresh_seconds
        self.next_refresh = -math.inf
        self.below = False

    def update(self, day: int, close: float) -> None:
        """Record the benchmark's close for ``day`` (days since the epoch)."""
        if day == self._day and self._closes:
            self._closes[-1] = close
        else:
            self._closes.append(close)
            self._day = day

    def refresh(self, now: float) -> None:
        """Recompute the flag when ``refresh_seconds`` of event time have passed."""
        if now < self.next_refresh:
            return
        self.next_refresh = now + self.refresh_seconds
        closes = self._closes
        if closes.maxlen is None or len(closes) < closes.maxlen:
            self.below = False
            return
        self.below = closes[-1] < math.fsum(closes) / len(closes)


class ActiveWatch:
    """The screener's active-symbols file, re-read when its size or mtime changes.

    Checked at most every ``check_seconds`` of event time (deterministic in event order);
    ``path=None`` means every symbol is active (``symbols`` is None), and so does a file that
    does not exist yet (a warning says so); a pool once read stays until the file changes.
    """

    __slots__ = ("_next_check", "_stamp", "check_seconds", "path", "symbols")

    def __init__(self, path: Path | None, check_seconds: float) -> None:
        self.path, self.check_seconds = path, check_seconds
        self._next_check = -math.inf
        self._stamp: tuple[int, int] | None = None
        self.symbols: frozenset[str] | None = None

    def poll(self, now: float) -> bool:
        """Re-read the file if due and changed; return whether the active set changed."""
        if self.path is None or now < self._next_check:
            return False
        self._next_check = now + self.check_seconds
        try:
            info = self.path.stat()
        except FileNotFoundError:
            if self._stamp is None:
                self._stamp = (-1, -1)
                logger.warning(
                    "no active-symbols file at %s yet: every symbol is active", self.path
                )
            return False  # keep the last pool until the screener writes one
        stamp = (info.st_mtime_ns, info.st_size)
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        symbols = frozenset(read_active_symbols(self.path).symbols)
        changed = symbols != self.symbols
        self.symbols = symbols
        return changed


class NewsMemory:
    """Per-symbol news scores of the last ``window_seconds``; sentiment = their mean."""

    __slots__ = ("_items", "window_seconds")

    def __init__(self, window_seconds: float) -> None:
        self.window_seconds = window_seconds
        self._items: dict[str, deque[tuple[float, float]]] = {}

    def __len__(self) -> int:
        return len(self._items)

    def add(self, symbol: str, now: float, score: float) -> None:
        items = self._items.get(symbol)
        if items is None:
            items = self._items[symbol] = deque(maxlen=256)
        items.append((now, score))

    def sentiment(self, symbol: str, now: float) -> float:
        """Mean score of the symbol's news within the window before ``now`` (NaN: none)."""
        items = self._items.get(symbol)
        if not items:
            return NAN
        oldest = now - self.window_seconds
        while items and items[0][0] < oldest:
            items.popleft()
        if not items:
            del self._items[symbol]
            return NAN
        return math.fsum(score for _, score in items) / len(items)

    def keep_only(self, symbols: frozenset[str] | set[str]) -> None:
        for symbol in [s for s in self._items if s not in symbols]:
            del self._items[symbol]


@dataclass(slots=True)
class Position:
    """An open long: entry fill, ATR stop and target (NaN: none), entry context."""

    symbol: str
    qty: float
    entry_price: float
    entry_fee: float
    stop: float
    target: float
    entered_at: float
    setup: str
    context: dict[str, float] = field(default_factory=dict)
    bars: int = 0  # bars of the symbol seen while held (since the restart, if one came)


@dataclass(slots=True)
class Book:
    """The brain's own cash, positions and the day's starting equity (event time)."""

    cash: float
    positions: dict[str, Position] = field(default_factory=dict)
    day: int = -1
    day_start_equity: float = NAN

    def equity(self, last_prices: dict[str, float]) -> float:
        """Cash plus positions at their last price (entry price when none is known)."""
        held = 0.0
        for symbol, position in self.positions.items():
            held += position.qty * last_prices.get(symbol, position.entry_price)
        return self.cash + held

    def roll(self, day: int, last_prices: dict[str, float]) -> None:
        """Start a new day: its P&L counts from the equity at its first event."""
        if day != self.day:
            self.day = day
            self.day_start_equity = self.equity(last_prices)
