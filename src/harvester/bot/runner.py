"""Wire the bot process: the store, the command library, the agent (if configured), the
scheduler (``ENABLE_SCHEDULER=1``) and the Discord client."""

from __future__ import annotations

import logging
import threading

from harvester.app.bot import BotSettings, bot_settings, start_scheduler
from harvester.app.context import AppContext
from harvester.app.scan import open_app_store
from harvester.bot.agent import AnthropicClient, ClaudeAgent, Memory
from harvester.bot.commands import BotCommands
from harvester.bot.discord_adapter import run_discord
from harvester.bot.router import Router
from harvester.core.errors import ConfigError
from harvester.store import Store

__all__ = ["build_router", "run_bot"]

log = logging.getLogger(__name__)


def build_router(
    ctx: AppContext, store: Store, settings: BotSettings, *, memory_turns: int = 20
) -> Router:
    """The command library over ``store``, with the Claude agent when a key is set."""
    commands = BotCommands(
        store, now=ctx.now, position_fraction=ctx.config.risk_params.max_position_size,
        stale_model_days=settings.stale_model_days,
    )  # fmt: skip
    if settings.anthropic_key is None:
        return Router(commands)
    client = AnthropicClient(settings.anthropic_key)
    agent = ClaudeAgent(commands, client, model=settings.model, memory=Memory(memory_turns))
    return Router(commands, agent)


def run_bot(ctx: AppContext, *, data: str, memory_turns: int = 20) -> None:
    """Run ``harvester bot`` until interrupted (see docs/bot.md)."""
    settings = bot_settings(ctx)
    if settings.discord_token is None:
        raise ConfigError("harvester bot needs DISCORD_BOT_TOKEN (in .env or the environment)")
    store = open_app_store(ctx)
    stop = threading.Event()
    try:
        router = build_router(ctx, store, settings, memory_turns=memory_turns)
        mode = "LLM (Claude)" if router.agent is not None else "command parser"
        log.info("harvester bot: %s mode, scheduler %s", mode,
                 "on" if settings.enable_scheduler else "off")  # fmt: skip
        if settings.enable_scheduler:
            start_scheduler(ctx, data, store, stop=stop)
        run_discord(settings.discord_token, router)
    finally:
        stop.set()
        store.close()
