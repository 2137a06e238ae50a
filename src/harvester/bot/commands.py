"""The bot's command library: plain functions over a store, no Discord, no LLM.

Every command takes the chat user's id first (its data is isolated by that id) and returns a
:class:`Reply`: markdown text for the chat and ``data`` for tests and the LLM's tool results.
Bad input (a non-positive price or quantity, an unknown ticker, exiting more than is held)
gets ``ok=False`` with a one-line reason and the fix, and changes nothing.

Rules the replies document:

- **Known tickers**: those the latest scan ranked or skipped, the configured ``universe``, and
  (for exits) what the user holds. Before any scan, with no universe, any well-formed ticker
  is accepted.
- **Entry size**: an explicit quantity wins. Otherwise, with the user's capital set, the
  position is ``position_fraction`` (``risk_params.max_position_size``) × the active signal's
  ``size`` multiplier (1 without a signal) of capital, in whole shares. Without capital the
  bot asks for a quantity.
- **Stop and target** come from the latest scan's active signal for the ticker, if any.
- **Exits** are FIFO over the user's open lots; ``fraction`` exits that share of what is held.
- **P&L** (long lots): realised = Σ (exit − entry) × qty over closed lots, in dollars and as a
  percent of their cost; unrealised marks open lots at the latest price (the latest scan's
  close unless a price provider is injected); lots without a price are listed, not guessed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from harvester.app.bot import (
    PAPER_ACCOUNT,
    ActiveSignal,
    LatestScan,
    latest_scan,
    stale_models,
    system_exposure,
)
from harvester.store import Store
from harvester.store.user_trades import (
    Lot,
    add_lot,
    close_fifo,
    closed_lots,
    open_lots,
    set_user_capital,
    user_capital,
)

__all__ = ["HELP", "MAX_HISTORY", "BotCommands", "Reply", "normalise_ticker", "usd"]

TICKER = re.compile(r"^[A-Z^][A-Z0-9.\-=^]{0,14}$")
MAX_HISTORY = 50
HELP = """**Commands** (or just write in plain words when the LLM mode is on)
`enter AAPL at 185.50` · `buy 10 AAPL @185.5` — record a buy (size, stop, target from the signal)
`exit AAPL at 190` · `sell 5 AAPL @190` · `sell half MSFT at 300` — FIFO exit
`capital 25000` — set your capital
`positions` · `pnl` · `history 5` — your book
`signals` · `exposure` · `stale` — the system's signals, paper exposure, stale models"""


@dataclass(frozen=True, slots=True)
class Reply:
    """What a command answers: chat text, success, and structured data."""

    text: str
    ok: bool = True
    data: dict[str, Any] = field(default_factory=dict)


def refuse(text: str) -> Reply:
    return Reply(text, ok=False)


def usd(amount: float, *, signed: bool = False) -> str:
    """``$1,234.50``; with ``signed`` a leading + or −."""
    text = f"${abs(amount):,.2f}"
    if signed:
        return ("+" if amount >= 0 else "-") + text
    return "-" + text if amount < 0 else text


def _pct(value: float) -> str:
    return f"{value:+.2f}%"


def normalise_ticker(text: str) -> str:
    """Upper case without a leading ``$`` (``$aapl`` → ``AAPL``)."""
    return text.strip().lstrip("$").upper()


def _bad_number(name: str, value: float | None) -> str | None:
    if value is None:
        return None
    if not math.isfinite(value) or value <= 0:
        return f"The {name} must be a positive number, not {value:g}."
    return None


class BotCommands:
    """The commands over one store; see the module docstring for the rules."""

    def __init__(
        self,
        store: Store,
        *,
        now: Callable[[], datetime],
        position_fraction: float = 0.1,
        universe: frozenset[str] = frozenset(),
        prices: Callable[[str], float | None] | None = None,
        stale_model_days: float = 14.0,
        account: str = PAPER_ACCOUNT,
    ) -> None:
        self.store = store
        self.now = now
        self.position_fraction = position_fraction
        self.universe = universe
        self.prices = prices
        self.stale_model_days = stale_model_days
        self.account = account

    # ---- checks ---------------------------------------------------------------------------

    def _unknown(self, ticker: str, scan: LatestScan) -> str | None:
        if not TICKER.match(ticker):
            return f"`{ticker}` is not a ticker; write it like AAPL, BRK.B or BTC-USD."
        known = scan.symbols | self.universe
        if known and ticker not in known:
            return (
                f"I don't know {ticker}: it is not in the latest scan or the universe. "
                "Check the spelling (`signals` lists today's)."
            )
        return None

    def _price_of(self, symbol: str, scan: LatestScan) -> float | None:
        return self.prices(symbol) if self.prices is not None else scan.closes.get(symbol)

    # ---- user book ------------------------------------------------------------------------

    def set_capital(self, user: str, amount: float) -> Reply:
        """Set the user's capital in dollars."""
        if (problem := _bad_number("capital", amount)) is not None:
            return refuse(problem + " Try `capital 25000`.")
        set_user_capital(self.store, user, float(amount), now=self.now())
        return Reply(f"Capital set to {usd(amount)}.", data={"capital": float(amount)})

    def _entry_qty(
        self, user: str, price: float, signal: ActiveSignal | None
    ) -> tuple[float | None, str]:
        capital = user_capital(self.store, user)
        if capital is None:
            return None, (
                "How many shares? Say `buy 10 AAPL @185.5`, or set your capital "
                "(`capital 25000`) so I can size it from the signal."
            )
        multiplier = signal.size if signal is not None and signal.size else 1.0
        fraction = min(self.position_fraction * multiplier, 1.0)
        qty = math.floor(capital * fraction / price)
        if qty < 1:
            return None, f"{fraction:.1%} of {usd(capital)} buys no whole share at {usd(price)}."
        return float(qty), f"{fraction:.1%} of your {usd(capital)}"

    def enter(self, user: str, ticker: str, price: float, qty: float | None = None) -> Reply:
        """Record a buy of ``qty`` (or a sized quantity) of ``ticker`` at ``price``."""
        symbol = normalise_ticker(ticker)
        problem = _bad_number("price", price) or _bad_number("quantity", qty)
        scan = latest_scan(self.store)
        problem = problem or self._unknown(symbol, scan)
        if problem is not None:
            return refuse(problem)
        signal = scan.signals.get(symbol)
        sized = ""
        if qty is None:
            qty, sized = self._entry_qty(user, price, signal)
            if qty is None:
                return refuse(sized)
        lot = add_lot(self.store, Lot(user, symbol, float(qty), float(price), self.now(),
                                      stop=signal.stop if signal else None,
                                      target=signal.target if signal else None))  # fmt: skip
        return Reply(_entry_text(lot, sized, signal, scan), data={"lot": lot})

    def exit(
        self,
        user: str,
        ticker: str,
        price: float,
        qty: float | None = None,
        fraction: float | None = None,
    ) -> Reply:
        """Sell ``qty`` (or ``fraction`` of, or all of) the user's ``ticker``, FIFO."""
        symbol = normalise_ticker(ticker)
        problem = _bad_number("price", price) or _bad_number("quantity", qty)
        if problem is not None:
            return refuse(problem)
        held = sum(lot.qty for lot in open_lots(self.store, user, symbol))
        if held <= 0:
            return refuse(f"You hold no {symbol}. `positions` lists what you hold.")
        wanted = qty if qty is not None else held * (fraction if fraction is not None else 1.0)
        if wanted > held + 1e-9 or wanted <= 0:
            return refuse(f"You hold {held:g} {symbol}; you cannot sell {wanted:g}.")
        closed = close_fifo(self.store, user, symbol, qty=wanted, price=price, at=self.now())
        pnl = sum(lot.pnl or 0.0 for lot in closed)
        cost = sum(lot.entry_price * lot.qty for lot in closed)
        left = held - wanted
        text = (f"Exited {wanted:g} {symbol} @ {usd(price)}: {usd(pnl, signed=True)} "
                f"({_pct(100 * pnl / cost)}). " + (f"{left:g} left open." if left > 1e-9
                                                    else "Position closed."))  # fmt: skip
        return Reply(text, data={"closed": closed, "pnl": pnl, "pnl_pct": 100 * pnl / cost})

    def positions(self, user: str) -> Reply:
        """The user's open positions, one line per symbol, marked at the latest price."""
        lots = open_lots(self.store, user)
        if not lots:
            return Reply("You have no open positions.", data={"positions": []})
        scan = latest_scan(self.store)
        rows = [_position_row(sym, group, self._price_of(sym, scan))
                for sym, group in _by_symbol(lots).items()]  # fmt: skip
        lines = [_position_line(row) for row in rows]
        return Reply("**Your positions**\n" + "\n".join(lines), data={"positions": rows})

    def pnl(self, user: str) -> Reply:
        """Realised and unrealised P&L in dollars and percent (see the module docstring)."""
        closed = closed_lots(self.store, user)
        scan = latest_scan(self.store)
        book = _pnl_book(closed, open_lots(self.store, user), lambda s: self._price_of(s, scan))
        capital = user_capital(self.store, user)
        if capital:
            book["capital_pct"] = 100 * book["total"] / capital
        return Reply(_pnl_text(book, capital), data=book)

    def history(self, user: str, n: int = 10) -> Reply:
        """The user's last ``n`` closed lots, newest first."""
        count = max(1, min(int(n), MAX_HISTORY))
        lots = closed_lots(self.store, user, limit=count)
        if not lots:
            return Reply("No closed trades yet.", data={"trades": []})
        lines = [_history_line(lot) for lot in lots]
        return Reply(f"**Last {len(lots)} closed**\n" + "\n".join(lines), data={"trades": lots})

    # ---- system ---------------------------------------------------------------------------

    def signals_today(self) -> Reply:
        """The latest scan's new signals with stop and target."""
        scan = latest_scan(self.store)
        if scan.as_of is None:
            return Reply("No scan yet (run `harvester run scan`).", data={"signals": []})
        if not scan.signals:
            return Reply(f"No new signals in the {scan.as_of} scan.", data={"signals": []})
        ordered = sorted(scan.signals.values(), key=lambda s: -s.score)
        lines = [_signal_line(s, scan.closes.get(s.symbol)) for s in ordered]
        text = f"**Signals of the {scan.as_of} scan**\n" + "\n".join(lines)
        return Reply(text, data={"as_of": scan.as_of, "signals": ordered})

    def exposure(self) -> Reply:
        """The paper account's equity, cash, gross exposure and positions."""
        book = system_exposure(self.store, account=self.account)
        if book.as_of is None or book.equity is None:
            return Reply(f"No snapshot of the {book.account} account yet.", data={"exposure": book})
        pct = book.exposure_pct
        text = (f"**{book.account}** on {book.as_of}: equity {usd(book.equity)}, cash "
                f"{usd(book.cash or 0.0)}, exposure {usd(book.exposure or 0.0)}"
                + (f" ({pct:.1f}% of equity)" if pct is not None else "")
                + f", {len(book.positions)} position(s)")  # fmt: skip
        held = ", ".join(f"{s} {q:g}" for s, q, _ in book.positions)
        return Reply(text + (f": {held}" if held else "."), data={"exposure": book})

    def stale_models(self) -> Reply:
        """Rally models older than the configured limit."""
        stale = stale_models(self.store, now=self.now(), limit_days=self.stale_model_days)
        if not stale:
            return Reply(f"No model is older than {self.stale_model_days:g} days.",
                         data={"stale": []})  # fmt: skip
        lines = ", ".join(f"{s} ({age:.0f} d)" for s, age in stale)
        return Reply(f"{len(stale)} stale model(s) (> {self.stale_model_days:g} days): {lines}",
                     data={"stale": list(stale)})  # fmt: skip

    def help(self) -> Reply:
        return Reply(HELP)


# ---- formatting and arithmetic (pure) --------------------------------------------------------


def _entry_text(lot: Lot, sized: str, signal: ActiveSignal | None, scan: LatestScan) -> str:
    value = lot.qty * lot.entry_price
    text = f"Entered {lot.qty:g} {lot.symbol} @ {usd(lot.entry_price)} = {usd(value)}"
    text += f" ({sized})." if sized else "."
    if signal is None:
        return text + f" No active signal for {lot.symbol} in the latest scan: no stop or target."
    if lot.stop is not None:
        text += f" Stop {usd(lot.stop)} (risk {usd(abs(lot.entry_price - lot.stop) * lot.qty)})"
    if lot.target is not None:
        text += f", target {usd(lot.target)}"
    return text + f" — from the {scan.as_of} scan."


def _by_symbol(lots: list[Lot]) -> dict[str, list[Lot]]:
    grouped: dict[str, list[Lot]] = {}
    for lot in lots:
        grouped.setdefault(lot.symbol, []).append(lot)
    return grouped


def _position_row(symbol: str, lots: list[Lot], price: float | None) -> dict[str, Any]:
    qty = sum(lot.qty for lot in lots)
    cost = sum(lot.qty * lot.entry_price for lot in lots)
    unreal = None if price is None else price * qty - cost
    return {"symbol": symbol, "qty": qty, "avg_price": cost / qty, "last": price,
            "unrealised": unreal, "unrealised_pct": None if unreal is None else 100 * unreal / cost,
            "stop": lots[0].stop, "target": lots[0].target, "lots": len(lots)}  # fmt: skip


def _position_line(row: dict[str, Any]) -> str:
    line = f"{row['symbol']}: {row['qty']:g} @ {usd(row['avg_price'])}"
    if row["last"] is not None:
        line += (f", last {usd(row['last'])}, {usd(row['unrealised'], signed=True)} "
                 f"({_pct(row['unrealised_pct'])})")  # fmt: skip
    else:
        line += ", no recent price"
    if row["stop"] is not None or row["target"] is not None:
        stop, target = row["stop"], row["target"]
        line += f" · stop {usd(stop) if stop else '—'} target {usd(target) if target else '—'}"
    return line


def _pnl_book(
    closed: list[Lot], held: list[Lot], price_of: Callable[[str], float | None]
) -> dict[str, Any]:
    realised = sum(lot.pnl or 0.0 for lot in closed)
    closed_cost = sum(lot.qty * lot.entry_price for lot in closed)
    prices = {sym: price_of(sym) for sym in {lot.symbol for lot in held}}
    priced = [lot for lot in held if prices[lot.symbol] is not None]
    unreal = sum(
        (prices[lot.symbol] or 0.0) * lot.qty - lot.qty * lot.entry_price for lot in priced
    )
    open_cost = sum(lot.qty * lot.entry_price for lot in priced)
    wins = sum(1 for lot in closed if (lot.pnl or 0.0) > 0)
    return {
        "realised": realised, "realised_pct": 100 * realised / closed_cost if closed_cost else 0.0,
        "unrealised": unreal, "unrealised_pct": 100 * unreal / open_cost if open_cost else 0.0,
        "total": realised + unreal, "closed": len(closed), "wins": wins,
        "unpriced": sorted(s for s, p in prices.items() if p is None),
    }  # fmt: skip


def _pnl_text(book: dict[str, Any], capital: float | None) -> str:
    lines = [
        f"Realised: {usd(book['realised'], signed=True)} ({_pct(book['realised_pct'])}) over "
        f"{book['closed']} closed lot(s), {book['wins']} winning",
        f"Unrealised: {usd(book['unrealised'], signed=True)} ({_pct(book['unrealised_pct'])})",
        f"Total: {usd(book['total'], signed=True)}"
        + (f" = {_pct(book['capital_pct'])} of your {usd(capital)}" if capital else ""),
    ]
    if book["unpriced"]:
        lines.append("No recent price for " + ", ".join(book["unpriced"]) + " (not marked).")
    return "**Your P&L**\n" + "\n".join(lines)


def _history_line(lot: Lot) -> str:
    pnl = lot.pnl or 0.0
    pct = 100 * pnl / (lot.qty * lot.entry_price)
    exited = lot.exited_at.date() if lot.exited_at else "?"
    return (f"{exited} {lot.symbol} {lot.qty:g}: {usd(lot.entry_price)} → "
            f"{usd(lot.exit_price or 0.0)} {usd(pnl, signed=True)} ({_pct(pct)})")  # fmt: skip


def _signal_line(signal: ActiveSignal, close: float | None) -> str:
    side = "long" if signal.direction >= 0 else "short"
    parts = [f"{signal.symbol} {side} score {signal.score:.2f}"]
    if close is not None:
        parts.append(f"close {usd(close)}")
    if signal.stop is not None:
        parts.append(f"stop {usd(signal.stop)}")
    if signal.target is not None:
        parts.append(f"target {usd(signal.target)}")
    if signal.size is not None:
        parts.append(f"size ×{signal.size:.2f}")
    return " · ".join(parts)
