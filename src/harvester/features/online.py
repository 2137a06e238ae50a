"""Online (per-event) versions of the indicators the event consumer needs, for many symbols.

:class:`OnlineIndicators` keeps one small state per symbol slot and updates it in O(1) per
bar or trade: Wilder RSI, MACD (line, signal, histogram), Wilder ATR, the price z-score,
the rolling VWAP, the rolling mean volume and volume ratio (bars), and the order-flow
imbalance OFI (trades). After every update the values equal the batch features of
:data:`harvester.features.FEATURES` on the same bars (``rsi``, ``macd``/``macd_signal``/
``macd_hist``, ``atr``, ``zscore``, ``vwap``, ``volume_ratio``, and
:func:`~harvester.features.microstructure.order_flow_imbalance`) to 1e-9: the recursive
averages repeat the batch arithmetic exactly (same seed, same order of operations), and the
rolling windows keep compensated running sums that are rebuilt exactly from their window
every ``window`` updates, so rounding cannot drift.

Values are NaN until their warm-up is complete, as in the batch features. The state of a
symbol is a plain Python object with ``__slots__`` (measured faster per update in CPython
than scalar reads and writes into NumPy arrays by slot, and than a call into numba per
event); :meth:`OnlineIndicators.drop` frees a symbol's slot, so memory follows the active
symbol set.

Examples
--------
>>> online = OnlineIndicators(OnlineParams(rsi_period=2))
>>> for close in (10.0, 11.0, 10.5, 11.5):
...     values = online.update_bar("AAA", high=close, low=close, close=close, volume=100.0)
>>> round(values.rsi, 6)
85.714286
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from harvester.features._common import check_period

__all__ = ["OnlineIndicators", "OnlineParams", "SymbolIndicators"]

NAN = math.nan


@dataclass(frozen=True, slots=True)
class OnlineParams:
    """Periods of the online indicators (the batch features' defaults)."""

    rsi_period: int = 14
    macd_fast: int = 12
    macd_slow: int = 26
    macd_signal: int = 9
    atr_period: int = 14
    zscore_period: int = 20
    vwap_period: int = 20
    volume_period: int = 20
    ofi_window: int = 50

    def __post_init__(self) -> None:
        for name in ("rsi_period", "macd_fast", "macd_signal", "atr_period", "ofi_window"):
            check_period(getattr(self, name), name=name)
        for name in ("zscore_period", "vwap_period", "volume_period"):
            check_period(getattr(self, name), name=name, minimum=2)
        check_period(self.macd_slow, name="macd_slow", minimum=self.macd_fast + 1)


class _Ewm:
    """The batch ``ewm_nb`` recursion for one symbol: SMA seed, then ``s += a * (v - s)``."""

    __slots__ = ("alpha", "seed_count", "seen", "skip", "state", "value")

    def __init__(self, alpha: float, seed_count: int, skip: int = 0) -> None:
        self.alpha, self.seed_count, self.skip = alpha, seed_count, skip
        self.seen, self.state, self.value = 0, 0.0, NAN

    def push(self, x: float) -> float:
        self.seen += 1
        k = self.seen - self.skip
        if k <= 0:
            return NAN
        if k < self.seed_count:
            self.state += x
            return NAN
        if k == self.seed_count:
            self.state = (self.state + x) / self.seed_count
        else:
            self.state += self.alpha * (x - self.state)
        self.value = self.state
        return self.state


class _Window:
    """A rolling sum of the last ``size`` values (Neumaier-compensated, rebuilt exactly)."""

    __slots__ = ("buffer", "carry", "full", "since_rebuild", "size", "total")

    def __init__(self, size: int) -> None:
        self.size = size
        self.buffer: deque[float] = deque(maxlen=size)
        self.total = self.carry = 0.0
        self.since_rebuild = 0
        self.full = False

    def push(self, x: float) -> float:
        """Add ``x`` and return the sum of the window (NaN until it is full)."""
        # The hot path of the stream: locals and conditional expressions instead of abs()
        # (same comparisons, so the same sums bit for bit).
        buffer, total, carry, full = self.buffer, self.total, self.carry, self.full
        if full:
            old = -buffer[0]
            moved = total + old
            if (total if total >= 0.0 else -total) >= (old if old >= 0.0 else -old):
                carry += (total - moved) + old
            else:
                carry += (old - moved) + total
            total = moved
        buffer.append(x)
        moved = total + x
        if (total if total >= 0.0 else -total) >= (x if x >= 0.0 else -x):
            carry += (total - moved) + x
        else:
            carry += (x - moved) + total
        since = self.since_rebuild + 1
        if since >= self.size:
            moved, carry, since = math.fsum(buffer), 0.0, 0
        self.total, self.carry, self.since_rebuild = moved, carry, since
        if not full:
            full = self.full = len(buffer) == self.size
        return moved + carry if full else NAN


class _PairWindow:
    """Two :class:`_Window` sums of the same size fed together (VWAP's value and volume,
    OFI's net and total): one call per update, the same arithmetic per sum bit for bit."""

    __slots__ = ("carry_x", "carry_y", "full", "since_rebuild", "size", "total_x", "total_y",
                 "xs", "ys")  # fmt: skip

    def __init__(self, size: int) -> None:
        self.size = size
        self.xs: deque[float] = deque(maxlen=size)
        self.ys: deque[float] = deque(maxlen=size)
        self.total_x = self.carry_x = self.total_y = self.carry_y = 0.0
        self.since_rebuild = 0
        self.full = False

    def push(self, x: float, y: float) -> tuple[float, float]:
        """Add ``x`` and ``y``; return the two window sums (NaN until the window is full)."""
        # _Window.push twice, inlined (the comments there apply).
        xs, ys, full = self.xs, self.ys, self.full
        tx, cx, ty, cy = self.total_x, self.carry_x, self.total_y, self.carry_y
        if full:
            old = -xs[0]
            moved = tx + old
            if (tx if tx >= 0.0 else -tx) >= (old if old >= 0.0 else -old):
                cx += (tx - moved) + old
            else:
                cx += (old - moved) + tx
            tx = moved
            old = -ys[0]
            moved = ty + old
            if (ty if ty >= 0.0 else -ty) >= (old if old >= 0.0 else -old):
                cy += (ty - moved) + old
            else:
                cy += (old - moved) + ty
            ty = moved
        xs.append(x)
        ys.append(y)
        moved = tx + x
        if (tx if tx >= 0.0 else -tx) >= (x if x >= 0.0 else -x):
            cx += (tx - moved) + x
        else:
            cx += (x - moved) + tx
        tx = moved
        moved = ty + y
        if (ty if ty >= 0.0 else -ty) >= (y if y >= 0.0 else -y):
            cy += (ty - moved) + y
        else:
            cy += (y - moved) + ty
        ty = moved
        since = self.since_rebuild + 1
        if since >= self.size:
            tx, cx, ty, cy, since = math.fsum(xs), 0.0, math.fsum(ys), 0.0, 0
        self.total_x, self.carry_x, self.total_y, self.carry_y = tx, cx, ty, cy
        self.since_rebuild = since
        if not full:
            full = self.full = len(xs) == self.size
        return (tx + cx, ty + cy) if full else (NAN, NAN)


class _ZWindow:
    """The z-score of the newest of the last ``size`` values (population std).

    Keeps sums of offsets from a reference value that moves to the newest value every
    ``size`` updates (the sums are then rebuilt exactly), so the variance never comes from
    subtracting two large numbers.
    """

    __slots__ = ("offsets", "ref", "since_rebase", "size", "squares", "total")

    def __init__(self, size: int) -> None:
        self.size = size
        self.offsets: deque[float] = deque(maxlen=size)
        self.ref, self.total, self.squares, self.since_rebase = NAN, 0.0, 0.0, 0

    def push(self, x: float) -> float:
        """Add ``x`` and return its z-score in the window (NaN until the window is full)."""
        if self.ref != self.ref:
            self.ref = x
        offsets = self.offsets
        if len(offsets) == self.size:
            old = offsets[0]
            self.total -= old
            self.squares -= old * old
        offset = x - self.ref
        offsets.append(offset)
        self.total += offset
        self.squares += offset * offset
        self.since_rebase += 1
        if self.since_rebase >= self.size:
            self._rebase(offset)
            offset = 0.0
        if len(offsets) < self.size:
            return NAN
        mean = self.total / self.size
        variance = self.squares / self.size - mean * mean
        return (offset - mean) / math.sqrt(variance) if variance > 0.0 else 0.0

    def _rebase(self, shift: float) -> None:
        self.ref += shift
        moved = [value - shift for value in self.offsets]
        self.offsets.clear()
        self.offsets.extend(moved)
        self.total = math.fsum(moved)
        self.squares = math.fsum(value * value for value in moved)
        self.since_rebase = 0


class SymbolIndicators:
    """The online state and latest indicator values of one symbol (read the attributes)."""

    __slots__ = (
        "_atr",
        "_gains",
        "_losses",
        "_macd_fast",
        "_macd_signal",
        "_macd_slow",
        "_ofi",
        "_prev_close",
        "_prev_price",
        "_tick",
        "_volume",
        "_vwap",
        "_z_flat_run",
        "_z_window",
        "atr",
        "macd",
        "macd_hist",
        "macd_signal",
        "ofi",
        "rsi",
        "volume_mean",
        "volume_ratio",
        "vwap",
        "zscore",
    )

    def __init__(self, p: OnlineParams) -> None:
        self._gains = _Ewm(1.0 / p.rsi_period, p.rsi_period)
        self._losses = _Ewm(1.0 / p.rsi_period, p.rsi_period)
        self._macd_fast = _Ewm(2.0 / (p.macd_fast + 1), p.macd_fast, p.macd_slow - p.macd_fast)
        self._macd_slow = _Ewm(2.0 / (p.macd_slow + 1), p.macd_slow)
        self._macd_signal = _Ewm(2.0 / (p.macd_signal + 1), p.macd_signal)
        self._atr = _Ewm(1.0 / p.atr_period, p.atr_period, 1)
        self._z_window, self._z_flat_run = _ZWindow(p.zscore_period), 0
        self._vwap = _PairWindow(p.vwap_period)  # value and volume
        # The mean volume's window, None when it is the VWAP's volume window (same size).
        self._volume = None if p.volume_period == p.vwap_period else _Window(p.volume_period)
        self._ofi = _PairWindow(p.ofi_window)  # net and total size
        self._prev_close = self._prev_price = NAN
        self._tick = 0.0
        self.rsi = self.macd = self.macd_signal = self.macd_hist = self.atr = NAN
        self.zscore = self.vwap = self.volume_mean = self.volume_ratio = self.ofi = NAN

    def update_bar(self, high: float, low: float, close: float, volume: float) -> None:
        """Advance every bar indicator by one bar."""
        # One frame per bar (the per-indicator steps inlined): this runs on every bar.
        previous = self._prev_close
        self._prev_close = close
        change = close - previous
        if change == change:  # RSI
            gains = self._gains.push(change if change > 0.0 else 0.0)
            losses = self._losses.push(-change if change < 0.0 else 0.0)
            if gains == gains:
                total = gains + losses
                self.rsi = 100.0 * gains / total if total != 0.0 else 50.0
        line = self._macd_fast.push(close) - self._macd_slow.push(close)
        if line == line:
            self.macd = line
            signal = self.macd_signal = self._macd_signal.push(line)
            self.macd_hist = line - signal
        if previous == previous:
            wide = max(high - low, abs(high - previous), abs(low - previous))
            self.atr = self._atr.push(wide)
        else:
            self.atr = self._atr.push(high - low)
        self._z_flat_run = flat = self._z_flat_run + 1 if close == previous else 1
        z = self._z_window.push(close)
        if z == z:
            self.zscore = 0.0 if flat >= self._z_window.size else z
        value, traded = self._vwap.push((high + low + close) / 3.0 * volume, volume)
        self.vwap = value / traded if traded != 0.0 else NAN
        window = self._volume
        if window is None:
            mean = self.volume_mean = traded / self._vwap.size
        else:
            mean = self.volume_mean = window.push(volume) / window.size
        self.volume_ratio = volume / mean if mean != 0.0 else NAN

    def update_trade(
        self, price: float, size: float, bid: float | None = None, ask: float | None = None
    ) -> None:
        """Advance the order-flow imbalance by one print (side from the quote, else tick rule)."""
        change = price - self._prev_price
        self._prev_price = price
        if change > 0.0:
            self._tick = 1.0
        elif change < 0.0:
            self._tick = -1.0
        side = self._tick
        if bid is not None and price <= bid:
            side = -1.0
        if ask is not None and price >= ask:
            side = 1.0
        net, total = self._ofi.push(side * size, size)
        if total == total and total != 0.0:
            self.ofi = min(1.0, max(-1.0, net / total))
        else:
            self.ofi = NAN


class OnlineIndicators:
    """Online indicators for many symbols: one slot of state per symbol, O(1) per update."""

    def __init__(self, params: OnlineParams | None = None) -> None:
        self.params = OnlineParams() if params is None else params
        self._symbols: dict[str, SymbolIndicators] = {}

    def __len__(self) -> int:
        return len(self._symbols)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._symbols

    def get(self, symbol: str) -> SymbolIndicators:
        """Return the state of ``symbol``, creating an empty one on first use."""
        state = self._symbols.get(symbol)
        if state is None:
            state = self._symbols[symbol] = SymbolIndicators(self.params)
        return state

    def update_bar(
        self, symbol: str, *, high: float, low: float, close: float, volume: float
    ) -> SymbolIndicators:
        """Advance ``symbol`` by one bar and return its state (the latest values)."""
        state = self.get(symbol)
        state.update_bar(high, low, close, volume)
        return state

    def update_trade(
        self,
        symbol: str,
        *,
        price: float,
        size: float,
        bid: float | None = None,
        ask: float | None = None,
    ) -> SymbolIndicators:
        """Advance ``symbol``'s order-flow imbalance by one print and return its state."""
        state = self.get(symbol)
        state.update_trade(price, size, bid, ask)
        return state

    def drop(self, symbol: str) -> None:
        """Forget ``symbol`` (its next update starts a fresh warm-up)."""
        self._symbols.pop(symbol, None)

    def keep_only(self, symbols: set[str]) -> None:
        """Forget every symbol not in ``symbols`` (bounded memory as the active set changes)."""
        for symbol in [s for s in self._symbols if s not in symbols]:
            del self._symbols[symbol]
