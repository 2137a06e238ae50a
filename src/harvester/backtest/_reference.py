"""The readable definition of the simulator; the numba kernel must give identical results.

One pass over the bars. At each bar ``t``:

1. (``next_open``) orders decided at the previous close fill at this bar's open: exits first,
   then entries in the order they were accepted; a symbol with no bar fills nothing;
2. open positions record the bar's high and low (MFE / MAE) and are checked against their
   stop, trailing stop, scale-out ladder and target (``risk.exits.intrabar_exit``);
3. the close marks the portfolio to market; trailing stops move; bars held count up;
4. guards update: max-drawdown halt (flattens), daily kill-switch (optional flatten),
   daily profit cap; then the decisions of this close: signal and time exits, reversals and
   new entries (sized, capped, subject to slots, exposure, cooldown);
5. (``close``) those orders fill at this bar's close instead, and the close is re-marked.
"""

from __future__ import annotations

import math

import numpy as np

from harvester.backtest._arrays import (
    ENTRY_REASON,
    FILL_COLUMNS,
    ORDER_ENTRY,
    ORDER_EXIT,
    ORDER_NONE,
    ORDER_REVERSE,
    TRADE_COLUMNS,
    W_CASH,
    W_COOLDOWN,
    W_EXPOSURE,
    W_KILL_SWITCH,
    W_MAX_DRAWDOWN,
    W_MAX_POSITIONS,
    W_NO_DATA,
    W_PARTICIPATION,
    W_PROFIT_CAP,
    W_SHORT,
    W_SIZE_INPUT,
    W_SLIPPAGE_INPUT,
    W_TOO_SMALL,
    WARNING_NAMES,
    EngineParams,
    MarketArrays,
    SignalArrays,
    SimOutput,
)
from harvester.domain.trades import ExitReason
from harvester.execution.costs import commission, fill_price, slippage_per_share
from harvester.risk.exits import NO_EXIT, initial_levels, intrabar_exit, trailed_stop
from harvester.risk.sizing import round_quantity, target_notional

__all__ = ["simulate_reference"]

_TARGET = int(ExitReason.TARGET)
_SCALE_OUT = int(ExitReason.SCALE_OUT)
_MARKET_EXITS = frozenset(
    int(r) for r in (ExitReason.SIGNAL, ExitReason.STOP, ExitReason.TRAILING, ExitReason.TIME)
) | {int(ExitReason.KILL_SWITCH), int(ExitReason.MAX_DRAWDOWN)}
_NONE, _EXIT, _ENTRY, _REVERSE = ORDER_NONE, ORDER_EXIT, ORDER_ENTRY, ORDER_REVERSE


class _Book:
    """Cash, positions, pending orders and records while the simulation runs."""

    def __init__(self, market: MarketArrays, params: EngineParams) -> None:
        n_times, n_symbols = market.close.shape
        self.m, self.p = market, params
        self.cash = params.initial_cash
        self.qty = np.zeros(n_symbols)
        self.entry_price = np.full(n_symbols, math.nan)
        self.entry_bar = np.zeros(n_symbols, dtype=np.int64)
        self.entry_qty = np.zeros(n_symbols)
        self.entry_fee = np.zeros(n_symbols)
        self.entry_slip = np.zeros(n_symbols)
        self.stop = np.full(n_symbols, math.nan)
        self.target = np.full(n_symbols, math.nan)
        self.trail = np.full(n_symbols, math.nan)
        self.risk_unit = np.full(n_symbols, math.nan)
        self.ladder = np.zeros(n_symbols, dtype=np.int64)
        self.best = np.full(n_symbols, math.nan)
        self.worst = np.full(n_symbols, math.nan)
        self.held = np.zeros(n_symbols, dtype=np.int64)
        self.last_exit = np.full(n_symbols, -1_000_000_000, dtype=np.int64)
        self.last_price = np.full(n_symbols, math.nan)
        self.pending = np.zeros(n_symbols, dtype=np.int64)
        self.pending_reason = np.zeros(n_symbols, dtype=np.int64)
        self.pending_side = np.zeros(n_symbols, dtype=np.int64)
        self.pending_qty = np.zeros(n_symbols)
        self.pending_atr = np.full(n_symbols, math.nan)
        self.pending_adv = np.full(n_symbols, math.nan)
        self.entry_queue: list[int] = []
        self.trades: list[list[float]] = []
        self.fills: list[list[float]] = []
        self.warnings = np.zeros(len(WARNING_NAMES), dtype=np.int64)
        self.equity_path = np.zeros(n_times)
        self.cash_path = np.zeros(n_times)
        self.gross_path = np.zeros(n_times)
        self.positions = np.zeros((n_times, n_symbols))

    # -- fills --------------------------------------------------------------------------

    def _slippage(self, price: float, qty: float, atr: float, adv: float) -> float:
        slip = slippage_per_share(self.p.slippage_model, price, qty, atr, adv, self.p.slippage_rate)
        if math.isnan(slip):
            self.warnings[W_SLIPPAGE_INPUT] += 1
            return 0.0
        return slip

    def _fee(self, price: float, qty: float) -> float:
        p = self.p
        return commission(
            price * qty, qty, p.commission_bps, p.commission_per_share, p.commission_min
        )

    def _affordable(self, qty: float, price: float, i: int) -> float:
        p = self.p
        unit = price * (1.0 + p.commission_bps / 10_000.0) + p.commission_per_share
        budget = self.cash - p.commission_min
        if qty * unit <= budget:
            return qty
        self.warnings[W_CASH] += 1
        return round_quantity(max(budget, 0.0) / unit, bool(self.m.fractional[i]))

    def enter(self, t: int, i: int, side: int, qty: float, reference: float) -> None:
        atr, adv = self.pending_atr[i], self.pending_adv[i]
        p = self.p
        if p.participation_cap > 0.0 and not math.isnan(self.m.volume[t, i]):
            cap = round_quantity(
                p.participation_cap * self.m.volume[t, i], bool(self.m.fractional[i])
            )
            if qty > cap:
                self.warnings[W_PARTICIPATION] += 1
                qty = cap
        slip = self._slippage(reference, qty, atr, adv)
        price = fill_price(reference, slip, side)
        if side > 0:
            qty = self._affordable(qty, price, i)
        if not qty > 0.0:
            self.warnings[W_TOO_SMALL] += 1
            return
        fee = self._fee(price, qty)
        self.cash -= side * qty * price + fee
        self._open_position(t, i, side, qty, price, fee, slip, atr)
        self.fills.append([t, i, side, qty, price, fee, slip * qty, ENTRY_REASON])

    def _open_position(
        self, t: int, i: int, side: int, qty: float, price: float, fee: float, slip: float,
        atr: float,
    ) -> None:  # fmt: skip
        p = self.p
        stop, target = initial_levels(side, price, atr, p.stop_atr, p.target_atr)
        self.qty[i] = side * qty
        self.entry_price[i], self.entry_bar[i], self.entry_qty[i] = price, t, qty
        self.entry_fee[i], self.entry_slip[i] = fee, slip
        self.stop[i], self.target[i], self.trail[i] = stop, target, math.nan
        self.risk_unit[i] = abs(price - stop) if not math.isnan(stop) else math.nan
        self.ladder[i], self.held[i] = 0, 0
        self.best[i] = self.worst[i] = price

    def exit(
        self, t: int, i: int, qty: float, level: float, reason: int, atr: float, adv: float
    ) -> None:
        side = 1 if self.qty[i] > 0 else -1
        slip = self._slippage(level, qty, atr, adv) if reason in _MARKET_EXITS else 0.0
        price = fill_price(level, slip, -side)
        fee = self._fee(price, qty)
        self.cash += side * qty * price - fee
        self._record_trade(t, i, qty, price, fee, slip, reason)
        self.fills.append([t, i, -side, qty, price, fee, slip * qty, reason])
        self.qty[i] -= side * qty
        if abs(self.qty[i]) <= 1e-12 * max(self.entry_qty[i], 1.0):
            self._close_position(t, i)

    def _record_trade(
        self, t: int, i: int, qty: float, price: float, fee: float, slip: float, reason: int
    ) -> None:
        side = 1 if self.qty[i] > 0 else -1
        entry = self.entry_price[i]
        share = qty / self.entry_qty[i]
        fees = self.entry_fee[i] * share + fee
        pnl = side * (price - entry) * qty - fees
        mfe = side * (self.best[i] - entry) / entry
        mae = side * (self.worst[i] - entry) / entry
        slippage = (self.entry_slip[i] + slip) * qty
        self.trades.append([
            i, side, qty, self.entry_bar[i], entry, t, price, fees, slippage, pnl,
            pnl / (entry * qty), reason, mfe, mae, t - self.entry_bar[i],
        ])  # fmt: skip

    def _close_position(self, t: int, i: int) -> None:
        self.qty[i] = 0.0
        self.last_exit[i] = t
        self.entry_price[i] = self.stop[i] = self.target[i] = self.trail[i] = math.nan

    def final(self) -> np.ndarray:
        """The book after the last bar (``BOOK_COLUMNS``); stale pending fields left out."""
        entering = np.isin(self.pending, (_ENTRY, _REVERSE))
        exiting = np.isin(self.pending, (_EXIT, _REVERSE))
        columns = (
            self.pending.astype(np.float64),
            np.where(entering, self.pending_side, 0).astype(np.float64),
            np.where(entering, self.pending_qty, 0.0),
            np.where(exiting, self.pending_reason, math.nan),
            self.stop, self.target, self.trail,
        )  # fmt: skip
        return np.column_stack(columns)

    # -- one bar ------------------------------------------------------------------------

    def fill_pending(self, t: int, prices: np.ndarray) -> None:
        self._fill_exits(t, prices)
        self._fill_entries(t, prices)

    def _fill_exits(self, t: int, prices: np.ndarray) -> None:
        for i in range(len(self.qty)):
            if self.pending[i] not in (_EXIT, _REVERSE):
                continue
            if math.isnan(prices[i]):
                self.warnings[W_NO_DATA] += 1
                self.pending[i] = _NONE
                continue
            reason = int(self.pending_reason[i])
            self.exit(
                t, i, abs(self.qty[i]), prices[i], reason, self.pending_atr[i], self.pending_adv[i]
            )
            self.pending[i] = _ENTRY if self.pending[i] == _REVERSE else _NONE

    def _fill_entries(self, t: int, prices: np.ndarray) -> None:
        for i in self.entry_queue:
            if self.pending[i] != _ENTRY:
                continue
            self.pending[i] = _NONE
            if math.isnan(prices[i]):
                self.warnings[W_NO_DATA] += 1
                continue
            self.enter(t, i, int(self.pending_side[i]), self.pending_qty[i], prices[i])
        self.entry_queue = []

    def intrabar(self, t: int) -> None:
        m = self.m
        for i in np.flatnonzero(self.qty != 0.0).tolist():
            high, low = m.high[t, i], m.low[t, i]
            if math.isnan(high) or math.isnan(low) or math.isnan(m.open[t, i]):
                continue
            side = 1 if self.qty[i] > 0 else -1
            self.best[i] = max(self.best[i], high) if side > 0 else min(self.best[i], low)
            self.worst[i] = min(self.worst[i], low) if side > 0 else max(self.worst[i], high)
            self._check_exits(t, i, side)

    def _known(self, t: int, i: int) -> tuple[float, float]:
        # Inside bar t only the previous close's ATR and ADV are known.
        return (self.m.atr[t - 1, i], self.m.adv[t - 1, i]) if t > 0 else (math.nan, math.nan)

    def _check_exits(self, t: int, i: int, side: int) -> None:
        m = self.m
        code, level = intrabar_exit(
            side, m.open[t, i], m.high[t, i], m.low[t, i], self.stop[i], self.trail[i],
            self.target[i],
        )  # fmt: skip
        atr, adv = self._known(t, i)
        if code != NO_EXIT and code != _TARGET:
            self.exit(t, i, abs(self.qty[i]), level, code, atr, adv)
            return
        self._scale_out(t, i, side)
        if code == _TARGET and self.qty[i] != 0.0:
            self.exit(t, i, abs(self.qty[i]), level, code, atr, adv)

    def _scale_out(self, t: int, i: int, side: int) -> None:
        p, m = self.p, self.m
        favourable = m.high[t, i] if side > 0 else m.low[t, i]
        while self.ladder[i] < len(p.scale_r) and self.qty[i] != 0.0:
            k = self.ladder[i]
            level = self.entry_price[i] + side * p.scale_r[k] * self.risk_unit[i]
            if math.isnan(level) or side * (favourable - level) < 0.0:
                return
            price = max(level, m.open[t, i]) if side > 0 else min(level, m.open[t, i])
            qty = min(p.scale_fraction[k] * self.entry_qty[i], abs(self.qty[i]))
            self.ladder[i] = k + 1
            self.exit(t, i, qty, price, _SCALE_OUT, math.nan, math.nan)

    def mark(self, t: int) -> float:
        close = self.m.close[t]
        self.last_price = np.where(np.isnan(close), self.last_price, close)
        values = np.where(self.qty != 0.0, self.qty * self.last_price, 0.0)
        equity = self.cash + float(values.sum())
        self.equity_path[t], self.cash_path[t] = equity, self.cash
        self.gross_path[t] = float(np.abs(values).sum())
        self.positions[t] = self.qty
        return equity

    def after_close(self, t: int) -> None:
        p, m = self.p, self.m
        for i in np.flatnonzero(self.qty != 0.0).tolist():
            self.held[i] += 1
            if p.trail_enabled and not math.isnan(m.close[t, i]):
                side = 1 if self.qty[i] > 0 else -1
                self.trail[i] = trailed_stop(
                    side, self.trail[i], m.close[t, i], m.atr[t, i], p.trail_atr,
                    p.trail_min_distance,
                )  # fmt: skip

    def order_exit(self, t: int, i: int, reason: int) -> None:
        if self.qty[i] == 0.0 or self.pending[i] in (_EXIT, _REVERSE):
            return
        self.pending[i], self.pending_reason[i] = _EXIT, reason
        self.pending_atr[i], self.pending_adv[i] = self.m.atr[t, i], self.m.adv[t, i]

    def flatten(self, t: int, reason: int) -> None:
        for i in np.flatnonzero(self.qty != 0.0).tolist():
            self.order_exit(t, int(i), reason)


class _Guards:
    """Day-level and run-level switches that block entries."""

    def __init__(self, initial_cash: float) -> None:
        self.day_start = initial_cash
        self.peak = initial_cash
        self.killed = self.capped = self.halted = False

    def new_day(self, equity_before: float) -> None:
        self.day_start = equity_before
        self.killed = self.capped = False

    def update(self, book: _Book, t: int, equity: float) -> None:
        p = book.p
        self.peak = max(self.peak, equity)
        if (
            p.max_drawdown > 0.0
            and not self.halted
            and equity <= self.peak * (1.0 - p.max_drawdown)
        ):
            self.halted = True
        if self.halted:
            book.flatten(t, int(ExitReason.MAX_DRAWDOWN))
        if p.kill_switch > 0.0 and equity <= self.day_start * (1.0 - p.kill_switch):
            self.killed = True
            if p.kill_switch_flatten:
                book.flatten(t, int(ExitReason.KILL_SWITCH))
        if p.profit_cap > 0.0 and equity >= self.day_start * (1.0 + p.profit_cap):
            self.capped = True

    def blocking(self) -> int:
        if self.halted:
            return W_MAX_DRAWDOWN
        if self.killed:
            return W_KILL_SWITCH
        if self.capped:
            return W_PROFIT_CAP
        return -1


def _decide_exits(book: _Book, signals: SignalArrays, t: int) -> None:
    time_stop = book.p.time_stop_bars
    for i in np.flatnonzero(book.qty != 0.0).tolist():
        side = 1 if book.qty[i] > 0 else -1
        if signals.exit[t, i] or signals.direction[t, i] == -side:
            book.order_exit(t, int(i), int(ExitReason.SIGNAL))
        elif time_stop > 0 and book.held[i] >= time_stop:
            book.order_exit(t, int(i), int(ExitReason.TIME))


def _entry_block(book: _Book, guards: _Guards, t: int, i: int, slots: int) -> int:
    p = book.p
    reversing = book.qty[i] != 0.0
    if book.pending_side[i] < 0 and not p.allow_short:
        return W_SHORT
    blocked = guards.blocking()
    if blocked >= 0:
        return blocked
    if not reversing and p.cooldown_bars > 0 and t - book.last_exit[i] <= p.cooldown_bars:
        return W_COOLDOWN
    if slots >= p.max_positions:
        return W_MAX_POSITIONS
    return -1


def _size(book: _Book, signals: SignalArrays, t: int, i: int, equity: float) -> float:
    p, m = book.p, book.m
    stop_distance = p.stop_atr * m.atr[t, i]
    return target_notional(
        p.sizing, equity, m.close[t, i], signals.size[t, i], p.sizing_fraction, stop_distance,
        m.realized_vol[t, i], p.max_size, p.max_notional,
    )  # fmt: skip


def _decide_entries(
    book: _Book, guards: _Guards, signals: SignalArrays, t: int, equity: float
) -> None:
    m, p = book.m, book.p
    staying = (book.qty != 0.0) & (book.pending != _EXIT)
    slots = int(staying.sum())
    committed = float(np.abs(np.where(staying, book.qty * book.last_price, 0.0)).sum())
    for i in np.argsort(-signals.score[t], kind="stable").tolist():
        d = int(signals.direction[t, i])
        if d == 0 or math.isnan(m.close[t, i]) or int(np.sign(book.qty[i])) == d:
            continue
        book.pending_side[i] = d
        blocked = _entry_block(book, guards, t, int(i), slots)
        if blocked >= 0:
            book.warnings[blocked] += 1
            continue
        notional = _size(book, signals, t, int(i), equity)
        room = p.max_gross * equity - committed
        if math.isnan(notional):
            book.warnings[W_SIZE_INPUT] += 1
            continue
        if room <= 0.0:
            book.warnings[W_EXPOSURE] += 1
            continue
        qty = round_quantity(min(notional, room) / m.close[t, i], bool(m.fractional[i]))
        if not qty > 0.0:
            book.warnings[W_TOO_SMALL] += 1
            continue
        book.pending[i] = _REVERSE if book.qty[i] != 0.0 else _ENTRY
        book.pending_qty[i] = qty
        book.pending_atr[i], book.pending_adv[i] = m.atr[t, i], m.adv[t, i]
        book.entry_queue.append(int(i))
        slots += 1
        committed += qty * m.close[t, i]


def _records(rows: list[list[float]], width: int) -> np.ndarray:
    return np.array(rows, dtype=np.float64).reshape(-1, width)


def simulate_reference(
    market: MarketArrays, signals: SignalArrays, params: EngineParams
) -> SimOutput:
    """Run the simulation in plain Python; the definition the kernel is tested against."""
    book, guards = _Book(market, params), _Guards(params.initial_cash)
    equity = params.initial_cash
    for t in range(market.close.shape[0]):
        if t > 0 and market.day[t] != market.day[t - 1]:
            guards.new_day(equity)
        if not params.fill_at_close:
            book.fill_pending(t, market.open[t])
        book.intrabar(t)
        equity = book.mark(t)
        book.after_close(t)
        guards.update(book, t, equity)
        _decide_exits(book, signals, t)
        _decide_entries(book, guards, signals, t, equity)
        if params.fill_at_close:
            book.fill_pending(t, market.close[t])
            equity = book.mark(t)
    last = market.close.shape[0] - 1
    for i in np.flatnonzero(book.qty != 0.0).tolist():
        book._record_trade(
            last, int(i), abs(book.qty[i]), book.last_price[i], 0.0, 0.0, int(ExitReason.OPEN)
        )
    return SimOutput(
        book.equity_path, book.cash_path, book.gross_path, book.positions,
        _records(book.trades, len(TRADE_COLUMNS)), _records(book.fills, len(FILL_COLUMNS)),
        book.warnings, book.final(),
    )  # fmt: skip
