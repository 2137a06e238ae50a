"""The Discord shell without a network: the slash-command table and the message handler
driven with fake Discord objects."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from harvester.bot.commands import BotCommands
from harvester.bot.discord_adapter import (
    DISCORD_LIMIT,
    SLASH_COMMANDS,
    clip,
    handle_message,
    register,
    run_slash,
)
from harvester.bot.router import Router
from harvester.store.user_trades import open_lots

BOT_ID = 999


@dataclass
class FakeUser:
    id: int
    bot: bool = False


@dataclass
class FakeChannel:
    sent: list[str] = field(default_factory=list)

    async def send(self, content: str) -> None:
        self.sent.append(content)


@dataclass
class FakeMessage:
    content: str
    author: FakeUser
    guild: Any = None
    mentions: list[FakeUser] = field(default_factory=list)
    channel: FakeChannel = field(default_factory=FakeChannel)


def _handle(router: Router, message: FakeMessage) -> str | None:
    return asyncio.run(handle_message(router, message, FakeUser(BOT_ID, bot=True)))


def test_a_dm_is_answered_for_its_author(commands: BotCommands) -> None:
    router = Router(commands)
    message = FakeMessage("buy 3 AAPL @ 186", FakeUser(1))
    answer = _handle(router, message)
    assert answer is not None and answer.startswith("Entered 3 AAPL")
    assert message.channel.sent == [answer]
    assert [lot.qty for lot in open_lots(commands.store, "1")] == [3.0]


def test_guild_messages_need_a_mention(commands: BotCommands) -> None:
    router = Router(commands)
    quiet = FakeMessage("positions", FakeUser(1), guild=object())
    assert _handle(router, quiet) is None and quiet.channel.sent == []
    asked = FakeMessage(f"<@{BOT_ID}> positions", FakeUser(1), guild=object(),
                        mentions=[FakeUser(BOT_ID)])  # fmt: skip
    assert _handle(router, asked) == "You have no open positions."
    from_bot = FakeMessage("positions", FakeUser(5, bot=True))
    assert _handle(router, from_bot) is None


def test_slash_commands_map_to_the_library(commands: BotCommands) -> None:
    router = Router(commands)
    assert {s.name for s in SLASH_COMMANDS} >= {
        "enter",
        "exit",
        "capital",
        "positions",
        "pnl",
        "history",
        "signals",
        "exposure",
        "stale",
    }
    assert all(callable(getattr(commands, s.command)) for s in SLASH_COMMANDS)
    enter = next(s for s in SLASH_COMMANDS if s.name == "enter")
    text = run_slash(router, "7", enter, {"ticker": "MSFT", "price": 300.0, "qty": None})
    assert "How many shares" in text  # qty not given and no capital: nothing recorded
    text = run_slash(router, "7", enter, {"ticker": "MSFT", "price": 300.0, "qty": 2.0})
    assert text.startswith("Entered 2 MSFT")


def test_the_tree_registers_every_command_with_typed_options() -> None:
    discord = pytest.importorskip("discord")
    client = discord.Client(intents=discord.Intents.default())
    tree = discord.app_commands.CommandTree(client)
    register(discord, tree, Router.__new__(Router))
    registered = {c.name: c for c in tree.get_commands()}
    assert set(registered) == {s.name for s in SLASH_COMMANDS}
    options = {p.name: p.required for p in registered["enter"].parameters}
    assert options == {"ticker": True, "price": True, "qty": False}


def test_long_replies_fit_discord() -> None:
    assert len(clip("x" * 5000)) == DISCORD_LIMIT
