"""The daily step: replay the engine up to the session and act on its last bar.

For session ``d`` and a simulation that started at ``live_start``:

1. cut the history at ``d`` (it may begin long before ``live_start``: indicator warm-up);
2. generate the strategy's signals on it and compute the engine's inputs (ATR, ADV,
   realised volatility) and trade regimes on it, then keep the rows from ``live_start``;
3. run the same engine as ``harvester backtest`` (:func:`harvester.backtest.engine.run_backtest`)
   over ``live_start .. d``;
4. the engine's fills on bar ``d`` are the session's orders (entries at ``d``'s open decided
   at ``d − 1``'s close, stops / targets / trailing stops hit during ``d``, signal exits);
   its trades that closed on ``d`` go to the journal, its open trades are the positions, its
   equity row at ``d`` is the snapshot (:mod:`harvester.live.daily` records them).

Every strategy is causal and the engine only looks back, so the replay up to ``d`` agrees
with a backtest over a longer period on every bar up to ``d``: running the step day by day
books exactly the trades of one backtest over the whole period (``tests/unit/live/test_parity.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from harvester.backtest._arrays import EngineParams
from harvester.backtest.engine import run_backtest
from harvester.backtest.inputs import market_arrays
from harvester.backtest.result import BacktestResult
from harvester.backtest.trade_regimes import trade_regimes, with_regime_names
from harvester.config.models import HarvesterConfig
from harvester.core.errors import BrokerRejection, ConfigError, DataError
from harvester.data.panel import Panel
from harvester.live.brokers.base import Broker
from harvester.live.daily import DailyOutcome, DailyPlan, EngineFill, execute_plan, plan_orders
from harvester.live.next_session import Holding, send_next_orders
from harvester.live.paper import PaperBroker, session_time
from harvester.store import Store
from harvester.store.repository import EquitySnapshot, Position, Trade, finish_run, record_run
from harvester.strategies.base import Strategy
from harvester.strategies.registry import STRATEGIES
from harvester.strategies.signals import Signals

__all__ = ["Replay", "book_daily", "daily_plan", "holdings", "replay", "run_daily", "run_name"]


@dataclass(frozen=True, slots=True)
class Replay:
    """The engine's run from ``live_start`` to the session, and what it was given."""

    strategy: str
    config: HarvesterConfig
    panel: Panel  # live_start .. session
    signals: Signals  # cut to ``panel``
    details: dict[str, np.ndarray]  # the strategy's explaining arrays, cut to ``panel``
    atr: np.ndarray  # the engine's ATR input, cut to ``panel``
    result: BacktestResult

    @property
    def day(self) -> date:
        return pd.Timestamp(self.panel.index[-1]).date()


def run_name(strategy: str, account: str) -> str:
    """The ``run`` part of the daily step's client order ids."""
    return f"{account}.{strategy}"


def session_on_or_before(history: Panel, as_of: date | str | None) -> pd.Timestamp:
    """The last session of ``history`` on or before ``as_of`` (default: its last session)."""
    if as_of is None:
        return pd.Timestamp(history.index[-1])
    try:
        wanted = pd.Timestamp(as_of)
    except ValueError:
        raise ConfigError(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)") from None
    position = int(history.index.searchsorted(wanted, side="right")) - 1
    if position < 0:
        raise DataError(f"the data starts {history.index[0].date()}, after --as-of {as_of}")
    return pd.Timestamp(history.index[position])


def atr_levels(
    price: Any, side: Any, atr: Any, params: EngineParams
) -> tuple[np.ndarray, np.ndarray]:
    """The engine's initial stop and target: ATR multiples from ``price`` on ``side``
    (NaN where the rule is off); scalars or arrays alike."""
    stop = np.where(params.stop_atr > 0, price - side * params.stop_atr * atr, np.nan)
    target = np.where(params.target_atr > 0, price + side * params.target_atr * atr, np.nan)
    return stop, target


def replay(
    history: Panel,
    strategy: str | Strategy,
    config: HarvesterConfig,
    *,
    live_start: date | str,
    as_of: date | str | None = None,
) -> Replay:
    """Run strategy ``strategy`` (a name, or a strategy object such as the rally strategy
    with saved models) through the engine from ``live_start`` to the session on or before
    ``as_of`` (default: the history's last), with warm-up from the history before."""
    if isinstance(strategy, str) and strategy not in STRATEGIES:
        raise ConfigError(f"unknown strategy {strategy!r}; available: {', '.join(STRATEGIES)}")
    chosen = STRATEGIES[strategy] if isinstance(strategy, str) else strategy
    config = chosen.configure(config)
    session = session_on_or_before(history, as_of)
    cut = history.slice(None, session)
    start = int(cut.index.searchsorted(pd.Timestamp(live_start), side="left"))
    if start >= len(cut.index):
        raise DataError(f"live start {pd.Timestamp(live_start).date()} is after {session.date()}")
    # The engine needs two bars: on the first live session, run it from the session before
    # with no signals there (nothing can fill on it, so the result is the same).
    lead = 1 if start == len(cut.index) - 1 else 0
    if start - lead < 0:
        raise DataError(f"the data has no session before the live start {session.date()}")
    rows = slice(start - lead, len(cut.index))
    output = chosen.generate(cut, config)
    market = market_arrays(cut, config)
    regimes = trade_regimes(cut, config.regimes).iloc[rows]
    panel = cut.slice(cut.index[start - lead], None)
    signals = output.signals.cut(rows)
    if lead:
        signals.direction[0] = 0
        signals.exit[0] = False
    result = with_regime_names(
        run_backtest(panel, signals, config, regimes=regimes, market=market.rows(rows))
    )
    details = {k: np.asarray(v)[rows] for k, v in output.details.items()}
    return Replay(chosen.name, config, panel, signals, details, market.atr[rows], result)


def _engine_fills(result: BacktestResult, day: pd.Timestamp) -> list[EngineFill]:
    today = result.fills[result.fills["time"] == day]
    return [
        EngineFill(
            symbol=str(row["symbol"]),
            side="buy" if row["side"] == "buy" else "sell",
            qty=float(row["qty"]),
            price=float(row["price"]),
            fee=float(row["fee"]),
            slippage=float(row["slippage"]),
            reason=str(row["reason"]),
        )
        for row in today.to_dict("records")
    ]


def _optional(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _trade(
    row: dict[str, Any], strategy: str, account: str, run_id: int | None, exit_seq: int = 0
) -> Trade:
    regime = row.get("regime")
    return Trade(
        symbol=str(row["symbol"]), side=1 if row["side"] == "long" else -1,
        entry_date=pd.Timestamp(row["entry_time"]).date(), entry_price=float(row["entry_price"]),
        exit_date=pd.Timestamp(row["exit_time"]).date(), exit_price=float(row["exit_price"]),
        qty=float(row["qty"]), pnl=float(row["pnl"]), trade_return=float(row["return"]),
        exit_reason=str(row["exit_reason"]), bars_held=int(row["bars_held"]),
        strategy=strategy, account=account,
        regime=None if regime is None or pd.isna(regime) else str(regime),
        mfe=_optional(row["mfe"]), mae=_optional(row["mae"]), run_id=run_id, exit_seq=exit_seq,
    )  # fmt: skip


def _protective_stops(side: Any, stop: Any, trail: Any) -> np.ndarray:
    """The level that exits each position first: its stop or its trailing stop, whichever is
    nearer the price (NaN when neither is set or there is no position); arrays or scalars."""
    side = np.asarray(side, dtype=np.float64)
    nearer = np.where(side > 0, np.fmax(stop, trail), np.fmin(stop, trail))
    return np.where(side != 0, nearer, np.nan)


def _position(rep: Replay, row: Any, strategy: str, account: str) -> Position:
    levels = rep.result.book.loc[str(row.symbol), ["stop", "target", "trail"]]
    stop_level, target_level, trail_level = (float(v) for v in levels.to_numpy(dtype=np.float64))
    side = 1 if row.side == "long" else -1
    stop = _optional(float(_protective_stops(side, stop_level, trail_level)))
    target = _optional(target_level)
    opened = session_time(pd.Timestamp(row.entry_time).date())
    return Position(
        symbol=str(row.symbol), side=side, qty=float(row.qty),
        avg_price=float(row.entry_price), opened_at=opened, stop=stop, target=target,
        strategy=strategy, account=account,
    )  # fmt: skip


def daily_plan(rep: Replay, *, account: str, run_id: int | None = None) -> DailyPlan:
    """The session's orders, closed trades, open positions and equity from a replay."""
    session = pd.Timestamp(rep.panel.index[-1])
    trades = rep.result.trades
    is_open = trades["exit_reason"] == "open"
    closed_today = trades[~is_open & (trades["exit_time"] == session)]
    # A scale-out and the final exit of one position on the same day: 0, 1, ... in the
    # engine's order (the same on every rerun), so the journal keeps both.
    exit_seq = closed_today.groupby(["symbol", "entry_time"], sort=False).cumcount().to_numpy()
    still_open = trades[is_open]
    equity = rep.result.equity.iloc[-1]
    orders = plan_orders(
        _engine_fills(rep.result, session), run=run_name(rep.strategy, account), day=rep.day
    )
    snapshot = EquitySnapshot(
        date=rep.day, equity=float(equity["equity"]), cash=float(equity["cash"]),
        exposure=float(np.nan_to_num(equity["exposure"])),
        unrealised_pnl=float(still_open["pnl"].sum()),
        n_signals=int(np.count_nonzero(rep.signals.direction[-1])),
        n_positions=len(still_open), account=account,
    )  # fmt: skip
    return DailyPlan(
        day=rep.day,
        strategy=rep.strategy,
        orders=orders,
        closed=tuple(
            _trade({str(k): v for k, v in r.items()}, rep.strategy, account, run_id, int(seq))
            for r, seq in zip(closed_today.to_dict("records"), exit_seq, strict=True)
        ),
        open=tuple(
            _position(rep, r, rep.strategy, account) for r in still_open.itertuples(index=False)
        ),
        snapshot=snapshot,
    )


def run_daily(
    store: Store,
    broker: Broker,
    history: Panel,
    strategy: str | Strategy,
    config: HarvesterConfig,
    *,
    live_start: date | str,
    as_of: date | str | None = None,
    account: str = "paper",
) -> tuple[Replay, DailyOutcome]:
    """Replay up to the session, hand the engine's fills to a paper broker, submit and record."""
    _check_account(broker, account)
    rep = replay(history, strategy, config, live_start=live_start, as_of=as_of)
    return rep, book_daily(store, broker, rep, account=account)


def _check_account(broker: Broker, account: str) -> None:
    if isinstance(broker, PaperBroker) and broker.account_name != account:
        raise ConfigError(
            f"the paper broker keeps account {broker.account_name!r}, not {account!r}"
        )


def holdings(rep: Replay) -> tuple[Holding, ...]:
    """The engine's book after the session, per symbol: what a real broker is sent
    (:mod:`harvester.live.next_session`)."""
    book = rep.result.book
    order, position = book["order"].to_numpy(), book["position"].to_numpy(np.float64)
    entering = np.isin(order, ("entry", "reverse"))
    signed = np.where(book["side"] == "long", 1.0, -1.0) * book["qty"].to_numpy(np.float64)
    target = np.where(order == "exit", 0.0, np.where(entering, signed, position))
    intent = np.where(order == "none", "", np.where(order == "entry", "entry", book["exit_reason"]))
    stops = _protective_stops(position, book["stop"], book["trail"])
    return tuple(
        Holding(str(symbol), float(held), float(wanted), str(why), _optional(float(stop)))
        for symbol, held, wanted, why, stop in zip(
            book.index, position, target, intent, stops, strict=True
        )
    )


def book_daily(
    store: Store, broker: Broker, rep: Replay, *, account: str = "paper"
) -> DailyOutcome:
    """Act on a replay's last session and record everything (the second half of
    :func:`run_daily`, for callers that replay themselves, e.g. the scan).

    The paper broker books the session's fills; a real broker, after the close, is sent the
    orders for the next open (:mod:`harvester.live.next_session`). The store records the
    engine's closed trades, positions and equity either way.
    """
    _check_account(broker, account)
    if not isinstance(broker, PaperBroker) and broker.clock().is_open:
        raise BrokerRejection(
            f"the market is open: the daily step sends {broker.name} the orders for the next "
            "open after the close"
        )
    run_id = record_run(store, "daily")
    plan = daily_plan(rep, account=account, run_id=run_id)
    try:
        if isinstance(broker, PaperBroker):
            _paper_session(broker, rep, plan)
            outcome = execute_plan(store, broker, plan, account=account, run_id=run_id)
        else:
            outcome = _with_broker(store, broker, rep, plan, account=account, run_id=run_id)
    except BaseException:
        finish_run(store, run_id, "failed")
        raise
    finish_run(store, run_id, "ok")
    return outcome


def _paper_session(broker: PaperBroker, rep: Replay, plan: DailyPlan) -> None:
    last = rep.panel.frame("close").iloc[-1].dropna()
    marks = {str(symbol): float(price) for symbol, price in last.items()}
    broker.session(plan.day, {o.request.client_order_id: o.fill for o in plan.orders}, marks=marks)


def _with_broker(
    store: Store, broker: Broker, rep: Replay, plan: DailyPlan, *, account: str, run_id: int
) -> DailyOutcome:
    # The session's fills happened at the broker (yesterday's orders, resting stops): record
    # the engine's book, then send what it does at the next open.
    recorded = execute_plan(store, broker, replace(plan, orders=()), account=account)
    sent = send_next_orders(
        store, broker, holdings(rep), day=plan.day, run=run_name(rep.strategy, account),
        account=account, run_id=run_id,
    )  # fmt: skip
    return replace(recorded, orders=sent.orders, rejected=sent.rejected, next=sent)
