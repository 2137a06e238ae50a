"""The stream brain: hand-computed entries, exits, guards, filters and learning hooks.

Most scenarios use a momentum-only brain (one source is enough, lookback 1 bar, ATR over 1
bar) so every number can be worked out by hand; see ``docs/consume.md`` for the rules.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from harvester.config.models import HarvesterConfig
from harvester.domain.events import Bar, Event, News, Trade
from harvester.features.sentiment import FakeScorer
from harvester.live.brain import Brain
from harvester.live.learning.hooks import NoLearning, Snapshot
from harvester.live.ledger import Decision
from harvester.live.paper import PaperBroker
from harvester.store import Store
from harvester.store.repository import account_fills

pytest_plugins = ["harvester.testing.stores"]

T0 = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def config(**overrides: Any) -> HarvesterConfig:
    """Momentum alone decides (lookback 1); costs 5 bps slippage + 1 bp commission."""
    raw: dict[str, Any] = {
        "strategies": {
            "consensus": {
                "min_sources": 1, "momentum_lookback": 1, "use_technical_indicators": False,
                "use_zscore_mean_reversion": False, "use_vwap_anchor": False,
            }
        },
        "risk_management": {
            "atr_period": 1, "base_position_fraction": 0.1, "max_position_notional_usd": 0.0,
        },
        "regimes": {"market_filter_period": 3},
    }  # fmt: skip
    for dotted, value in overrides.items():
        *path, last = dotted.split("__")
        node = raw
        for key in path:
            node = node.setdefault(key, {})
        node[last] = value
    return HarvesterConfig.model_validate(raw)


def bar(symbol: str, close: float, at: datetime, *, high: float | None = None, **kw: Any) -> Bar:
    low = kw.pop("low", min(close, kw.get("open", close)))
    return Bar(
        symbol, kw.pop("open", close), high if high is not None else close, low, close,
        1000.0, ts=at, **kw,
    )  # fmt: skip


def trade(symbol: str, price: float, at: datetime, **kw: Any) -> Trade:
    return Trade(symbol, price, 10.0, ts=at, **kw)


def entry_events() -> list[Event]:
    """Two bars of A: the second rises 1 % (momentum +1) with a true range of 3."""
    return [
        bar("A", 100.0, T0, id="e1"),
        bar("A", 101.0, T0 + timedelta(minutes=1), open=100.0, high=102.0, low=99.0, id="e2"),
    ]


def test_a_buy_consensus_opens_a_paper_order_priced_with_the_cost_model(store: Store) -> None:
    broker = PaperBroker(store, account="stream-paper")
    brain = Brain(config(), broker=broker)
    out = brain.decide_batch(entry_events())
    # 10 % of 100,000 = 10,000 notional → floor(10,000 / 101) = 99 shares;
    # slippage 5 bps of 101 = 0.0505 → fill 101.0505; commission 1 bp of 99 × 101.0505.
    assert out[0] == []
    assert out[1] == [Decision("A", "buy", "consensus 1+/0-", "hv-se2-A-20260105-entry")]
    fills = account_fills(store, account="stream-paper")
    assert fills[["symbol", "side", "qty"]].values.tolist() == [["A", "buy", 99.0]]
    assert fills["price"].iloc[0] == pytest.approx(101.0505, abs=1e-9)
    assert fills["fee"].iloc[0] == pytest.approx(99 * 101.0505 * 1e-4, abs=1e-9)
    position = brain.desk.book.positions["A"]
    # ATR over one bar = true range max(102 − 99, |102 − 100|, |99 − 100|) = 3.
    assert (position.stop, position.target) == pytest.approx((101.0505 - 3.0, 101.0505 + 6.0))


def test_a_trade_at_the_stop_closes_the_position(store: Store) -> None:
    broker = PaperBroker(store, account="stream-paper")
    brain = Brain(config(), broker=broker)
    brain.decide_batch(entry_events())
    at = T0 + timedelta(minutes=2)
    out = brain.decide_batch([trade("A", 98.06, at, id="e3"), trade("A", 98.05, at, id="e4")])
    assert out == [[], [Decision("A", "sell", "stop", "hv-se4-A-20260105-exit-stop")]]
    sold = account_fills(store, account="stream-paper").iloc[-1]
    assert (sold["side"], sold["qty"]) == ("sell", 99.0)
    assert sold["price"] == pytest.approx(98.05 * (1 - 5e-4))  # stop 98.0505: sold at the print
    assert broker.positions() == [] and brain.desk.book.positions == {}


def test_a_trade_at_the_target_fills_at_the_target_level() -> None:
    brain = Brain(config())
    brain.decide_batch(entry_events())
    out = brain(trade("A", 108.0, T0 + timedelta(minutes=3), id="e3"))
    assert out == [Decision("A", "sell", "target", "hv-se3-A-20260105-exit-target")]
    # Sold 99 at the target 107.0505 (no slippage) less 1 bp commission.
    expected_cash = 100_000 - 99 * 101.0505 * 1.0001 + 99 * 107.0505 * 0.9999
    assert brain.desk.book.cash == pytest.approx(expected_cash)


def test_cooldown_blocks_a_second_order_within_cooldown_seconds() -> None:
    brain = Brain(config(brain__cooldown_seconds=300.0))
    brain.decide_batch(entry_events())
    stop_at = T0 + timedelta(minutes=2)
    brain(trade("A", 90.0, stop_at, id="e3"))  # stopped out: the last order of A
    early = brain(bar("A", 102.0, stop_at + timedelta(seconds=299), id="e4"))
    late = brain(bar("A", 103.0, stop_at + timedelta(seconds=300), id="e5"))
    assert early == [Decision("A", "skip", "cooldown")]
    assert [d.action for d in late] == ["buy"]


def test_the_daily_cap_blocks_buys_until_the_next_day() -> None:
    brain = Brain(config(risk_params__daily_profit_cap_pct=0.25))
    brain.decide_batch(entry_events())  # 99 A at 101.0505, day start equity 100,000
    # At 103.6: P&L = 99 × (103.6 − 101.0505) − fee ≈ 251.4 ≥ 0.25 % of 100,000 = 250.
    cap_hit: list[Event] = [trade("A", 103.6, T0 + timedelta(minutes=3))]
    b_bars = [bar("B", 50.0, T0 + timedelta(minutes=4)), bar("B", 51.0, T0 + timedelta(minutes=5))]
    out = brain.decide_batch([*cap_hit, *b_bars])
    assert out[2] == [Decision("B", "skip", "daily_cap")]
    below_cap = Brain(config(risk_params__daily_profit_cap_pct=0.25))
    below_cap.decide_batch(entry_events())
    out = below_cap.decide_batch([trade("A", 103.5, T0 + timedelta(minutes=3)), *b_bars])
    assert [d.action for d in out[2]] == ["buy"]  # ≈ 241.5 < 250
    next_day = brain(bar("B", 52.0, T0 + timedelta(days=1)))
    assert [d.action for d in next_day] == ["buy"]


def write_active(path: Path, *symbols: str) -> Path:
    path.write_text("".join(f"{s}\n" for s in symbols))
    return path


def test_an_inactive_symbol_is_ignored(tmp_path: Path) -> None:
    active = write_active(tmp_path / "active.txt", "A")
    brain = Brain(config(brain__active_symbols_file=str(active)))
    events = [*entry_events(), bar("B", 50.0, T0), bar("B", 60.0, T0 + timedelta(minutes=1))]
    out = brain.decide_batch(events)
    assert [d.symbol for decisions in out for d in decisions] == ["A"]
    assert "B" not in brain.indicators and brain.cache_sizes()["momentum"] == 1


def spy_days(*closes: float) -> list[Event]:
    """Benchmark bars at 21:00 on consecutive days."""
    day = T0.replace(hour=21)
    return [bar("SPY", c, day + timedelta(days=k)) for k, c in enumerate(closes)]


def test_benchmark_below_its_average_halves_the_size_after_the_refresh(tmp_path: Path) -> None:
    active = write_active(tmp_path / "active.txt", "A")
    brain = Brain(config(brain__active_symbols_file=str(active)))
    spy = spy_days(100.0, 100.0, 100.0, 90.0)  # 3-day average 96.67 > 90 on day 4
    day4 = spy[-1].ts
    brain.decide_batch(spy)  # the flag was recomputed at the day-4 bar, before its close
    assert not brain.benchmark.below
    a = [bar("A", 100.0, day4 + timedelta(minutes=1)), bar("A", 101.0, day4 + timedelta(minutes=5))]
    full = brain.decide_batch(a)[1]
    assert full[0].action == "buy" and brain.desk.book.positions["A"].qty == 99
    brain.desk.book.positions.clear()
    equity = brain.desk.book.cash  # nothing held any more
    later = day4 + timedelta(minutes=15)  # the next recompute: now below
    out = brain(bar("A", 102.0, later))
    assert brain.benchmark.below and out[0].action == "buy"
    assert brain.desk.book.positions["A"].qty == math.floor(0.5 * 0.1 * equity / 102.0)


def z_config(**overrides: Any) -> HarvesterConfig:
    """The Z-score source alone (period 8), momentum switched off by its threshold."""
    return config(
        strategies__consensus__use_zscore_mean_reversion=True,
        strategies__consensus__zscore_period=8,
        strategies__consensus__momentum_threshold=10.0,
        **overrides,
    )


def test_benchmark_below_its_average_tightens_the_z_entry(tmp_path: Path) -> None:
    # Seven closes of 100 then 90: z of the newest = −sqrt(7) ≈ −2.646 (population std),
    # which passes the normal entry −2 but not the tightened −2.8.
    active = write_active(tmp_path / "active.txt", "A")
    start = T0 + timedelta(days=10)
    closes = [100.0] * 7 + [90.0]
    a = [bar("A", c, start + timedelta(minutes=20 * k)) for k, c in enumerate(closes)]
    calm = Brain(z_config(brain__active_symbols_file=str(active)))
    assert [d.action for d in calm.decide_batch(a)[-1]] == ["buy"]
    assert calm.desk.book.positions["A"].context["zscore"] == pytest.approx(-math.sqrt(7))
    cautious = Brain(z_config(brain__active_symbols_file=str(active)))
    cautious.decide_batch(spy_days(100.0, 100.0, 100.0, 90.0))
    out = cautious.decide_batch(a)
    assert cautious.benchmark.below and out[-1] == [] and cautious.counts["hold"] == 8


class SpyHooks(NoLearning):
    """Records every call; blocks buys when ``block`` is set; conviction 1.5×."""

    def __init__(self, block: str | None = None) -> None:
        self.block = block
        self.calls: list[tuple[str, Any]] = []

    def block_reason(self, snapshot: Snapshot) -> str | None:
        self.calls.append(("block_reason", snapshot))
        return self.block

    def size_multiplier(self, setup: str) -> float:
        self.calls.append(("size_multiplier", setup))
        return 1.5

    def on_entry(self, snapshot: Snapshot, *, stop: float, target: float) -> None:
        self.calls.append(("on_entry", (snapshot, stop, target)))

    def on_exit(self, snapshot: Snapshot) -> None:
        self.calls.append(("on_exit", snapshot))

    def on_price(self, symbol: str, time_ns: int, price: float) -> None:
        self.calls.append(("on_price", (symbol, price)))


def test_learning_hooks_are_called_at_the_documented_points() -> None:
    hooks = SpyHooks()
    brain = Brain(config(risk_params__max_position_size=1.0), hooks=hooks)
    brain.decide_batch([*entry_events(), trade("A", 90.0, T0 + timedelta(minutes=2))])
    names = [name for name, _ in hooks.calls]
    assert names == ["block_reason", "size_multiplier", "on_entry", "on_price", "on_exit"]
    entry, stop, target = hooks.calls[2][1]
    assert (entry.kind, entry.setup) == ("entry", "consensus_long")
    assert entry.price == pytest.approx(101.0505) and entry.context["vote_momentum"] == 1.0
    assert (stop, target) == pytest.approx((98.0505, 107.0505))
    assert brain.desk.book.cash > 0 and hooks.calls[0][1].price == 101.0  # before costs
    exit_ = hooks.calls[4][1]
    assert exit_.outcome is not None and exit_.outcome.exit_reason == "stop"
    sold = 90.0 * (1 - 5e-4)
    pnl = 148 * (sold - 101.0505) - 148 * 101.0505e-4 - 148 * sold * 1e-4  # 1.5 × 99 → 148
    assert exit_.outcome.pnl_pct == pytest.approx(100 * pnl / (148 * 101.0505))
    assert exit_.outcome.held_seconds == 60.0


def test_a_blocking_hook_prevents_the_buy() -> None:
    brain = Brain(config(), hooks=SpyHooks(block="rule 7: weak setup"))
    out = brain.decide_batch(entry_events())
    assert out[1] == [Decision("A", "skip", "learning: rule 7: weak setup")]
    assert brain.desk.book.positions == {}


def test_news_sentiment_votes_with_the_scorer() -> None:
    scorer = FakeScorer({"A beats estimates Strong quarter.": 0.8}, default=0.0)
    cfg = config(strategies__consensus__momentum_threshold=10.0)  # news alone
    brain = Brain(cfg, scorer=scorer)
    news = News(("A",), "A beats estimates", "Strong quarter.", ts=T0)
    out = brain.decide_batch([news, bar("A", 100.0, T0 + timedelta(hours=1), id="n1")])
    assert out[1][0].action == "buy"
    stale = Brain(cfg, scorer=scorer)  # the news is older than sentiment_hours (24)
    out = stale.decide_batch([news, bar("A", 100.0, T0 + timedelta(hours=25))])
    assert out[1] == []


class BrokenHooks(SpyHooks):
    """Every recording hook raises: the order is booked anyway and the decision kept."""

    def on_entry(self, snapshot: Snapshot, *, stop: float, target: float) -> None:
        raise ValueError("disk full")

    def on_price(self, symbol: str, time_ns: int, price: float) -> None:
        raise ValueError("shadow bug")

    def size_multiplier(self, setup: str) -> float:
        raise ValueError("no conviction")


def test_a_failing_learning_hook_never_stops_trading() -> None:
    brain = Brain(config(), hooks=BrokenHooks())
    out = brain.decide_batch([*entry_events(), trade("A", 90.0, T0 + timedelta(minutes=2))])
    assert [d.action for row in out for d in row] == ["buy", "sell"]
    assert brain.counts["buy"] == 1 and brain.desk.book.positions == {}
