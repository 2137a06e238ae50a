"""The stream decision loop: the consensus rules of the daily strategy, decided per event.

:class:`Brain` is a consumer's decision function (``brain(event) -> list[Decision]``) with a
batch entry point :meth:`Brain.decide_batch` that works in three passes over a batch:

1. **observe** (event order): the active-symbol pool and the benchmark's below-200-day flag
   are refreshed on event time; bars of active symbols advance the online indicators and
   the momentum history, trades the order-flow imbalance, news the VADER sentiment; every
   bar of an active symbol is a *decision point* whose rule inputs are recorded as a row;
2. **decide**: :meth:`~harvester.strategies.rules.BrainRules.decide` runs once over all rows
   (the rules are stateless and element-wise, so this equals deciding row by row);
3. **act** (event order): positions, ATR stop/target on trade prices, sell-consensus exits,
   the order cooldown, the daily profit cap, the learning hooks and paper orders.

Nothing in pass 1 depends on pass 3, so a batch of 500 decides exactly as 500 batches of
one. Rule inputs mean what they mean in :mod:`harvester.strategies.consensus`: RSI score
``(50 − RSI)/50``, MACD score ``tanh(histogram/ATR)``, momentum ``close/close[−lookback] − 1``
over the symbol's bars, z-score and ``close/VWAP − 1``; chart patterns need a price history
the stream does not keep and abstain. Sentiment is the mean VADER score of the symbol's news
(headline + summary) of the last ``brain.sentiment_hours``.

With a store-backed :class:`~harvester.live.paper.PaperBroker` the book is durable
(:mod:`harvester.live.brain_book`): a restarted brain resumes with the positions and cash it
had, and reports the orders it booked on events that come back unacknowledged instead of
deciding them anew. See ``docs/consume.md``.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, deque
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from harvester.config.models import HarvesterConfig
from harvester.domain.events import Bar, Event, News, Trade
from harvester.features.online import OnlineIndicators, OnlineParams
from harvester.live.brain_book import StoredBook
from harvester.live.brain_orders import SETUP, Desk, PaperOrders
from harvester.live.brain_state import ActiveWatch, BenchmarkFilter, NewsMemory, Position
from harvester.live.learning.hooks import LearningHooks
from harvester.live.ledger import Decision
from harvester.live.paper import PaperBroker
from harvester.strategies.consensus import brain_rules
from harvester.strategies.rules import SOURCES, BrainDecision, BrainInputs

if TYPE_CHECKING:
    from harvester.features.sentiment import SentimentScorer

__all__ = ["SETUP", "Brain"]

logger = logging.getLogger(__name__)

NAN = math.nan
_DAY = 86_400.0
_BAR_INTENTS = ("entry", "exit-signal")
_TRADE_INTENTS = ("exit-stop", "exit-target")
_ROW_FIELDS = (
    "sentiment", "momentum", "rsi_score", "macd_score", "zscore", "vwap_extension",
    "atr", "close", "adv", "ofi", "volume_ratio",
)  # fmt: skip


class _Rows:
    """The decision points of one batch: event index and rule inputs (one tuple per row,
    fields in :data:`_ROW_FIELDS` order; turned into columns once, in pass 2)."""

    __slots__ = ("below", "event", "values")

    def __init__(self) -> None:
        self.event: list[int] = []
        self.below: list[bool] = []
        self.values: list[tuple[float, ...]] = []

    def columns(self) -> np.ndarray:
        """The rule inputs as a ``(field, row)`` array (each field's row contiguous)."""
        matrix = np.array(self.values, dtype=np.float64).reshape(-1, len(_ROW_FIELDS))
        return np.ascontiguousarray(matrix.T)


class _Plan:
    """Pass 2's verdicts for pass 3: the row of each decision point's event, and per row
    (as Python bools) whether the rules say exit (when held) or buy (when flat)."""

    __slots__ = ("decided", "enter", "leave", "row_of", "rows")

    def __init__(self, rows: _Rows, decided: BrainDecision | None) -> None:
        self.rows, self.decided = rows, decided
        self.row_of = {event: r for r, event in enumerate(rows.event)}
        self.leave: list[bool] = []
        self.enter: list[bool] = []
        if decided is not None:
            self.leave = (decided.exit | (decided.direction < 0)).tolist()
            self.enter = (decided.direction > 0).tolist()


class Brain:
    """The Python brain on a stream of events (see the module docstring)."""

    def __init__(
        self,
        config: HarvesterConfig,
        *,
        broker: PaperOrders | None = None,
        hooks: LearningHooks | None = None,
        scorer: SentimentScorer | None = None,
    ) -> None:
        p, risk, settings = config.strategies.consensus, config.risk_management, config.brain
        self.params, self.settings = p, settings
        self.rules = brain_rules(p, allow_short=False)  # the stream trades long only
        self.indicators = OnlineIndicators(
            OnlineParams(
                rsi_period=p.rsi_period, atr_period=risk.atr_period,
                zscore_period=p.zscore_period, vwap_period=max(2, p.vwap_lookback),
                volume_period=max(2, config.execution.adv_bars),
            )
        )  # fmt: skip
        stored = StoredBook(broker, SETUP) if isinstance(broker, PaperBroker) else None
        self.desk = Desk(config, broker=broker, hooks=hooks, stored=stored)
        self._scorer = scorer
        path = settings.active_symbols_file
        self.active = ActiveWatch(
            None if path is None else Path(path), settings.active_check_seconds
        )
        self.benchmark = BenchmarkFilter(
            config.regimes.market_filter_period, settings.spy_refresh_minutes * 60.0
        )
        self.news = NewsMemory(settings.sentiment_hours * 3600.0)
        self._closes: dict[str, deque[float]] = {}
        self._acting_active: frozenset[str] | None = None

    # ---- the Handler interface ----------------------------------------------------------

    def __call__(self, event: Event) -> list[Decision]:
        """Decide one event (a batch of one)."""
        return self.decide_batch([event])[0]

    def decide_batch(
        self, events: Sequence[Event], ids: Sequence[str] | None = None
    ) -> list[list[Decision]]:
        """Decide ``events`` in order; one list of decisions per event.

        ``ids`` are the consumer's event ids (ledger ids), used for client order ids when
        an event carries no ``id`` of its own.
        """
        times: list[float] = []
        rows, changes = self._observe(events, times)
        decided = self._decide(rows) if rows.event else None
        return self._act(events, ids, times, rows, decided, changes)

    @property
    def counts(self) -> Counter[str]:
        """Decisions so far by action: ``buy``, ``sell``, ``skip`` (a buy not taken), ``hold``."""
        return self.desk.counts

    def cache_sizes(self) -> dict[str, int]:
        """Symbols held by each symbol-keyed cache (for memory checks)."""
        return {
            "indicators": len(self.indicators), "momentum": len(self._closes),
            "news": len(self.news), "last_price": len(self.desk.last_price),
            "cooldown": len(self.desk.last_order), "positions": len(self.desk.book.positions),
        }  # fmt: skip

    # ---- pass 1: observe ----------------------------------------------------------------

    def _observe(
        self, events: Sequence[Event], times: list[float]
    ) -> tuple[_Rows, dict[int, frozenset[str]]]:
        rows, changes = _Rows(), {}
        benchmark, watch, indicators = self.benchmark, self.active, self.indicators
        watching = watch.path is not None
        active = watch.symbols
        add_time = times.append
        for i, event in enumerate(events):
            now = event.ts.timestamp()
            add_time(now)
            if watching and watch.poll(now):
                changes[i] = self._prune_inputs()
                active = watch.symbols
            if now >= benchmark.next_refresh:
                benchmark.refresh(now)
            kind = type(event)
            if kind is Bar:
                self._observe_bar(i, event, now, rows, active)  # type: ignore[arg-type]
            elif kind is Trade:
                trade: Trade = event  # type: ignore[assignment]
                if active is None or trade.symbol in active:
                    indicators.get(trade.symbol).update_trade(
                        trade.price, trade.size, trade.bid, trade.ask
                    )
            elif kind is News:
                self._observe_news(event, now)  # type: ignore[arg-type]
        return rows, changes

    def _is_active(self, symbol: str) -> bool:
        active = self.active.symbols
        return active is None or symbol in active

    def _prune_inputs(self) -> frozenset[str]:
        active = self.active.symbols or frozenset()
        self.indicators.keep_only(set(active))
        self.news.keep_only(active)
        for symbol in [s for s in self._closes if s not in active]:
            del self._closes[symbol]
        return active

    def _observe_bar(
        self, i: int, bar: Bar, now: float, rows: _Rows, active: frozenset[str] | None
    ) -> None:
        symbol, close = bar.symbol, bar.close
        if symbol == self.settings.benchmark:
            self.benchmark.update(int(now // _DAY), close)
        if active is not None and symbol not in active:
            return
        state = self.indicators.get(symbol)
        state.update_bar(bar.high, bar.low, close, bar.volume)
        history = self._closes.get(symbol)
        if history is None:
            history = self._closes[symbol] = deque(maxlen=self.params.momentum_lookback + 1)
        history.append(close)
        p = self.params
        technical = p.use_technical_indicators
        atr, hist, vwap = state.atr, state.macd_hist, state.vwap
        macd = NAN
        if technical and p.use_macd and hist == hist and atr == atr:
            macd = math.tanh(hist / atr) if atr != 0.0 else 0.0
        rows.event.append(i)
        rows.below.append(self.benchmark.below)
        use_vwap = p.use_vwap_anchor and vwap == vwap and vwap != 0.0
        rows.values.append(
            (
                self.news.sentiment(symbol, now),
                close / history[0] - 1.0 if len(history) == history.maxlen else NAN,
                (50.0 - state.rsi) / 50.0 if technical else NAN,
                macd,
                state.zscore if p.use_zscore_mean_reversion else NAN,
                close / vwap - 1.0 if use_vwap else NAN,
                atr, close, state.volume_mean, state.ofi, state.volume_ratio,
            )
        )  # fmt: skip

    def _observe_news(self, news: News, now: float) -> None:
        symbols = [s for s in news.symbols if self._is_active(s)]
        if not symbols:
            return
        text = " ".join(t.strip() for t in (news.headline, news.summary) if t.strip())
        score = float(self._sentiment_scorer().score([text])[0])
        if score == score:
            for symbol in symbols:
                self.news.add(symbol, now, score)

    def _sentiment_scorer(self) -> SentimentScorer:
        if self._scorer is None:
            from harvester.features.sentiment import VaderScorer

            self._scorer = VaderScorer()
        return self._scorer

    # ---- pass 2: decide -----------------------------------------------------------------

    def _decide(self, rows: _Rows) -> BrainDecision:
        zero = np.zeros(len(rows.event))  # chart patterns abstain in the stream
        sentiment, momentum, rsi, macd, zscore, vwap = rows.columns()[:6]
        return self.rules.decide(
            BrainInputs(
                sentiment, momentum, rsi, macd, zero, zero, zscore, vwap,
                np.asarray(rows.below, dtype=bool),
            )
        )  # fmt: skip

    # ---- pass 3: act --------------------------------------------------------------------

    def _act(
        self,
        events: Sequence[Event],
        ids: Sequence[str] | None,
        times: list[float],
        rows: _Rows,
        decided: BrainDecision | None,
        changes: dict[int, frozenset[str]],
    ) -> list[list[Decision]]:
        out: list[list[Decision]] = [[] for _ in events]
        plan = _Plan(rows, decided)
        book, last_price = self.desk.book, self.desk.last_price
        for i, event in enumerate(events):
            now = times[i]
            day = int(now // _DAY)
            if day != book.day:
                book.roll(day, last_price)
                self.desk.expire_replays(day)
            if i in changes:
                self._prune_actions(changes[i])
            kind = type(event)
            if kind is Trade:
                trade: Trade = event  # type: ignore[assignment]
                self._on_trade(trade, now, ids, i, out[i])
            elif kind is Bar:
                self._on_bar(event, now, ids, i, plan, out[i])  # type: ignore[arg-type]
        return out

    def _on_bar(
        self,
        bar: Bar,
        now: float,
        ids: Sequence[str] | None,
        i: int,
        plan: _Plan,
        out: list[Decision],
    ) -> None:
        desk, symbol = self.desk, bar.symbol
        positions = desk.book.positions
        acting = self._acting_active
        if acting is None or symbol in acting or symbol in positions:
            desk.last_price[symbol] = bar.close
        held = positions.get(symbol)
        if held is not None:
            held.bars += 1
        if desk.replays and symbol in desk.replays:
            self._replay(symbol, now, bar, ids, i, out)
            return
        r = plan.row_of.get(i)
        if r is None or plan.decided is None:
            return
        if held is not None and plan.leave[r]:
            out.append(self._exit(held, bar.close, "signal", now, self._event_id(bar, ids, i)))
        elif held is None and plan.enter[r]:
            event_id = self._event_id(bar, ids, i)
            out.append(self._enter(bar, now, event_id, plan.rows, plan.decided, r))
        else:
            desk.counts["hold"] += 1

    def _tracks(self, symbol: str) -> bool:
        active = self._acting_active
        return active is None or symbol in active or symbol in self.desk.book.positions

    def _prune_actions(self, active: frozenset[str]) -> None:
        self._acting_active = active
        held = self.desk.book.positions
        for cache in (self.desk.last_price, self.desk.last_order):
            for symbol in [s for s in cache if s not in active and s not in held]:
                del cache[symbol]

    def _replay(
        self,
        symbol: str,
        now: float,
        event: Event,
        ids: Sequence[str] | None,
        i: int,
        out: list[Decision],
    ) -> None:
        """A bar of a symbol with orders still to be redelivered: report the one booked on
        this bar, if any, and decide nothing new (the restored book is already past them)."""
        replayed = self.desk.replay(symbol, now, self._event_id(event, ids, i), _BAR_INTENTS)
        if replayed is not None:
            out.append(replayed)
        else:
            self.desk.counts["hold"] += 1

    def expect_redelivery(self, recorded: Collection[str]) -> int:
        """After a restart, before the first event: the client order ids the consumer's
        ledger holds. Recent orders not among them were booked on events that come back
        unacknowledged; their symbols replay those orders instead of deciding anew until
        each is seen (or event time passes their day). Returns how many are expected."""
        return self.desk.expect_redelivery(recorded)

    @staticmethod
    def _event_id(event: Event, ids: Sequence[str] | None, i: int) -> str:
        if event.id is not None:
            return event.id
        if ids is not None:
            return ids[i]
        return f"{type(event).__name__}{event.ts.timestamp():.6f}"

    def _on_trade(
        self, trade: Trade, now: float, ids: Sequence[str] | None, i: int, out: list[Decision]
    ) -> None:
        symbol, price, desk = trade.symbol, trade.price, self.desk
        acting = self._acting_active
        if acting is None or symbol in acting or symbol in desk.book.positions:
            desk.last_price[symbol] = price
        try:
            desk.hooks.on_price(symbol, int(now * 1e9), price)
        except Exception:  # learning never stops trading
            logger.exception("learning hook on_price failed")
        if desk.replays and symbol in desk.replays:  # booked before a restart: report it only
            replayed = desk.replay(symbol, now, self._event_id(trade, ids, i), _TRADE_INTENTS)
            if replayed is not None:
                out.append(replayed)
            return
        position = desk.book.positions.get(symbol)
        if position is None:
            return
        if price <= position.stop:
            out.append(self._exit(position, price, "stop", now, self._event_id(trade, ids, i)))
        elif price >= position.target:
            event_id = self._event_id(trade, ids, i)
            out.append(self._exit(position, position.target, "target", now, event_id))

    def _exit(
        self, position: Position, price: float, reason: str, now: float, event_id: str
    ) -> Decision:
        symbol = position.symbol
        state = self.indicators.get(symbol) if symbol in self.indicators else None
        atr, adv = (state.atr, state.volume_mean) if state is not None else (NAN, NAN)
        decision = self.desk.close(position, price, reason, now, event_id, atr=atr, adv=adv)
        if not self._tracks(symbol):  # sold after it left the active set: forget it now
            self.desk.last_price.pop(symbol, None)
            self.desk.last_order.pop(symbol, None)
        return decision

    def _enter(
        self, bar: Bar, now: float, event_id: str, rows: _Rows, decided: BrainDecision, r: int
    ) -> Decision:
        context = self._context(rows, decided, r)
        votes = f"{int(decided.positive[r])}+/{int(decided.negative[r])}-"
        size = float(decided.size[r])
        return self.desk.buy(bar.symbol, bar.close, now, event_id, context, size, votes)

    def _context(self, rows: _Rows, decided: BrainDecision, r: int) -> dict[str, float]:
        context = dict(zip(_ROW_FIELDS, rows.values[r], strict=True))
        context.update({f"vote_{s}": float(decided.votes[r, k]) for k, s in enumerate(SOURCES)})
        context["technical_score"] = float(decided.technical_score[r])
        context["market_filter"] = float(rows.below[r])
        return context
