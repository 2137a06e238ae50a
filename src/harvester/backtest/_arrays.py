"""The plain-array inputs and outputs shared by the simulator kernel and its reference twin."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from harvester.core.types import BoolArray, FloatArray, IntArray
from harvester.strategies.signals import Signals as SignalArrays

__all__ = [
    "BOOK_COLUMNS",
    "FILL_COLUMNS",
    "TRADE_COLUMNS",
    "WARNING_NAMES",
    "EngineParams",
    "MarketArrays",
    "SignalArrays",
    "SimOutput",
]

# Column order of the trade and fill record matrices (float64; codes stored as floats).
TRADE_COLUMNS: tuple[str, ...] = (
    "symbol", "side", "qty", "entry_bar", "entry_price", "exit_bar", "exit_price", "fees",
    "slippage", "pnl", "return", "exit_reason", "mfe", "mae", "bars_held",
)  # fmt: skip
FILL_COLUMNS: tuple[str, ...] = (
    "bar", "symbol", "side", "qty", "price", "fee", "slippage", "reason",
)  # fmt: skip
# Fill ``reason`` is an ExitReason code for exits and ENTRY_REASON for entries.
ENTRY_REASON = -1
# The book after the last bar, one row per symbol: the order waiting for the next bar's fill
# (what a real broker is sent after the close) and the exit levels of the open position.
# ``order`` is ORDER_NONE, ORDER_EXIT, ORDER_ENTRY or ORDER_REVERSE (exit, then enter);
# ``side`` and ``qty`` (the decided quantity, before the fill's cash and participation
# checks) belong to an entry, ``exit_reason`` (an ExitReason code) to an exit; NaN or 0
# where they do not apply.
BOOK_COLUMNS: tuple[str, ...] = ("order", "side", "qty", "exit_reason", "stop", "target", "trail")
ORDER_NONE, ORDER_EXIT, ORDER_ENTRY, ORDER_REVERSE = 0, 1, 2, 3

# Counted events that change or skip an order; the result reports them by name.
WARNING_NAMES: tuple[str, ...] = (
    "no_data_at_fill",
    "participation_cut",
    "cash_reduced",
    "size_input_missing",
    "too_small",
    "slippage_input_missing",
    "blocked_max_positions",
    "blocked_exposure",
    "blocked_kill_switch",
    "blocked_profit_cap",
    "blocked_max_drawdown",
    "blocked_cooldown",
    "blocked_short",
)
(
    W_NO_DATA,
    W_PARTICIPATION,
    W_CASH,
    W_SIZE_INPUT,
    W_TOO_SMALL,
    W_SLIPPAGE_INPUT,
    W_MAX_POSITIONS,
    W_EXPOSURE,
    W_KILL_SWITCH,
    W_PROFIT_CAP,
    W_MAX_DRAWDOWN,
    W_COOLDOWN,
    W_SHORT,
) = range(len(WARNING_NAMES))


class MarketArrays(NamedTuple):
    """Prices and derived inputs, each (time × symbols) unless noted; NaN = no bar."""

    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    atr: FloatArray
    adv: FloatArray
    realized_vol: FloatArray
    day: IntArray  # (time,) session-day number: the kill-switch and profit cap reset on change
    fractional: BoolArray  # (symbols,) whether a symbol trades in fractional units

    def rows(self, rows: slice) -> MarketArrays:
        """The bars ``rows`` of every time-indexed array (row-ordered copies for the kernel)."""

        def cut(values: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(values[rows])

        return MarketArrays(
            open=cut(self.open), high=cut(self.high), low=cut(self.low), close=cut(self.close),
            volume=cut(self.volume), atr=cut(self.atr), adv=cut(self.adv),
            realized_vol=cut(self.realized_vol), day=cut(self.day), fractional=self.fractional,
        )  # fmt: skip


class EngineParams(NamedTuple):
    """Every scalar rule of the simulator; built from the config by ``backtest.params``."""

    initial_cash: float
    fill_at_close: bool
    slippage_model: int
    slippage_rate: float
    commission_bps: float
    commission_per_share: float
    commission_min: float
    participation_cap: float
    sizing: int
    sizing_fraction: float
    max_size: float
    max_notional: float
    stop_atr: float
    target_atr: float
    trail_enabled: bool
    trail_atr: float
    trail_min_distance: float
    time_stop_bars: int
    scale_r: FloatArray
    scale_fraction: FloatArray
    allow_short: bool
    max_positions: int
    max_gross: float
    kill_switch: float
    kill_switch_flatten: bool
    profit_cap: float
    max_drawdown: float
    cooldown_bars: int


class SimOutput(NamedTuple):
    """Equity path, positions and the trade and fill records of one simulation."""

    equity: FloatArray  # (time,)
    cash: FloatArray  # (time,)
    gross: FloatArray  # (time,) sum of |position value|
    positions: FloatArray  # (time × symbols) signed quantity after each bar
    trades: FloatArray  # (n trades × TRADE_COLUMNS)
    fills: FloatArray  # (n fills × FILL_COLUMNS)
    warnings: IntArray  # (len(WARNING_NAMES),)
    book: FloatArray  # (symbols × BOOK_COLUMNS) pending orders and exit levels after the last bar
