"""One chat message → one reply: the parser first, the LLM agent for the rest (if any).

A message the parser reads is run as that command (deterministic, even in LLM mode); one that
looks like a command but does not fit gets the usage hint; anything else goes to the
:class:`~harvester.bot.agent.ClaudeAgent` when ``ANTHROPIC_API_KEY`` is set, else the help.
"""

from __future__ import annotations

from harvester.bot.agent import ClaudeAgent, dispatch
from harvester.bot.commands import HELP, BotCommands, Reply
from harvester.bot.parser import Malformed, parse

__all__ = ["Router"]


class Router:
    """Routes a user's text to the command library or the agent."""

    def __init__(self, commands: BotCommands, agent: ClaudeAgent | None = None) -> None:
        self.commands = commands
        self.agent = agent

    def respond(self, user: str, text: str) -> Reply:
        """The reply to ``text`` from ``user``."""
        parsed = parse(text)
        if isinstance(parsed, Malformed):
            return Reply(parsed.reply, ok=False)
        if parsed is not None:
            return dispatch(self.commands, user, parsed.name, parsed.args)
        if self.agent is not None:
            return Reply(self.agent.respond(user, text))
        return Reply("I didn't understand that.\n" + HELP, ok=False)
