"""The thin Discord shell: slash commands and plain messages → :class:`Router` → a reply.

``discord.py`` (the ``discord`` extra) is imported only by :func:`run_discord`. The logic a
test can reach without a network is here as plain code: :data:`SLASH_COMMANDS` (the table the
client registers) and :func:`handle_message` (the ``on_message`` handler, which answers DMs
and messages that mention the bot, with the mention stripped). Command work runs in a worker
thread (``asyncio.to_thread``) so the database never blocks the gateway loop.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from harvester.bot.agent import dispatch
from harvester.bot.router import Router
from harvester.core.errors import ConfigError

__all__ = [
    "DISCORD_LIMIT",
    "SLASH_COMMANDS",
    "SlashCommand",
    "clip",
    "handle_message",
    "register",
    "run_discord",
]

log = logging.getLogger(__name__)

DISCORD_LIMIT = 2000  # characters per message


@dataclass(frozen=True, slots=True)
class SlashCommand:
    """A slash command: its name, help, parameters (name, type, required) and the command."""

    name: str
    description: str
    params: tuple[tuple[str, type, bool], ...]
    command: str


SLASH_COMMANDS: tuple[SlashCommand, ...] = (
    SlashCommand("enter", "Record a buy (size, stop, target from the latest signal)",
                 (("ticker", str, True), ("price", float, True), ("qty", float, False)), "enter"),
    SlashCommand("exit", "Record a sell, oldest lots first",
                 (("ticker", str, True), ("price", float, True), ("qty", float, False)), "exit"),
    SlashCommand("capital", "Set your capital in dollars", (("amount", float, True),),
                 "set_capital"),
    SlashCommand("positions", "Your open positions", (), "positions"),
    SlashCommand("pnl", "Your P&L in dollars and percent", (), "pnl"),
    SlashCommand("history", "Your last closed trades", (("n", int, False),), "history"),
    SlashCommand("signals", "The latest scan's signals", (), "signals_today"),
    SlashCommand("exposure", "The system's paper exposure", (), "exposure"),
    SlashCommand("stale", "Models due for a retrain", (), "stale_models"),
    SlashCommand("help", "What the bot understands", (), "help"),
)  # fmt: skip


def clip(text: str, limit: int = DISCORD_LIMIT) -> str:
    """Cut ``text`` to Discord's message limit."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_slash(router: Router, user: str, slash: SlashCommand, options: dict[str, Any]) -> str:
    """Run a slash command's options (None = not given) for ``user``; the reply text."""
    args = {k: v for k, v in options.items() if v is not None}
    return clip(dispatch(router.commands, user, slash.command, args).text)


class _User(Protocol):
    id: int


class _Channel(Protocol):
    async def send(self, content: str) -> Any: ...


class _Message(Protocol):
    content: str
    author: Any
    channel: Any
    guild: Any
    mentions: list[Any]


def message_text(message: _Message, bot_user: _User) -> str | None:
    """The text to answer, or None: only DMs and messages mentioning the bot, never bots."""
    if getattr(message.author, "bot", False) or message.author.id == bot_user.id:
        return None
    mentioned = any(getattr(u, "id", None) == bot_user.id for u in message.mentions)
    if message.guild is not None and not mentioned:
        return None
    text = re.sub(rf"<@!?{bot_user.id}>", " ", message.content).strip()
    return text or None


async def handle_message(router: Router, message: _Message, bot_user: _User) -> str | None:
    """The ``on_message`` handler: answer in the same channel; returns what was sent."""
    text = message_text(message, bot_user)
    if text is None:
        return None
    reply = await asyncio.to_thread(router.respond, str(message.author.id), text)
    answer = clip(reply.text)
    await message.channel.send(answer)
    return answer


def _import_discord() -> Any:
    try:
        import discord
    except ImportError:
        raise ConfigError(
            "harvester bot needs discord.py; run: pip install 'harvester[discord]'"
        ) from None
    return discord


def _slash_callback(router: Router, slash: SlashCommand) -> Callable[..., Any]:
    async def callback(interaction: Any, **options: Any) -> None:
        user = str(interaction.user.id)
        text = await asyncio.to_thread(run_slash, router, user, slash, options)
        await interaction.response.send_message(text)

    return callback


def register(discord: Any, tree: Any, router: Router) -> None:
    """Add :data:`SLASH_COMMANDS` to the client's command tree (typed options from the table)."""
    for slash in SLASH_COMMANDS:
        callback = _slash_callback(router, slash)
        params = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                    annotation=discord.Interaction)]  # fmt: skip
        params += [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                              annotation=kind if required else kind | None,
                              default=inspect.Parameter.empty if required else None)
            for name, kind, required in slash.params
        ]  # fmt: skip
        callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        tree.add_command(discord.app_commands.Command(
            name=slash.name, description=slash.description, callback=callback))  # fmt: skip


def run_discord(token: str, router: Router, *, ready: Callable[[], None] | None = None) -> None:
    """Connect to Discord and serve until the process stops (blocks)."""
    discord = _import_discord()
    intents = discord.Intents.default()
    intents.message_content = True
    client = discord.Client(intents=intents)
    tree = discord.app_commands.CommandTree(client)
    register(discord, tree, router)

    async def on_ready() -> None:
        await tree.sync()
        log.info("harvester bot connected as %s", client.user)
        if ready is not None:
            ready()

    async def on_message(message: Any) -> None:
        await handle_message(router, message, client.user)

    client.event(on_ready)
    client.event(on_message)
    client.run(token, log_handler=None)
