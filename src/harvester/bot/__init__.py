"""The chat bot (``harvester bot``): per-user trade tracking and system status over Discord.

- :mod:`~harvester.bot.commands`: the command library, plain functions over the store;
- :mod:`~harvester.bot.parser`: the deterministic parser (the default);
- :mod:`~harvester.bot.agent`: Claude with tool calling and per-user memory
  (``ANTHROPIC_API_KEY``);
- :mod:`~harvester.bot.router`: parser first, agent for free text;
- :mod:`~harvester.bot.discord_adapter` and :mod:`~harvester.bot.runner`: the Discord client
  (the ``discord`` extra, imported only when the bot starts) and the process wiring.

See ``docs/bot.md``.
"""

from __future__ import annotations

from harvester.bot.commands import BotCommands, Reply
from harvester.bot.router import Router

__all__ = ["BotCommands", "Reply", "Router"]
