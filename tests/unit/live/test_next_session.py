"""The daily step with a real broker: orders for the next open, reconciliation, parity.

The broker is :class:`harvester.testing.brokers.SessionBroker`: it queues the evening's
orders and fills them on the next session's bar, as an exchange would.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import numpy as np
import pandas as pd
import pytest

from harvester.app.daily import holdings, replay, run_daily
from harvester.config.models import HarvesterConfig
from harvester.core.errors import BrokerRejection
from harvester.data.panel import Panel
from harvester.domain.orders import OrderRequest
from harvester.live.next_session import Holding, next_orders, send_next_orders
from harvester.store import Store
from harvester.store.repository import account_fills, account_orders, journal, open_positions
from harvester.testing.brokers import Bar, SessionBroker

DAY = date(2024, 3, 1)
RUN = "live.composer"
SESSIONS = 60
NO_STOPS = {
    "risk_management": {
        "stop_loss_atr": 0,
        "take_profit_atr": 0,
        "trailing_stops": {"enabled": False},
    }
}


def summary(requests: Iterable[OrderRequest]) -> list[tuple[str, str, str, float, float | None]]:
    """(intent, symbol, side, qty, stop price) of each order, the intent read off its id."""
    return [
        (r.client_order_id.split("-")[-1], r.symbol, r.side, r.qty, r.stop_price) for r in requests
    ]


# -- next_orders: hand-made books --------------------------------------------------------


def test_a_kept_position_gets_its_stop_and_no_market_order() -> None:
    # The module docstring's example: 100 held on both sides, stop 184 (the tighter level).
    book = [Holding("AAPL", 100.0, 100.0, "", 184.0)]
    assert summary(next_orders(book, {"AAPL": 100.0}, run=RUN, day=DAY)) == [
        ("stop", "AAPL", "sell", 100.0, 184.0)
    ]


def test_drift_is_repaired_by_a_sync_order_before_the_stop() -> None:
    book = [Holding("AAPL", 100.0, 100.0, "", 184.0)]
    assert summary(next_orders(book, {"AAPL": 60.0}, run=RUN, day=DAY)) == [
        ("sync", "AAPL", "buy", 40.0, None),
        ("stop", "AAPL", "sell", 100.0, 184.0),
    ]


def test_entries_exits_and_reversals() -> None:
    book = [
        Holding("NEW", 0.0, 50.0, "entry", None),  # enters at the open: no stop yet
        Holding("OUT", 30.0, 0.0, "signal", 9.0),  # exits at the open: its stop is not sent
        Holding("FLIP", 20.0, -25.0, "signal", 5.0),  # long 20 to short 25: two orders
        Holding("FLAT", 0.0, 0.0, "", None),
    ]
    held = {"OUT": 30.0, "FLIP": 20.0, "OTHER": 7.0}  # OTHER is not the strategy's
    assert summary(next_orders(book, held, run=RUN, day=DAY)) == [
        ("entry", "NEW", "buy", 50.0, None),
        ("signal", "OUT", "sell", 30.0, None),
        ("signal", "FLIP", "sell", 20.0, None),
        ("entry", "FLIP", "sell", 25.0, None),
    ]


def test_a_short_position_is_protected_by_a_buy_stop() -> None:
    book = [Holding("X", -10.0, -10.0, "", 55.5)]
    assert summary(next_orders(book, {"X": -10.0}, run=RUN, day=DAY)) == [
        ("stop", "X", "buy", 10.0, 55.5)
    ]


# -- the evening with a broker -----------------------------------------------------------


def test_an_evening_stores_before_sending_and_a_rerun_sends_nothing(store: Store) -> None:
    broker = SessionBroker()
    book = [Holding("NEW", 0.0, 50.0, "entry", None)]
    first = send_next_orders(store, broker, book, day=DAY, run=RUN, account="live")
    again = send_next_orders(store, broker, book, day=DAY, run=RUN, account="live")
    assert broker.submitted == 1
    assert [o.client_order_id for o in again.orders] == [o.client_order_id for o in first.orders]
    stored = account_orders(store, account="live")
    assert [(o.symbol, o.side, o.qty, o.status) for o in stored] == [
        ("NEW", "buy", 50.0, "accepted")
    ]


def test_the_next_evening_records_the_fill_at_the_broker_price(store: Store) -> None:
    broker = SessionBroker()
    book = [Holding("NEW", 0.0, 50.0, "entry", None)]
    send_next_orders(store, broker, book, day=DAY, run=RUN, account="live")
    broker.trade_session(date(2024, 3, 4), {"NEW": (12.5, 13.0, 12.0, 12.8)})
    kept = [Holding("NEW", 50.0, 50.0, "", 11.0)]
    evening = send_next_orders(store, broker, kept, day=date(2024, 3, 4), run=RUN, account="live")
    assert [o.filled_avg_price for o in evening.reconciled] == [12.5]
    fills = account_fills(store, account="live")
    assert fills[["symbol", "side", "qty", "price"]].values.tolist() == [["NEW", "buy", 50.0, 12.5]]
    assert evening.drift == ()
    assert summary(broker.requests.values())[-1] == ("stop", "NEW", "sell", 50.0, 11.0)


def test_a_refused_order_is_stored_rejected_and_the_rest_go_on(store: Store) -> None:
    class Refusing(SessionBroker):
        def submit(self, request):  # type: ignore[no-untyped-def]
            if request.symbol == "BAD":
                raise BrokerRejection("not tradable")
            return super().submit(request)

    broker = Refusing()
    book = [Holding("BAD", 0.0, 5.0, "entry", None), Holding("OK", 0.0, 5.0, "entry", None)]
    evening = send_next_orders(store, broker, book, day=DAY, run=RUN, account="live")
    assert [reason for _, reason in evening.rejected] == ["not tradable"]
    assert {o.symbol: o.status for o in account_orders(store, account="live")} == {
        "BAD": "rejected",
        "OK": "accepted",
    }


def test_the_daily_step_refuses_a_real_broker_while_the_market_is_open(
    store: Store, history: Panel
) -> None:
    broker = SessionBroker()
    broker.is_open = True
    with pytest.raises(BrokerRejection, match="the market is open"):
        run_daily(store, broker, history, "composer", HarvesterConfig(),
                  live_start=history.index[-5], account="live")  # fmt: skip


# -- parity: a real broker follows the engine ----------------------------------------------


def bars(history: Panel, day: pd.Timestamp) -> dict[str, Bar]:
    at = history.index.get_loc(day)
    o, h, lo, c = (history.array(f)[at].tolist() for f in ("open", "high", "low", "close"))
    return {s: (o[i], h[i], lo[i], c[i]) for i, s in enumerate(history.symbols)}


def run_evenings(
    store: Store, broker: SessionBroker, history: Panel, config: HarvesterConfig
) -> list[tuple[str, float, float]]:
    start = history.index[-SESSIONS]
    drift: list[tuple[str, float, float]] = []
    for day in history.index[-SESSIONS:]:
        broker.trade_session(day.date(), bars(history, day))
        _, outcome = run_daily(store, broker, history, "composer", config, live_start=start,
                               as_of=day, account="live")  # fmt: skip
        assert outcome.next is not None
        drift += outcome.next.drift
    return drift


def test_a_broker_trading_the_evening_orders_holds_the_engine_positions(
    store: Store, history: Panel
) -> None:
    # Without stops or targets every engine fill is an order at the open: the broker's
    # positions equal the engine's every evening, and it buys and sells at the same opens.
    config = HarvesterConfig.model_validate({**NO_STOPS, "execution": {"slippage_bps": 0}})
    broker = SessionBroker()
    assert run_evenings(store, broker, history, config) == []
    engine = {p.symbol: p.side * p.qty for p in open_positions(store, account="live")}
    assert engine, "the window must end with positions for the test to mean something"
    assert {p.symbol: p.qty for p in broker.positions()} == pytest.approx(engine)
    trades = journal(store, account="live")
    assert len(trades) >= 10
    fills = account_fills(store, account="live")
    days = pd.to_datetime(fills["filled_at"]).dt.tz_localize(None).dt.normalize()
    opens = history.frame("open").stack()  # by (date, symbol)
    at_open = opens.reindex(pd.MultiIndex.from_arrays([days, fills["symbol"]])).to_numpy()
    np.testing.assert_allclose(fills["price"], at_open, rtol=0, atol=0)
    # Every closed trade's entry and exit price is an open the broker also traded at.
    assert set(trades["entry_price"]) <= set(fills["price"])
    assert set(trades["exit_price"]) <= set(fills["price"])


def test_each_stop_sent_is_the_engine_stop_of_the_position(store: Store, history: Panel) -> None:
    broker = SessionBroker()
    config = HarvesterConfig()  # ATR stops, targets and trailing stops on
    start, day = history.index[-SESSIONS], history.index[-1]
    run_evenings(store, broker, history, config)
    rep = replay(history, "composer", config, live_start=start, as_of=day)
    sent = {r.symbol: r.stop_price for r in broker.requests.values()
            if r.type == "stop" and r.client_order_id.endswith(f"{day:%Y%m%d}-stop")}  # fmt: skip
    kept = {h.symbol: h for h in holdings(rep) if h.position and h.target == h.position}
    assert sent and set(sent) == set(kept)
    book = rep.result.book
    for symbol, level in sent.items():
        stop_and_trail = book.loc[symbol, ["stop", "trail"]].to_numpy(dtype=np.float64)
        levels = [float(x) for x in stop_and_trail if np.isfinite(x)]
        assert level == (max(levels) if kept[symbol].position > 0 else min(levels))
