"""The deterministic parser: what each accepted form turns into, and what it refuses."""

from __future__ import annotations

import pytest

from harvester.bot.parser import Command, Malformed, parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("enter AAPL at 185.50", Command("enter", {"ticker": "AAPL", "price": 185.5})),
        ("buy 10 AAPL @185.5", Command("enter", {"ticker": "AAPL", "price": 185.5, "qty": 10.0})),
        ("Buy 10 shares of aapl at $185.5",
         Command("enter", {"ticker": "aapl", "price": 185.5, "qty": 10.0})),
        ("exit AAPL at 190", Command("exit", {"ticker": "AAPL", "price": 190.0})),
        ("sell 5 BRK.B @ 400", Command("exit", {"ticker": "BRK.B", "price": 400.0, "qty": 5.0})),
        ("sell half MSFT at 300", Command("exit", {"ticker": "MSFT", "price": 300.0,
                                                   "fraction": 0.5})),
        ("sell all BTC-USD at 60,000", Command("exit", {"ticker": "BTC-USD", "price": 60000.0})),
        ("enter AAPL at -5", Command("enter", {"ticker": "AAPL", "price": -5.0})),
        ("capital 25000", Command("set_capital", {"amount": 25000.0})),
        ("set my capital to $25,000", Command("set_capital", {"amount": 25000.0})),
        ("positions", Command("positions")),
        ("/pnl", Command("pnl")),
        ("history", Command("history")),
        ("history 5", Command("history", {"n": 5})),
        ("signals", Command("signals_today")),
        ("exposure", Command("exposure")),
        ("stale", Command("stale_models")),
        ("help", Command("help")),
    ],
)  # fmt: skip
def test_accepted_forms(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize("text", ["enter at", "buy AAPL", "sell half", "buy half AAPL at 3",
                                  "capital lots"])  # fmt: skip
def test_command_like_text_gets_usage(text: str) -> None:
    result = parse(text)
    assert isinstance(result, Malformed)
    assert "`" in result.reply  # shows the form to write


@pytest.mark.parametrize("text", ["", "   ", "I bought 20 shares of apple this morning"])
def test_free_text_is_not_a_command(text: str) -> None:
    assert parse(text) is None
