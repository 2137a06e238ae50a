"""``harvester bot``: the Discord bot (see docs/bot.md and :mod:`harvester.bot`)."""

from __future__ import annotations

from typing import Annotated

import typer

from harvester.cli.options import DataOption, context_from

__all__ = ["register"]


def bot_command(
    data: DataOption = "sample",
    memory_turns: Annotated[
        int, typer.Option("--memory-turns", min=1, help="LLM mode: exchanges remembered per user.")
    ] = 20,
) -> None:
    """Run the Discord bot: slash commands and plain-language trade tracking per user.

    With ANTHROPIC_API_KEY set, free text goes to Claude with tool calling; with
    ENABLE_SCHEDULER=1 the same process runs the daily scan and weekly retrain on --data.
    """
    from harvester.bot.runner import run_bot

    run_bot(context_from(), data=data, memory_turns=memory_turns)


def register(app: typer.Typer) -> None:
    app.command("bot")(bot_command)
