"""The command library over a real store (SQLite and PostgreSQL): per-user isolation, FIFO
P&L computed by hand, signal pre-fill and sizing, refusals that change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from harvester.bot.commands import BotCommands, usd
from harvester.bot.router import Router
from harvester.store import Store
from harvester.store.models import BotTradeRow, BotUserRow


def _tables(store: Store) -> list[tuple[Any, ...]]:
    with store.session() as session:
        rows = session.scalars(select(BotTradeRow).order_by(BotTradeRow.id))
        trades = [(r.user_id, r.symbol, r.qty, r.entry_price, r.exit_price) for r in rows]
        users = [(r.user_id, r.capital) for r in session.scalars(select(BotUserRow))]
    return [*trades, *users]


def test_two_users_see_only_their_own_book(commands: BotCommands) -> None:
    assert commands.enter("alice", "AAPL", 180.0, qty=10).ok
    assert commands.enter("alice", "aapl", 185.0, qty=10).ok
    assert commands.enter("bob", "MSFT", 300.0, qty=4).ok
    exit_a = commands.exit("alice", "AAPL", 195.0, qty=15)
    # FIFO: 10 @ 180 → +150, then 5 of the 10 @ 185 → +50; cost 1800 + 925 = 2725
    assert exit_a.data["pnl"] == pytest.approx(200.0)
    assert exit_a.data["pnl_pct"] == pytest.approx(100 * 200.0 / 2725.0)
    assert "+$200.00" in exit_a.text and "5 left open" in exit_a.text

    alice = commands.positions("alice").data["positions"]
    bob = commands.positions("bob").data["positions"]
    assert [(p["symbol"], p["qty"], p["avg_price"]) for p in alice] == [("AAPL", 5.0, 185.0)]
    assert [(p["symbol"], p["qty"], p["avg_price"]) for p in bob] == [("MSFT", 4.0, 300.0)]

    pnl_a = commands.pnl("alice").data  # open 5 @ 185 marked at the scan close 190 → +25
    assert (pnl_a["realised"], pnl_a["unrealised"]) == pytest.approx((200.0, 25.0))
    assert pnl_a["unrealised_pct"] == pytest.approx(100 * 25.0 / 925.0)
    pnl_b = commands.pnl("bob").data  # 4 @ 300 marked at 310 → +40, nothing closed
    assert (pnl_b["realised"], pnl_b["unrealised"], pnl_b["total"]) == pytest.approx((0, 40, 40))
    assert commands.history("bob").data["trades"] == []
    assert len(commands.history("alice", 5).data["trades"]) == 2
    assert not commands.exit("bob", "AAPL", 190.0).ok  # bob holds no AAPL


def test_sell_half_and_pnl_as_percent_of_capital(commands: BotCommands) -> None:
    commands.set_capital("carol", 10_000)
    commands.enter("carol", "MSFT", 300.0, qty=10)
    reply = commands.exit("carol", "MSFT", 320.0, fraction=0.5)
    assert reply.data["pnl"] == pytest.approx(100.0)  # 5 × (320 − 300)
    book = commands.pnl("carol").data  # 5 left marked at 310: +50; total 150 of 10 000
    assert book["capital_pct"] == pytest.approx(1.5)


def test_enter_prefills_size_stop_and_target_from_the_signal(commands: BotCommands) -> None:
    commands.set_capital("alice", 25_000)
    reply = commands.enter("alice", "AAPL", 185.5)
    lot = reply.data["lot"]
    # 0.1 × 1.5 = 15 % of 25 000 = 3 750 → floor(3750 / 185.5) = 20 shares
    assert (lot.qty, lot.stop, lot.target) == (20.0, 180.0, 200.0)
    assert "risk $110.00" in reply.text  # 20 × (185.5 − 180)
    plain = commands.enter("alice", "MSFT", 300.0)  # no signal: 10 % of capital, no levels
    assert (plain.data["lot"].qty, plain.data["lot"].stop) == (8.0, None)
    assert "No active signal" in plain.text


def test_enter_without_qty_or_capital_asks_for_a_quantity(commands: BotCommands) -> None:
    reply = commands.enter("dave", "AAPL", 185.5)
    assert not reply.ok and "How many shares" in reply.text
    assert _tables(commands.store) == []


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("enter at", "enter AAPL at 185.50"),
        ("enter AAPL at -5", "positive"),
        ("buy 0 AAPL @ 185", "positive"),
        ("enter ZZZZ at 10", "don't know ZZZZ"),
        ("exit AAPL at 190", "hold no AAPL"),
        ("sell 50 MSFT at 300", "cannot sell 50"),
        ("capital -100", "positive"),
        ("capital lots", "capital 25000"),
        ("what is this", "didn't understand"),
    ],
)
def test_malformed_commands_get_a_hint_and_change_nothing(
    commands: BotCommands, text: str, hint: str
) -> None:
    commands.enter("alice", "MSFT", 300.0, qty=4)
    before = _tables(commands.store)
    reply = Router(commands).respond("alice", text)
    assert not reply.ok
    assert hint in reply.text
    assert _tables(commands.store) == before


def test_skipped_symbols_are_known_and_unscanned_before_any_scan(store: Store) -> None:
    from datetime import UTC, datetime

    fresh = BotCommands(store, now=lambda: datetime(2024, 1, 2, tzinfo=UTC))
    assert fresh.enter("alice", "ANYTHING", 10.0, qty=1).ok  # no scan, no universe: accepted
    assert not fresh.enter("alice", "NOT A TICKER", 10.0, qty=1).ok


def test_system_commands(commands: BotCommands) -> None:
    signals = commands.signals_today()
    assert [s.symbol for s in signals.data["signals"]] == ["AAPL"]
    assert "stop $180.00" in signals.text and "close $190.00" in signals.text
    assert "No snapshot" in commands.exposure().text
    assert commands.stale_models().data["stale"] == []
    assert commands.enter("alice", "TSLA", 200.0, qty=1).ok  # skipped by the scan, still known


def test_usd_formats_signs() -> None:
    assert (usd(1234.5), usd(-3.0), usd(5.0, signed=True), usd(-5.0, signed=True)) == (
        "$1,234.50", "-$3.00", "+$5.00", "-$5.00",
    )  # fmt: skip
