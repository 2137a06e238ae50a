"""The daily step's bookkeeping: turn the engine's fills of one session into orders, submit
them to a broker, and record orders, fills, positions, the journal and the equity snapshot.

The replay that decides *what* to trade lives in :mod:`harvester.app.daily` (it needs the
backtest engine, a sibling of this package). It hands over a :class:`DailyPlan`; this module
carries it out, in an order that a crash at any point and a rerun of the same day leave
consistent:

1. every order is stored (status ``new``) *before* it is sent: ``record_order`` is
   idempotent on ``client_order_id``, so a rerun finds it instead of adding one;
2. the broker is asked to ``submit`` it (brokers are idempotent on the same id; the paper
   broker completes an order a crash left open) and the fill it reports is stored under
   ``broker_fill_id`` = ``<broker>-<client_order_id>`` (a repeat is ignored);
3. closed trades go to the journal (one row per account, strategy, symbol, entry and exit
   date), open positions are *set* to the plan's (upsert the open ones, delete the rest), and
   the day's equity snapshot replaces any earlier one of that day.

Steps 2 and 3 write states, not increments, so doing them twice changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from harvester.core.errors import BrokerRejection
from harvester.domain.orders import BrokerOrder, OrderRequest, OrderSide, client_order_id
from harvester.live.brokers.base import Broker
from harvester.live.next_session import NextSession, record_and_submit, sync_status
from harvester.live.paper import PaperFill, paper_fill_id, session_time
from harvester.store import Store
from harvester.store.repository import (
    EquitySnapshot,
    Position,
    Trade,
    close_position,
    open_positions,
    record_fill,
    record_trade,
    snapshot_equity,
    update_order,
    upsert_position,
)

__all__ = ["DailyOutcome", "DailyPlan", "EngineFill", "PlannedOrder", "execute_plan", "plan_orders"]


@dataclass(frozen=True, slots=True)
class EngineFill:
    """One fill of the engine on the session: ``reason`` is ``entry`` or an exit reason."""

    symbol: str
    side: OrderSide
    qty: float
    price: float
    fee: float
    slippage: float
    reason: str


@dataclass(frozen=True, slots=True)
class PlannedOrder:
    """An order to submit and the engine's fill of it (what the paper broker books)."""

    request: OrderRequest
    fill: PaperFill
    reason: str


@dataclass(frozen=True, slots=True)
class DailyPlan:
    """What the engine did on session ``day``: orders, closed trades, open positions, equity."""

    day: date
    strategy: str
    orders: tuple[PlannedOrder, ...]
    closed: tuple[Trade, ...]
    open: tuple[Position, ...]
    snapshot: EquitySnapshot


@dataclass(frozen=True, slots=True)
class DailyOutcome:
    """What the broker made of the plan: its orders, and the ones it rejected (id, why);
    with a real broker, ``next`` is the evening's reconciliation and orders for the open."""

    plan: DailyPlan
    orders: tuple[BrokerOrder, ...]
    rejected: tuple[tuple[str, str], ...]
    next: NextSession | None = None


def plan_orders(fills: Iterable[EngineFill], *, run: str, day: date) -> tuple[PlannedOrder, ...]:
    """One market order per engine fill, with ``client_order_id(run, symbol, day, intent)``.

    The intent is the fill's reason (``entry``, ``stop``, ``target``, ``scale_out``, ...); a
    second fill of the same symbol and reason that day gets ``-2``, then ``-3``, so ids are
    unique and the same fills always give the same ids.
    """
    seen: Counter[tuple[str, str]] = Counter()
    planned = []
    for fill in fills:
        seen[fill.symbol, fill.reason] += 1
        n = seen[fill.symbol, fill.reason]
        intent = fill.reason if n == 1 else f"{fill.reason}-{n}"
        cid = client_order_id(run, fill.symbol, day, intent)
        request = OrderRequest(cid, fill.symbol, fill.side, fill.qty)
        planned.append(
            PlannedOrder(
                request, PaperFill(fill.qty, fill.price, fill.fee, fill.slippage), fill.reason
            )
        )
    return tuple(planned)


def _submit(
    store: Store, broker: Broker, planned: PlannedOrder, *, day: date, account: str,
    run_id: int | None,
) -> BrokerOrder:  # fmt: skip
    request = planned.request
    stored, order = record_and_submit(
        store, broker, request, day=day, account=account, run_id=run_id
    )
    if order.filled_qty > 0 and order.filled_avg_price is not None:
        share = order.filled_qty / planned.fill.qty if planned.fill.qty else 1.0
        record_fill(
            store, stored.id, qty=order.filled_qty, price=order.filled_avg_price,
            fee=planned.fill.fee * share, filled_at=order.filled_at or session_time(day),
            broker_fill_id=paper_fill_id(broker.name, request.client_order_id),
        )  # fmt: skip
    sync_status(store, stored, order)
    return order


def _set_positions(store: Store, plan: DailyPlan, *, account: str) -> None:
    wanted = {p.symbol: p for p in plan.open}
    for held in open_positions(store, account=account, strategy=plan.strategy):
        if held.symbol not in wanted:
            close_position(store, held.symbol, strategy=plan.strategy, account=account)
    for position in wanted.values():
        upsert_position(store, position)


def execute_plan(
    store: Store,
    broker: Broker,
    plan: DailyPlan,
    *,
    account: str,
    run_id: int | None = None,
) -> DailyOutcome:
    """Submit the plan's orders to ``broker`` and record everything in ``store`` (idempotent:
    running the same plan again adds no order, fill, trade or position)."""
    orders: list[BrokerOrder] = []
    rejected: list[tuple[str, str]] = []
    for planned in plan.orders:
        cid = planned.request.client_order_id
        try:
            orders.append(
                _submit(store, broker, planned, day=plan.day, account=account, run_id=run_id)
            )
        except BrokerRejection as error:
            update_order(store, cid, status="rejected")
            rejected.append((cid, str(error)))
    for trade in plan.closed:
        record_trade(store, trade)
    _set_positions(store, plan, account=account)
    snapshot_equity(store, plan.snapshot)
    return DailyOutcome(plan, tuple(orders), tuple(rejected))
