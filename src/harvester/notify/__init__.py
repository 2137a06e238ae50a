"""Alerts to humans: new signals, exits, retrains and errors as Discord embeds.

Sits low (imports only ``core``): ``app`` builds a notifier with :func:`notify_from_env` and
calls it; without Discord settings it is a silent :class:`NullNotifier`. See ``docs/alerts.md``.

Environment:

- ``DISCORD_WEBHOOK_URL``: post to this webhook (wins when both ways are set);
- ``DISCORD_BOT_TOKEN`` and ``DISCORD_CHANNEL_ID``: post as the bot to that channel.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

import httpx

from harvester.notify.background import BackgroundNotifier
from harvester.notify.base import EmbedNotifier, Notifier, NullNotifier
from harvester.notify.discord import API_BASE, DiscordNotifier, RetryPolicy
from harvester.notify.embeds import (
    BLUE,
    GREEN,
    RED,
    ExitAlert,
    RetrainAlert,
    SignalAlert,
    messages,
)

__all__ = [
    "BLUE",
    "BOT_TOKEN_ENV",
    "CHANNEL_ID_ENV",
    "GREEN",
    "RED",
    "WEBHOOK_ENV",
    "BackgroundNotifier",
    "DiscordNotifier",
    "EmbedNotifier",
    "ExitAlert",
    "Notifier",
    "NullNotifier",
    "RetrainAlert",
    "RetryPolicy",
    "SignalAlert",
    "messages",
    "notify_from_env",
]

log = logging.getLogger(__name__)

WEBHOOK_ENV = "DISCORD_WEBHOOK_URL"
BOT_TOKEN_ENV = "DISCORD_BOT_TOKEN"
CHANNEL_ID_ENV = "DISCORD_CHANNEL_ID"


def notify_from_env(
    environ: Mapping[str, str],
    *,
    background: bool = False,
    api_base: str = API_BASE,
    policy: RetryPolicy | None = None,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] | None = None,
) -> Notifier:
    """The notifier the environment asks for: Discord webhook, Discord bot, or silence.

    ``environ`` may be the process environment merged with the secrets of ``.env``
    (``{**ctx.secrets.plain(), **ctx.environ}``). ``background`` wraps it in a
    :class:`BackgroundNotifier` (fire and forget; call ``close()`` before exiting).
    """
    webhook = environ.get(WEBHOOK_ENV, "").strip()
    token = environ.get(BOT_TOKEN_ENV, "").strip()
    channel = environ.get(CHANNEL_ID_ENV, "").strip()
    if not webhook and not (token and channel):
        if token or channel:
            log.warning("discord alerts off: set both %s and %s", BOT_TOKEN_ENV, CHANNEL_ID_ENV)
        return NullNotifier()
    notifier: Notifier = DiscordNotifier(
        webhook_url=webhook or None, token=token or None, channel_id=channel or None,
        api_base=api_base, policy=policy, transport=transport,
        sleep=sleep or time.sleep,
    )  # fmt: skip
    return BackgroundNotifier(notifier) if background else notifier
