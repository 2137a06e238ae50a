"""The numba twin of the simulator: the bar loop of ``_reference.py``, compiled.

``simulate_kernel`` returns what ``_reference.simulate_reference`` returns, bit for bit (the
property tests compare every output): same order of operations, same shared scalar functions
(``execution.costs``, ``risk.sizing``, ``risk.exits``). Only the bookkeeping differs, so that a
bar costs little more than its open positions and entry candidates:

- state lives in preallocated arrays (``_Book``): per-symbol rows ``f`` and ``g``, cash and
  guard flags in ``state``, counters and warning counts in ``tally``;
- the symbols holding a position form an ascending list (``g[_G_OPEN]``); a position closed
  during a bar stays listed with quantity 0 until the next bar, so the list always visits
  symbols in the reference's ``np.flatnonzero(qty != 0)`` order;
- only a bar's entry candidates are ranked, by a stable merge sort ordering them exactly as
  ``np.argsort(-score, kind="stable")`` does (higher first, NaN last, ties by symbol);
- equity, gross and committed exposure replay numpy's pairwise summation over the whole symbol
  axis visiting only non-zero terms (adding +0.0 is exact), so they equal ``values.sum()``;
- trade and fill records go to buffers that double whenever one more bar could overflow them.

Numba reference-counts every array in the arguments of a compiled call, so the helpers run
per position or per candidate take scalars (``_Rules``) and arrays go to once-per-bar steps.
Numba's ``max`` and ``min`` follow Python's (the second argument only when strictly beyond).
"""

from __future__ import annotations

import math
import typing
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from harvester.backtest._arrays import (
    BOOK_COLUMNS,
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
from harvester.core.jit import njit
from harvester.core.types import BoolArray, FloatArray, IntArray
from harvester.domain.trades import ExitReason
from harvester.execution.costs import commission, fill_price, slippage_per_share
from harvester.risk.exits import NO_EXIT, initial_levels, intrabar_exit, trailed_stop
from harvester.risk.sizing import round_quantity, target_notional

__all__ = ["simulate_kernel"]

_SIGNAL, _STOP, _TRAILING = int(ExitReason.SIGNAL), int(ExitReason.STOP), int(ExitReason.TRAILING)
_TARGET, _SCALE_OUT = int(ExitReason.TARGET), int(ExitReason.SCALE_OUT)
_TIME, _OPEN = int(ExitReason.TIME), int(ExitReason.OPEN)
_KILL_SWITCH, _MAX_DRAWDOWN = int(ExitReason.KILL_SWITCH), int(ExitReason.MAX_DRAWDOWN)
# Market exits fill with slippage; limit-style exits (target, scale-out) at their level.
_MARKET_EXITS = (_SIGNAL, _STOP, _TRAILING, _TIME, _KILL_SWITCH, _MAX_DRAWDOWN)
_NONE, _EXIT, _ENTRY, _REVERSE = ORDER_NONE, ORDER_EXIT, ORDER_ENTRY, ORDER_REVERSE
# Rows of ``_Book.f``: the float state per symbol (``_F_VALUE`` is scratch for the sums).
(
    _F_QTY, _F_ENTRY_PRICE, _F_ENTRY_QTY, _F_ENTRY_FEE, _F_ENTRY_SLIP, _F_STOP, _F_TARGET,
    _F_TRAIL, _F_RISK_UNIT, _F_BEST, _F_WORST, _F_LAST_PRICE, _F_PENDING_QTY, _F_PENDING_ATR,
    _F_PENDING_ADV, _F_VALUE,
) = range(16)  # fmt: skip
_N_F = 16
_NAN_ROWS = (
    _F_ENTRY_PRICE, _F_STOP, _F_TARGET, _F_TRAIL, _F_RISK_UNIT, _F_BEST, _F_WORST,
    _F_LAST_PRICE, _F_PENDING_ATR, _F_PENDING_ADV,
)  # fmt: skip
# Rows of ``_Book.g``: the integer state per symbol and the index lists.
(
    _G_ENTRY_BAR, _G_LADDER, _G_HELD, _G_LAST_EXIT, _G_PENDING, _G_PENDING_REASON,
    _G_PENDING_SIDE, _G_OPEN, _G_QUEUE, _G_CANDIDATES, _G_SCRATCH,
) = range(11)  # fmt: skip
_N_G = 11
_NEVER = -1_000_000_000
# Slots of ``_Book.state`` (flags are 0.0 or 1.0) and ``_Book.tally``.
_CASH, _DAY_START, _PEAK, _KILLED, _CAPPED, _HALTED = range(6)
_N_OPEN, _N_QUEUE, _N_TRADES, _N_FILLS = range(4)
_W = 4  # ``tally[_W + code]`` counts the warning ``WARNING_NAMES[code]``
# Numpy's pairwise summation: blocks of at most 128 terms summed in 8 interleaved lanes.
_BLOCK = 128
_LANES = 8
_NODE, _ADD = 0, 1
_MAX_FRAMES = 256
_N_TRADE_COLUMNS = len(TRADE_COLUMNS)
_N_FILL_COLUMNS = len(FILL_COLUMNS)


class _Ladder(NamedTuple):
    scale_r: FloatArray
    scale_fraction: FloatArray


if typing.TYPE_CHECKING:
    _Rules = EngineParams
else:
    # EngineParams without the ladder arrays: scalars only, so handing the rules to a compiled
    # function costs no reference counting. Built from EngineParams' fields: they never drift.
    _HINTS = typing.get_type_hints(EngineParams).items()
    _Rules = NamedTuple("_Rules", [(n, k) for n, k in _HINTS if n not in _Ladder._fields])


class _Book(NamedTuple):
    f: FloatArray
    g: IntArray
    state: FloatArray
    tally: IntArray


class _Records(NamedTuple):
    trades: FloatArray
    fills: FloatArray


class _SumWork(NamedTuple):
    frames: IntArray
    partials: FloatArray
    lanes: FloatArray


# -- numpy's float division, summation and sort order -------------------------------------


@njit
def _divide_nb(a: float, b: float) -> float:
    # Numpy's float division (inf or NaN when b is 0) where numba would raise.
    if b == 0.0:
        if a != a or a == 0.0:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


@njit
def _leaf_sum_nb(
    values: FloatArray, index: IntArray, lo: int, hi: int, start: int, n: int, lanes: FloatArray
) -> float:
    total: float = 0.0
    if n < _LANES:
        for j in range(lo, hi):
            total += values[j]
        return total
    for lane in range(_LANES):
        lanes[lane] = 0.0
    whole = n - n % _LANES
    j = lo
    while j < hi and index[j] - start < whole:
        lanes[(index[j] - start) % _LANES] += values[j]
        j += 1
    total = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + (
        (lanes[4] + lanes[5]) + (lanes[6] + lanes[7])
    )
    while j < hi:
        total += values[j]
        j += 1
    return total


@njit
def _pairwise_nb(values: FloatArray, index: IntArray, count: int, n: int, work: _SumWork) -> float:
    # Numpy's sum of a length-n array holding values[:count] at the ascending positions
    # index[:count] and +0.0 elsewhere: its recursive halving, run on an explicit stack
    # because numba cannot cache recursive functions.
    frames, partials = work.frames, work.partials
    frames[0, 0], frames[0, 1], frames[0, 2], frames[0, 3], frames[0, 4] = _NODE, 0, n, 0, count
    depth, results = 1, 0
    while depth > 0:
        depth -= 1
        kind, start, size, lo, hi = frames[depth]
        if kind == _ADD:
            results -= 1
            partials[results - 1] = partials[results - 1] + partials[results]
        elif lo == hi or size <= _BLOCK:
            partials[results] = _leaf_sum_nb(values, index, lo, hi, start, size, work.lanes)
            results += 1
        else:
            half = size // 2
            half -= half % _LANES
            mid = lo
            while mid < hi and index[mid] < start + half:
                mid += 1
            frames[depth, 0] = _ADD
            frames[depth + 1, 0], frames[depth + 1, 1], frames[depth + 1, 2] = (
                _NODE, start + half, size - half,
            )  # fmt: skip
            frames[depth + 1, 3], frames[depth + 1, 4] = mid, hi
            frames[depth + 2, 0], frames[depth + 2, 1], frames[depth + 2, 2] = _NODE, start, half
            frames[depth + 2, 3], frames[depth + 2, 4] = lo, mid
            depth += 3
    result: float = partials[0]
    return result


@njit
def _ranks_before_nb(a: float, b: float) -> bool:
    # The order of -score in numpy's sort: higher scores first, NaN last.
    return a > b or (b != b and a == a)


@njit
def _merge_nb(
    items: IntArray, out: IntArray, lo: int, mid: int, hi: int, score: FloatArray
) -> None:
    a, b = lo, mid
    for k in range(lo, hi):
        if b < hi and (a >= mid or _ranks_before_nb(score[items[b]], score[items[a]])):
            out[k] = items[b]
            b += 1
        else:
            out[k] = items[a]
            a += 1


@njit
def _rank_nb(items: IntArray, scratch: IntArray, count: int, score: FloatArray) -> None:
    # A bottom-up merge sort; stable, so equal scores keep their ascending symbol order.
    width = 1
    while width < count:
        for lo in range(0, count, 2 * width):
            _merge_nb(items, scratch, lo, min(lo + width, count), min(lo + 2 * width, count), score)
        for k in range(count):
            items[k] = scratch[k]
        width *= 2


@njit
def _new_book_nb(n_symbols: int, initial_cash: float) -> _Book:
    f = np.zeros((_N_F, n_symbols))
    for row in _NAN_ROWS:
        f[row] = math.nan
    g = np.zeros((_N_G, n_symbols), dtype=np.int64)
    g[_G_LAST_EXIT] = _NEVER
    state = np.zeros(6)
    state[_CASH] = state[_DAY_START] = state[_PEAK] = initial_cash
    return _Book(f, g, state, np.zeros(_W + len(WARNING_NAMES), dtype=np.int64))


@njit
def _reserve_nb(buffer: FloatArray, used: int, needed: int) -> FloatArray:
    if used + needed <= buffer.shape[0]:
        return buffer
    grown = np.empty((max(2 * buffer.shape[0], used + needed), buffer.shape[1]))
    for row in range(used):
        for column in range(buffer.shape[1]):
            grown[row, column] = buffer[row, column]
    return grown


@njit
def _insert_open_nb(book: _Book, i: int) -> None:
    index, n = book.g[_G_OPEN], book.tally[_N_OPEN]
    k = n
    while k > 0 and index[k - 1] > i:
        k -= 1
    if k > 0 and index[k - 1] == i:
        return  # closed earlier in this bar and reopened: still listed
    for m in range(n, k, -1):
        index[m] = index[m - 1]
    index[k] = i
    book.tally[_N_OPEN] = n + 1


@njit
def _compact_open_nb(book: _Book) -> None:
    kept = 0
    for j in range(book.tally[_N_OPEN]):
        i = book.g[_G_OPEN, j]
        if book.f[_F_QTY, i] != 0.0:
            book.g[_G_OPEN, kept] = i
            kept += 1
    book.tally[_N_OPEN] = kept


# -- state, records, fills and intrabar exits ---------------------------------------------


@njit
def _slippage_nb(
    tally: IntArray, rules: _Rules, price: float, qty: float, atr: float, adv: float
) -> float:
    slip = slippage_per_share(rules.slippage_model, price, qty, atr, adv, rules.slippage_rate)
    if math.isnan(slip):
        tally[_W + W_SLIPPAGE_INPUT] += 1
        return 0.0
    return slip


@njit
def _fee_nb(rules: _Rules, price: float, qty: float) -> float:
    r = rules
    return commission(price * qty, qty, r.commission_bps, r.commission_per_share, r.commission_min)


@njit
def _push_fill_nb(
    book: _Book, fills: FloatArray, t: int, i: int, side: int, qty: float, price: float,
    fee: float, slippage: float, reason: int,
) -> None:  # fmt: skip
    row = book.tally[_N_FILLS]
    fills[row, 0], fills[row, 1], fills[row, 2], fills[row, 3] = t, i, side, qty
    fills[row, 4], fills[row, 5], fills[row, 6], fills[row, 7] = price, fee, slippage, reason
    book.tally[_N_FILLS] = row + 1


@njit
def _enter_nb(
    book: _Book, fills: FloatArray, rules: _Rules, t: int, i: int, reference: float,
    volume: float, fractional: bool,
) -> None:  # fmt: skip
    side = book.g[_G_PENDING_SIDE, i]
    atr, adv = book.f[_F_PENDING_ATR, i], book.f[_F_PENDING_ADV, i]
    qty = book.f[_F_PENDING_QTY, i]
    if rules.participation_cap > 0.0 and not math.isnan(volume):
        cap = round_quantity(rules.participation_cap * volume, fractional)
        if qty > cap:
            book.tally[_W + W_PARTICIPATION] += 1
            qty = cap
    slip = _slippage_nb(book.tally, rules, reference, qty, atr, adv)
    price = fill_price(reference, slip, side)
    unit = price * (1.0 + rules.commission_bps / 10_000.0) + rules.commission_per_share
    budget = book.state[_CASH] - rules.commission_min
    if side > 0 and not qty * unit <= budget:
        book.tally[_W + W_CASH] += 1
        qty = round_quantity(max(budget, 0.0) / unit, fractional)
    if not qty > 0.0:
        book.tally[_W + W_TOO_SMALL] += 1
        return
    fee = _fee_nb(rules, price, qty)
    book.state[_CASH] -= side * qty * price + fee
    stop, target = initial_levels(side, price, atr, rules.stop_atr, rules.target_atr)
    f = book.f
    f[_F_QTY, i] = side * qty
    f[_F_ENTRY_PRICE, i], f[_F_ENTRY_QTY, i], f[_F_ENTRY_FEE, i] = price, qty, fee
    f[_F_ENTRY_SLIP, i], f[_F_STOP, i], f[_F_TARGET, i] = slip, stop, target
    f[_F_TRAIL, i] = math.nan
    f[_F_RISK_UNIT, i] = abs(price - stop) if not math.isnan(stop) else math.nan
    f[_F_BEST, i] = f[_F_WORST, i] = price
    book.g[_G_ENTRY_BAR, i], book.g[_G_LADDER, i], book.g[_G_HELD, i] = t, 0, 0
    _push_fill_nb(book, fills, t, i, side, qty, price, fee, slip * qty, ENTRY_REASON)
    _insert_open_nb(book, i)


@njit
def _exit_nb(
    book: _Book, records: _Records, rules: _Rules, t: int, i: int, qty: float, level: float,
    reason: int, atr: float, adv: float,
) -> None:  # fmt: skip
    f = book.f
    side = 1 if f[_F_QTY, i] > 0 else -1
    slip = _slippage_nb(book.tally, rules, level, qty, atr, adv) if reason in _MARKET_EXITS else 0.0
    price = fill_price(level, slip, -side)
    fee = _fee_nb(rules, price, qty)
    book.state[_CASH] += side * qty * price - fee
    _record_trade_nb(book, records.trades, t, i, qty, price, fee, slip, reason)
    _push_fill_nb(book, records.fills, t, i, -side, qty, price, fee, slip * qty, reason)
    f[_F_QTY, i] -= side * qty
    if abs(f[_F_QTY, i]) <= 1e-12 * max(f[_F_ENTRY_QTY, i], 1.0):
        f[_F_QTY, i] = 0.0
        book.g[_G_LAST_EXIT, i] = t
        f[_F_ENTRY_PRICE, i] = f[_F_STOP, i] = f[_F_TARGET, i] = f[_F_TRAIL, i] = math.nan


@njit
def _record_trade_nb(
    book: _Book, trades: FloatArray, t: int, i: int, qty: float, price: float, fee: float,
    slip: float, reason: int,
) -> None:  # fmt: skip
    f, row = book.f, book.tally[_N_TRADES]
    side = 1 if f[_F_QTY, i] > 0 else -1
    entry, entry_bar = f[_F_ENTRY_PRICE, i], book.g[_G_ENTRY_BAR, i]
    fees = f[_F_ENTRY_FEE, i] * (qty / f[_F_ENTRY_QTY, i]) + fee
    pnl = side * (price - entry) * qty - fees
    trades[row, 0], trades[row, 1], trades[row, 2] = i, side, qty
    trades[row, 3], trades[row, 4], trades[row, 5], trades[row, 6] = entry_bar, entry, t, price
    trades[row, 7], trades[row, 8] = fees, (f[_F_ENTRY_SLIP, i] + slip) * qty
    trades[row, 9], trades[row, 10], trades[row, 11] = pnl, _divide_nb(pnl, entry * qty), reason
    trades[row, 12] = _divide_nb(side * (f[_F_BEST, i] - entry), entry)
    trades[row, 13] = _divide_nb(side * (f[_F_WORST, i] - entry), entry)
    trades[row, 14] = t - entry_bar
    book.tally[_N_TRADES] = row + 1


@njit
def _fill_pending_nb(
    book: _Book, records: _Records, rules: _Rules, t: int, prices: FloatArray,
    volume: FloatArray, fractional: BoolArray,
) -> None:  # fmt: skip
    f, g = book.f, book.g
    # Exits in symbol order (a pending exit always belongs to an open position) ...
    for j in range(book.tally[_N_OPEN]):
        i = g[_G_OPEN, j]
        order = g[_G_PENDING, i]
        if order != _EXIT and order != _REVERSE:
            continue
        if math.isnan(prices[t, i]):
            book.tally[_W + W_NO_DATA] += 1
            g[_G_PENDING, i] = _NONE
            continue
        level, reason = prices[t, i], g[_G_PENDING_REASON, i]
        atr, adv = f[_F_PENDING_ATR, i], f[_F_PENDING_ADV, i]
        _exit_nb(book, records, rules, t, i, abs(f[_F_QTY, i]), level, reason, atr, adv)
        g[_G_PENDING, i] = _ENTRY if order == _REVERSE else _NONE
    # ... then entries in the order they were accepted.
    for k in range(book.tally[_N_QUEUE]):
        i = g[_G_QUEUE, k]
        if g[_G_PENDING, i] != _ENTRY:
            continue
        g[_G_PENDING, i] = _NONE
        if math.isnan(prices[t, i]):
            book.tally[_W + W_NO_DATA] += 1
            continue
        reference, shares, whole = prices[t, i], volume[t, i], fractional[i]
        _enter_nb(book, records.fills, rules, t, i, reference, shares, whole)
    book.tally[_N_QUEUE] = 0


@njit
def _scale_level_nb(
    entry: float, risk_unit: float, r_multiple: float, side: int, favourable: float
) -> float:
    # The scale-out level when the bar reached it, else NaN.
    level = entry + side * r_multiple * risk_unit
    if math.isnan(level) or side * (favourable - level) < 0.0:
        return math.nan
    return level


@njit
def _intrabar_nb(
    book: _Book, records: _Records, market: MarketArrays, rules: _Rules, ladder: _Ladder,
    t: int,
) -> None:  # fmt: skip
    f, g, n_steps = book.f, book.g, ladder.scale_r.shape[0]
    for j in range(book.tally[_N_OPEN]):
        i = g[_G_OPEN, j]
        if f[_F_QTY, i] == 0.0:
            continue
        open_, high, low = market.open[t, i], market.high[t, i], market.low[t, i]
        if math.isnan(high) or math.isnan(low) or math.isnan(open_):
            continue
        side = 1 if f[_F_QTY, i] > 0 else -1
        best, worst = f[_F_BEST, i], f[_F_WORST, i]
        if side > 0:
            f[_F_BEST, i], f[_F_WORST, i] = max(best, high), min(worst, low)
        else:
            f[_F_BEST, i], f[_F_WORST, i] = min(best, low), max(worst, high)
        stop, trail, target = f[_F_STOP, i], f[_F_TRAIL, i], f[_F_TARGET, i]
        code, level = intrabar_exit(side, open_, high, low, stop, trail, target)
        # Inside bar t only the previous close's ATR and ADV are known.
        atr = market.atr[t - 1, i] if t > 0 else math.nan
        adv = market.adv[t - 1, i] if t > 0 else math.nan
        if code != NO_EXIT and code != _TARGET:
            _exit_nb(book, records, rules, t, i, abs(f[_F_QTY, i]), level, code, atr, adv)
            continue
        k, favourable = g[_G_LADDER, i], high if side > 0 else low
        entry, risk_unit = f[_F_ENTRY_PRICE, i], f[_F_RISK_UNIT, i]
        if k < n_steps and not math.isnan(
            _scale_level_nb(entry, risk_unit, ladder.scale_r[k], side, favourable)
        ):
            _scale_out_nb(book, records, rules, ladder, t, i, side, favourable, open_)
        if code == _TARGET and f[_F_QTY, i] != 0.0:
            _exit_nb(book, records, rules, t, i, abs(f[_F_QTY, i]), level, code, atr, adv)


@njit
def _scale_out_nb(
    book: _Book, records: _Records, rules: _Rules, ladder: _Ladder, t: int, i: int, side: int,
    favourable: float, open_: float,
) -> None:  # fmt: skip
    f, g = book.f, book.g
    while g[_G_LADDER, i] < ladder.scale_r.shape[0] and f[_F_QTY, i] != 0.0:
        k = g[_G_LADDER, i]
        entry, risk_unit = f[_F_ENTRY_PRICE, i], f[_F_RISK_UNIT, i]
        level = _scale_level_nb(entry, risk_unit, ladder.scale_r[k], side, favourable)
        if math.isnan(level):
            return
        price = max(level, open_) if side > 0 else min(level, open_)
        qty = min(ladder.scale_fraction[k] * f[_F_ENTRY_QTY, i], abs(f[_F_QTY, i]))
        g[_G_LADDER, i] = k + 1
        _exit_nb(book, records, rules, t, i, qty, price, _SCALE_OUT, math.nan, math.nan)


# -- at the close -------------------------------------------------------------------------


@njit
def _mark_nb(
    book: _Book, work: _SumWork, path: FloatArray, positions: FloatArray, close: FloatArray, t: int
) -> float:
    # ``path`` rows: equity, cash and gross after each bar.
    f, n_open, n_symbols = book.f, book.tally[_N_OPEN], close.shape[1]
    for i in range(n_symbols):
        if not math.isnan(close[t, i]):
            f[_F_LAST_PRICE, i] = close[t, i]
    for j in range(n_open):
        i = book.g[_G_OPEN, j]
        qty = f[_F_QTY, i]
        f[_F_VALUE, j] = qty * f[_F_LAST_PRICE, i] if qty != 0.0 else 0.0
        positions[t, i] = qty  # a position closed during the bar writes its 0
    total = gross = 0.0  # numpy's sum of zeros
    if n_open > 0:
        total = _pairwise_nb(f[_F_VALUE], book.g[_G_OPEN], n_open, n_symbols, work)
        for j in range(n_open):
            f[_F_VALUE, j] = abs(f[_F_VALUE, j])
        gross = _pairwise_nb(f[_F_VALUE], book.g[_G_OPEN], n_open, n_symbols, work)
    equity: float = book.state[_CASH] + total
    path[0, t], path[1, t], path[2, t] = equity, book.state[_CASH], gross
    return equity


@njit
def _after_close_nb(book: _Book, rules: _Rules, t: int, close: FloatArray, atr: FloatArray) -> None:
    f = book.f
    for j in range(book.tally[_N_OPEN]):
        i = book.g[_G_OPEN, j]
        if f[_F_QTY, i] == 0.0:
            continue
        book.g[_G_HELD, i] += 1
        price = close[t, i]
        if rules.trail_enabled and not math.isnan(price):
            side = 1 if f[_F_QTY, i] > 0 else -1
            multiple, minimum = rules.trail_atr, rules.trail_min_distance
            f[_F_TRAIL, i] = trailed_stop(side, f[_F_TRAIL, i], price, atr[t, i], multiple, minimum)


@njit
def _order_exit_nb(book: _Book, i: int, reason: int, atr: float, adv: float) -> None:
    pending = book.g[_G_PENDING, i]
    if book.f[_F_QTY, i] == 0.0 or pending in (_EXIT, _REVERSE):
        return
    book.g[_G_PENDING, i], book.g[_G_PENDING_REASON, i] = _EXIT, reason
    book.f[_F_PENDING_ATR, i], book.f[_F_PENDING_ADV, i] = atr, adv


@njit
def _flatten_nb(book: _Book, t: int, reason: int, atr: FloatArray, adv: FloatArray) -> None:
    for j in range(book.tally[_N_OPEN]):
        i = book.g[_G_OPEN, j]
        _order_exit_nb(book, i, reason, atr[t, i], adv[t, i])


@njit
def _update_guards_nb(
    book: _Book, rules: _Rules, t: int, equity: float, atr: FloatArray, adv: FloatArray
) -> None:
    state = book.state
    state[_PEAK] = max(state[_PEAK], equity)
    drawdown_floor = state[_PEAK] * (1.0 - rules.max_drawdown)
    if rules.max_drawdown > 0.0 and state[_HALTED] == 0.0 and equity <= drawdown_floor:
        state[_HALTED] = 1.0
    if state[_HALTED] != 0.0:
        _flatten_nb(book, t, _MAX_DRAWDOWN, atr, adv)
    if rules.kill_switch > 0.0 and equity <= state[_DAY_START] * (1.0 - rules.kill_switch):
        state[_KILLED] = 1.0
        if rules.kill_switch_flatten:
            _flatten_nb(book, t, _KILL_SWITCH, atr, adv)
    if rules.profit_cap > 0.0 and equity >= state[_DAY_START] * (1.0 + rules.profit_cap):
        state[_CAPPED] = 1.0


@njit
def _decide_exits_nb(
    book: _Book, rules: _Rules, t: int, signals: SignalArrays, atr: FloatArray, adv: FloatArray
) -> None:
    for j in range(book.tally[_N_OPEN]):
        i = book.g[_G_OPEN, j]
        if book.f[_F_QTY, i] == 0.0:
            continue
        side = 1 if book.f[_F_QTY, i] > 0 else -1
        if signals.exit[t, i] or signals.direction[t, i] == -side:
            _order_exit_nb(book, i, _SIGNAL, atr[t, i], adv[t, i])
        elif rules.time_stop_bars > 0 and book.g[_G_HELD, i] >= rules.time_stop_bars:
            _order_exit_nb(book, i, _TIME, atr[t, i], adv[t, i])


# -- entries ------------------------------------------------------------------------------


@njit
def _collect_candidates_nb(
    book: _Book, direction: npt.NDArray[np.int8], close: FloatArray, t: int
) -> int:
    count = 0
    for i in range(close.shape[1]):
        d = direction[t, i]
        if d == 0 or math.isnan(close[t, i]):
            continue
        qty = book.f[_F_QTY, i]
        held = 1 if qty > 0.0 else (-1 if qty < 0.0 else 0)
        if held != d:
            book.g[_G_CANDIDATES, count] = i
            count += 1
    return count


@njit
def _committed_nb(book: _Book, work: _SumWork, n_symbols: int) -> tuple[int, float]:
    # Slots taken and gross value of the positions that stay (no exit pending).
    f, slots, n_open = book.f, 0, book.tally[_N_OPEN]
    for j in range(n_open):
        i = book.g[_G_OPEN, j]
        staying = f[_F_QTY, i] != 0.0 and book.g[_G_PENDING, i] != _EXIT
        slots += 1 if staying else 0
        f[_F_VALUE, j] = abs(f[_F_QTY, i] * f[_F_LAST_PRICE, i]) if staying else 0.0
    return slots, _pairwise_nb(f[_F_VALUE], book.g[_G_OPEN], n_open, n_symbols, work)


@njit
def _entry_block_nb(
    state: FloatArray, rules: _Rules, side: int, reversing: bool, bars_since_exit: int,
    slots: int,
) -> int:  # fmt: skip
    if side < 0 and not rules.allow_short:
        return W_SHORT
    if state[_HALTED] != 0.0:
        return W_MAX_DRAWDOWN
    if state[_KILLED] != 0.0:
        return W_KILL_SWITCH
    if state[_CAPPED] != 0.0:
        return W_PROFIT_CAP
    if not reversing and rules.cooldown_bars > 0 and bars_since_exit <= rules.cooldown_bars:
        return W_COOLDOWN
    if slots >= rules.max_positions:
        return W_MAX_POSITIONS
    return -1


@njit
def _every_entry_blocked_nb(state: FloatArray, rules: _Rules, slots: int) -> bool:
    # What blocks every candidate in ``_entry_block_nb``, whatever its side and history.
    guarded = state[_HALTED] != 0.0 or state[_KILLED] != 0.0 or state[_CAPPED] != 0.0
    return guarded or slots >= rules.max_positions


@njit
def _entry_quantity_nb(
    rules: _Rules, close: float, multiplier: float, atr: float, realized_vol: float,
    fractional: bool, equity: float, committed: float,
) -> tuple[float, int]:  # fmt: skip
    # (quantity, -1) for an accepted entry, else (0, the warning that rejected it).
    notional = target_notional(
        rules.sizing, equity, close, multiplier, rules.sizing_fraction, rules.stop_atr * atr,
        realized_vol, rules.max_size, rules.max_notional,
    )  # fmt: skip
    room = rules.max_gross * equity - committed
    if math.isnan(notional):
        return 0.0, W_SIZE_INPUT
    if room <= 0.0:
        return 0.0, W_EXPOSURE
    qty = round_quantity(min(notional, room) / close, fractional)
    if not qty > 0.0:
        return 0.0, W_TOO_SMALL
    return qty, -1


@njit
def _decide_entries_nb(
    book: _Book, work: _SumWork, market: MarketArrays, signals: SignalArrays, rules: _Rules,
    t: int, equity: float,
) -> None:  # fmt: skip
    f, g, m = book.f, book.g, market
    count = _collect_candidates_nb(book, signals.direction, m.close, t)
    if count == 0:
        return
    slots, committed = _committed_nb(book, work, m.close.shape[1])
    if not _every_entry_blocked_nb(book.state, rules, slots):
        # Otherwise no candidate is accepted and each is only counted: the order changes
        # nothing, so the ranking is skipped (a full book is the common case).
        _rank_nb(g[_G_CANDIDATES], g[_G_SCRATCH], count, signals.score[t])
    for k in range(count):
        i = g[_G_CANDIDATES, k]
        side = signals.direction[t, i]
        g[_G_PENDING_SIDE, i] = side
        reversing = f[_F_QTY, i] != 0.0
        since = t - g[_G_LAST_EXIT, i]
        blocked = _entry_block_nb(book.state, rules, side, reversing, since, slots)
        qty = 0.0
        if blocked < 0:
            qty, blocked = _entry_quantity_nb(
                rules, m.close[t, i], signals.size[t, i], m.atr[t, i], m.realized_vol[t, i],
                m.fractional[i], equity, committed,
            )  # fmt: skip
        if blocked >= 0:
            book.tally[_W + blocked] += 1
            continue
        g[_G_PENDING, i] = _REVERSE if reversing else _ENTRY
        f[_F_PENDING_QTY, i] = qty
        f[_F_PENDING_ATR, i], f[_F_PENDING_ADV, i] = m.atr[t, i], m.adv[t, i]
        g[_G_QUEUE, book.tally[_N_QUEUE]] = i
        book.tally[_N_QUEUE] += 1
        slots += 1
        committed += qty * m.close[t, i]


@njit
def _final_book_nb(book: _Book, n_symbols: int) -> FloatArray:
    # As the reference's ``_Book.final``: stale pending fields are not reported.
    out = np.full((n_symbols, len(BOOK_COLUMNS)), math.nan)
    f, g = book.f, book.g
    for i in range(n_symbols):
        order = g[_G_PENDING, i]
        entering = order in (_ENTRY, _REVERSE)
        out[i, 0] = order
        out[i, 1] = g[_G_PENDING_SIDE, i] if entering else 0
        out[i, 2] = f[_F_PENDING_QTY, i] if entering else 0.0
        if order in (_EXIT, _REVERSE):
            out[i, 3] = g[_G_PENDING_REASON, i]
        out[i, 4], out[i, 5], out[i, 6] = f[_F_STOP, i], f[_F_TARGET, i], f[_F_TRAIL, i]
    return out


@njit
def _simulate_nb(
    market: MarketArrays, signals: SignalArrays, rules: _Rules, ladder: _Ladder
) -> tuple[
    FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, IntArray, FloatArray
]:
    n_times, n_symbols = market.close.shape
    book = _new_book_nb(n_symbols, rules.initial_cash)
    frames = np.zeros((_MAX_FRAMES, 5), dtype=np.int64)
    work = _SumWork(frames, np.zeros(_MAX_FRAMES), np.zeros(_LANES))
    path, positions = np.zeros((3, n_times)), np.zeros((n_times, n_symbols))
    # Per symbol and bar: one fill-phase exit and entry, the ladder and one intrabar exit.
    per_bar = n_symbols * (ladder.scale_r.shape[0] + 3)
    trades = np.empty((max(2 * per_bar, 64), _N_TRADE_COLUMNS))
    fills = np.empty((max(2 * per_bar, 64), _N_FILL_COLUMNS))
    prices = market.close if rules.fill_at_close else market.open
    equity = rules.initial_cash
    for t in range(n_times):
        if t > 0 and market.day[t] != market.day[t - 1]:
            book.state[_DAY_START], book.state[_KILLED], book.state[_CAPPED] = equity, 0.0, 0.0
        trades = _reserve_nb(trades, book.tally[_N_TRADES], per_bar)
        fills = _reserve_nb(fills, book.tally[_N_FILLS], per_bar)
        records = _Records(trades, fills)
        _compact_open_nb(book)
        if not rules.fill_at_close:
            _fill_pending_nb(book, records, rules, t, prices, market.volume, market.fractional)
        _intrabar_nb(book, records, market, rules, ladder, t)
        equity = _mark_nb(book, work, path, positions, market.close, t)
        _after_close_nb(book, rules, t, market.close, market.atr)
        _update_guards_nb(book, rules, t, equity, market.atr, market.adv)
        _decide_exits_nb(book, rules, t, signals, market.atr, market.adv)
        _decide_entries_nb(book, work, market, signals, rules, t, equity)
        if rules.fill_at_close:
            _fill_pending_nb(book, records, rules, t, prices, market.volume, market.fractional)
            equity = _mark_nb(book, work, path, positions, market.close, t)
    trades = _reserve_nb(trades, book.tally[_N_TRADES], n_symbols)
    _compact_open_nb(book)
    for j in range(book.tally[_N_OPEN]):
        i = book.g[_G_OPEN, j]
        qty, price = abs(book.f[_F_QTY, i]), book.f[_F_LAST_PRICE, i]
        _record_trade_nb(book, trades, n_times - 1, i, qty, price, 0.0, 0.0, _OPEN)
    n_trades, n_fills, warnings = book.tally[_N_TRADES], book.tally[_N_FILLS], book.tally[_W:]
    trades, fills = trades[:n_trades].copy(), fills[:n_fills].copy()
    final = _final_book_nb(book, n_symbols)
    return path[0], path[1], path[2], positions, trades, fills, warnings.copy(), final


# -- the public wrapper -------------------------------------------------------------------


def _frozen(array: Any, dtype: type) -> Any:
    # Read-only C-ordered views (a copy only when the layout or dtype differs), so that one
    # compiled specialisation serves every caller.
    view: npt.NDArray[Any] = np.ascontiguousarray(array, dtype=dtype).view()
    view.flags.writeable = False
    return view


def _kernel_inputs(
    market: MarketArrays, signals: SignalArrays, params: EngineParams
) -> tuple[MarketArrays, SignalArrays, _Rules, _Ladder]:
    # The compiled loop does not check bounds: mismatched shapes must fail here.
    shape = market.close.shape
    shapes = {np.shape(a) for a in (*market[:8], *signals)}
    shapes |= {np.shape(market.day) + shape[1:], shape[:1] + np.shape(market.fractional)}
    if shapes != {shape} or len(params.scale_r) != len(params.scale_fraction):
        raise ValueError(f"simulate_kernel: every array must fit the {shape} (time × symbols) grid")
    kinds = {"day": np.int64, "fractional": np.bool_, "direction": np.int8, "exit": np.bool_}
    frozen_market = MarketArrays(
        *(_frozen(a, kinds.get(name, np.float64)) for name, a in market._asdict().items())
    )
    frozen_signals = SignalArrays(
        *(_frozen(a, kinds.get(name, np.float64)) for name, a in signals._asdict().items())
    )
    hints = typing.get_type_hints(EngineParams)
    rules = _Rules(**{name: hints[name](getattr(params, name)) for name in _Rules._fields})
    ladder = _Ladder(*(_frozen(getattr(params, name), np.float64) for name in _Ladder._fields))
    return frozen_market, frozen_signals, rules, ladder


def simulate_kernel(market: MarketArrays, signals: SignalArrays, params: EngineParams) -> SimOutput:
    """Run the compiled simulation; the result equals ``simulate_reference`` exactly.

    Parameters
    ----------
    market
        Prices and derived inputs, each (time × symbols); NaN where a symbol has no bar.
    signals
        Entry direction, exit flag, size multiplier and score per (time, symbol).
    params
        The simulator's rules, as built by ``backtest.inputs.engine_params``.

    Returns
    -------
    SimOutput
        Equity, cash and gross paths, positions after each bar, the trade and fill records
        (columns ``TRADE_COLUMNS`` and ``FILL_COLUMNS``), the warning counts and the book
        after the last bar (``BOOK_COLUMNS``: pending orders and exit levels).
    """
    return SimOutput(*_simulate_nb(*_kernel_inputs(market, signals, params)))
