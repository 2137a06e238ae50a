"""The stream brain's order desk: entry guards, sizing, costs, paper orders and the book.

:class:`Desk` is pass 3's stateful half of :class:`~harvester.live.brain.Brain`: it checks
the daily profit cap, the per-symbol cooldown, the open-position limit and the learning
hooks before a buy, sizes it with ``risk_management``, prices it with the backtest's cost
model (``execution``), places the paper order and keeps the brain's own cash and positions:
in memory, and with a store-backed paper broker also in the store
(:class:`~harvester.live.brain_book.StoredBook`), restored when a consumer restarts.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime
from typing import Any, Literal, Protocol

from harvester.config.models import HarvesterConfig
from harvester.core.errors import BrokerRejection
from harvester.domain.orders import BrokerOrder, OrderRequest, client_order_id
from harvester.live.brain_book import Replay, StoredBook
from harvester.live.brain_state import Book, CostModel, Position, Sizer
from harvester.live.learning.hooks import LearningHooks, NoLearning, Outcome, Snapshot
from harvester.live.ledger import Decision
from harvester.live.paper import PaperFill
from harvester.risk.exits import initial_levels

__all__ = ["SETUP", "Desk", "PaperOrders", "event_day", "order_id"]

logger = logging.getLogger("harvester.live.brain")

_DAY = 86_400.0

SETUP = "consensus_long"
"""The setup name of the brain's entries (conviction and filter rules are kept per setup)."""


class PaperOrders(Protocol):
    """The part of :class:`~harvester.live.paper.PaperBroker` the desk uses."""

    def session(self, day: date, fills: Mapping[str, PaperFill]) -> None:
        """Start ``day`` with the fills the next orders get, by client order id."""

    def submit(self, request: OrderRequest) -> Any:
        """Book ``request`` (idempotent on its client order id)."""


def event_day(now: float) -> date:
    """The UTC date of event time ``now`` (Unix seconds)."""
    return datetime.fromtimestamp(now, UTC).date()


def order_id(event_id: str, symbol: str, now: float, intent: str) -> str:
    """The client order id of ``intent`` (``entry``, ``exit-stop``, ...) decided on an event:
    the same event always gives the same id, so a redelivery never submits twice."""
    return client_order_id(f"s{event_id}", symbol, event_day(now), intent)


class Desk:
    """Entries, exits and the book of the stream brain (see the module docstring)."""

    def __init__(
        self,
        config: HarvesterConfig,
        *,
        broker: PaperOrders | None = None,
        hooks: LearningHooks | None = None,
        stored: StoredBook | None = None,
    ) -> None:
        risk, guards, execution = config.risk_management, config.risk_params, config.execution
        self.costs = CostModel.from_config(execution)
        self.sizer = Sizer.from_config(
            risk, guards.max_position_size, fractional=execution.fractional_shares
        )
        self.max_positions = risk.max_open_positions
        self.profit_cap = guards.daily_profit_cap_pct / 100.0
        self.cooldown = config.brain.cooldown_seconds
        self.broker, self.hooks = broker, hooks or NoLearning()
        self.book = Book(config.initial_capital)
        self.counts: Counter[str] = Counter()
        self.last_price: dict[str, float] = {}
        self.last_order: dict[str, float] = {}
        self.stored = stored
        self.replays: dict[str, dict[str, Replay]] = {}
        self.replay_until = -1
        self.booked_until = -1  # events of earlier days may carry orders booked before
        self._warm_kernels()
        if stored is not None:
            stored.restore(self.book)
            self.booked_until = stored.first_free_day()
            for symbol, position in self.book.positions.items():
                self.last_order[symbol] = position.entered_at
            if self.book.positions:
                logger.info(
                    "restored %d open positions, cash %.2f", len(self.book.positions),
                    self.book.cash,
                )  # fmt: skip

    def _warm_kernels(self) -> None:
        """Load the compiled sizing, cost and exit-level kernels now (pure calls, results
        unused), so the first order does not pay for it in the event loop."""
        qty = self.sizer.quantity(100_000.0, 100.0, 1.0, 1.0)
        self.costs.slippage(100.0, qty, 1.0, 1e6)
        self.costs.fee(100.0, qty)
        initial_levels(1, 100.0, 1.0, self.sizer.stop_atr, self.sizer.target_atr)

    def expect_redelivery(self, recorded: Collection[str]) -> int:
        """After a restart: the recent orders whose client order ids are not in ``recorded``
        (the consumer's ledger) were booked on events that will come back; keep them as
        replays. Return how many."""
        if self.stored is None:
            return 0
        recent, self.replay_until = self.stored.recent()
        self.replays = {}
        for symbol, orders in recent.items():
            pending = {cid: r for cid, r in orders.items() if cid not in recorded}
            if pending:
                self.replays[symbol] = pending
        count = sum(len(r) for r in self.replays.values())
        if count:
            logger.info("%d orders booked on events not yet recorded: replayed", count)
        return count

    def replay(
        self, symbol: str, now: float, event_id: str, intents: tuple[str, ...]
    ) -> Decision | None:
        """The decision booked before a restart on this event (``intents``: the orders it
        could have placed), or None. The restored book already holds its effect."""
        pending = self.replays.get(symbol)
        if pending is None:
            return None
        for intent in intents:
            cid = order_id(event_id, symbol, now, intent)
            found = pending.pop(cid, None)
            if found is None:
                continue
            if not pending:
                del self.replays[symbol]
            self.last_order[symbol] = now
            self.counts[found.side] += 1
            logger.info("%s %s booked before the restart: %s", found.side, symbol, cid)
            return Decision(symbol, found.side, found.reason, cid)
        return None

    def expire_replays(self, day: int) -> None:
        """Forget the replays once event time is past the days they could come back on."""
        if self.replays and day >= self.replay_until:
            self.replays.clear()

    def skip(self, symbol: str, reason: str) -> Decision:
        """A buy not taken, and why."""
        self.counts["skip"] += 1
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("skip buy %s: %s", symbol, reason)
        return Decision(symbol, "skip", reason)

    def buy_block(self, symbol: str, now: float) -> str | None:
        """Why a buy of ``symbol`` may not happen now (daily cap, cooldown, slots), or None."""
        book = self.book
        if self.profit_cap > 0.0:
            pnl = book.equity(self.last_price) - book.day_start_equity
            if pnl >= self.profit_cap * book.day_start_equity:
                return "daily_cap"
        if now < self.last_order.get(symbol, -math.inf) + self.cooldown:
            return "cooldown"
        if len(book.positions) >= self.max_positions:
            return "max_positions"
        return None

    def buy(
        self,
        symbol: str,
        price: float,
        now: float,
        event_id: str,
        context: dict[str, float],
        size: float,
        votes: str,
    ) -> Decision:
        """Try a long entry at ``price`` (``size``: the market filter's factor)."""
        cid = order_id(event_id, symbol, now, "entry")
        booked = self._booked(cid, now)
        if booked is not None:
            return self._adopt_entry(booked, now, context)
        blocked = self.buy_block(symbol, now)
        if blocked is not None:
            return self.skip(symbol, blocked)
        snapshot = Snapshot(symbol, int(now * 1e9), "entry", SETUP, price, context)
        reason = self._hook("block_reason", snapshot)
        if reason is not None:
            return self.skip(symbol, f"learning: {reason}")
        conviction = self._hook("size_multiplier", SETUP)
        multiplier = size * (1.0 if conviction is None else float(conviction))
        atr = context["atr"]
        qty = self.sizer.quantity(self.book.equity(self.last_price), price, multiplier, atr)
        if not qty > 0.0:
            return self.skip(symbol, "size")
        slip = self.costs.slippage(price, qty, atr, context["adv"])
        fill = price + slip
        fee = self.costs.fee(fill, qty)
        if qty * fill + fee > self.book.cash:
            return self.skip(symbol, "cash")
        stop, target = initial_levels(1, fill, atr, self.sizer.stop_atr, self.sizer.target_atr)
        position = Position(symbol, qty, fill, fee, stop, target, now, SETUP, context)
        placed = self._submit(cid, position, PaperFill(qty, fill, fee, slip), now)
        if isinstance(placed, str):
            return self.skip(symbol, placed)
        if placed is not None:  # an unforeseen redelivery: booked before after all
            return self._adopt_entry(placed, now, context)
        self.book.cash -= qty * fill + fee
        self.book.positions[symbol] = position
        self.last_order[symbol] = now
        entry = Snapshot(symbol, snapshot.time_ns, "entry", SETUP, fill, context)
        self._hook("on_entry", entry, stop=stop, target=target)
        self.counts["buy"] += 1
        logger.info("buy %s %g @ %.4f (consensus %s) %s", symbol, qty, fill, votes, cid)
        return Decision(symbol, "buy", f"consensus {votes}", cid)

    def close(
        self,
        position: Position,
        reference: float,
        reason: str,
        now: float,
        event_id: str,
        *,
        atr: float = math.nan,
        adv: float = math.nan,
    ) -> Decision:
        """Sell the whole position: at ``reference`` less slippage, or at the target level
        (a limit: no slippage) when ``reason`` is ``target``."""
        symbol, qty = position.symbol, position.qty
        cid = order_id(event_id, symbol, now, f"exit-{reason}")
        booked = self._booked(cid, now)
        if booked is None:
            slip = 0.0 if reason == "target" else self.costs.slippage(reference, qty, atr, adv)
            fill = reference - slip
            fee = self.costs.fee(fill, qty)
            placed = self._submit(cid, position, PaperFill(qty, fill, fee, slip), now, reason)
            if isinstance(placed, str):
                return self.skip(symbol, placed)
            booked = placed
            if placed is None:
                self.book.cash += qty * fill - fee
        if booked is not None:  # booked before a crash: the restored cash already has it
            fill = booked.filled_avg_price or reference
            fee = self.costs.fee(fill, qty)
            if self.stored is not None:
                self.stored.closed(position, fill, fee, reason, now)
        del self.book.positions[symbol]
        self.last_order[symbol] = now
        pnl = (fill - position.entry_price) * qty - position.entry_fee - fee
        held = now - position.entered_at
        outcome = Outcome(100.0 * pnl / (position.entry_price * qty), reason, held)
        exit_ = Snapshot(
            symbol, int(now * 1e9), "exit", position.setup, fill, position.context, outcome
        )
        self._hook("on_exit", exit_)
        self.counts["sell"] += 1
        logger.info(
            "sell %s %g @ %.4f (%s, %.3f%%) %s", symbol, qty, fill, reason, outcome.pnl_pct, cid
        )
        return Decision(symbol, "sell", reason, cid)

    def _booked(self, cid: str, now: float) -> BrokerOrder | None:
        """The order ``cid`` if the store-backed broker booked it before (a redelivery): only
        events of the days of orders stored before this brain started can carry one."""
        if self.stored is None or now // _DAY >= self.booked_until:
            return None
        return self.stored.booked(cid)

    def _adopt_entry(self, booked: BrokerOrder, now: float, context: dict[str, float]) -> Decision:
        """An entry booked before a crash: reflect it in the book without paying twice."""
        symbol, cid = booked.symbol, booked.client_order_id
        if symbol not in self.book.positions and booked.filled_qty > 0:
            fill = booked.filled_avg_price or context["close"]
            stop, target = initial_levels(
                1, fill, context["atr"], self.sizer.stop_atr, self.sizer.target_atr
            )
            position = Position(
                symbol, booked.filled_qty, fill, self.costs.fee(fill, booked.filled_qty),
                stop, target, now, SETUP, context,
            )  # fmt: skip
            self.book.positions[symbol] = position
            if self.stored is not None:
                self.stored.opened(position)
        self.last_order[symbol] = now
        self.counts["buy"] += 1
        logger.info("buy %s booked before: %s", symbol, cid)
        return Decision(symbol, "buy", "booked", cid)

    def _hook(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call a learning hook; a failing hook is logged and never stops trading (an
        order may already be booked), and counts as "no opinion" (None)."""
        try:
            return getattr(self.hooks, name)(*args, **kwargs)
        except Exception:
            logger.exception("learning hook %s failed", name)
            return None

    def _submit(
        self, cid: str, position: Position, fill: PaperFill, now: float, exit_: str = ""
    ) -> str | BrokerOrder | None:
        """Place the paper order of entering ``position`` (or of its ``exit_`` for that
        reason) when a broker is set; with a stored book, in one transaction with the
        position row and journal writes. The rejection reason; the order if it was booked
        before (nothing written); None when placed now."""
        if self.broker is None:
            return None
        side: Literal["buy", "sell"] = "sell" if exit_ else "buy"
        request = OrderRequest(cid, position.symbol, side, fill.qty)
        try:
            self.broker.session(event_day(now), {cid: fill})
            if self.stored is None:
                self.broker.submit(request)
                return None
            if exit_:
                return self.stored.book_exit(request, position, (fill.price, fill.fee, exit_, now))
            return self.stored.book_entry(request, position)
        except BrokerRejection as error:
            logger.warning("paper order %s rejected: %s", cid, error)
            return f"broker: {error}"[:200]
