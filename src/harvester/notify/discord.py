"""Discord delivery: a webhook URL, or a bot token posting to a channel through the REST API.

Retries follow Discord's rate-limit contract: a 429 says how long to wait (the JSON
``retry_after`` in seconds, a float, or the ``Retry-After`` header); a 5xx or a connection
error is retried with exponential backoff. Retries are bounded in number and in total time
(``RetryPolicy``) so the daily job is never held up for long; after the last one the alert is
dropped with a warning. The webhook URL and the token are credentials: no log line names them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from harvester.notify.base import EmbedNotifier

__all__ = ["API_BASE", "DiscordNotifier", "RetryPolicy", "retry_delay"]

log = logging.getLogger(__name__)

API_BASE = "https://discord.com/api/v10"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry one message.

    ``retries`` extra attempts after the first; backoff ``base * 2**attempt`` capped at
    ``max_delay``; a server-asked wait longer than the remaining ``budget`` (seconds, across
    all attempts) is not waited for.
    """

    retries: int = 4
    base: float = 1.0
    max_delay: float = 30.0
    budget: float = 60.0
    timeout: float = 10.0


def retry_delay(response: httpx.Response | None, attempt: int, policy: RetryPolicy) -> float | None:
    """Seconds to wait before the next attempt, or None when the outcome is final."""
    if response is not None and response.status_code == 429:
        asked = _asked_wait(response)
        return asked if asked is not None else min(policy.base * 2.0**attempt, policy.max_delay)
    if response is None or response.status_code >= 500:
        return min(policy.base * 2.0**attempt, policy.max_delay)
    return None


def _asked_wait(response: httpx.Response) -> float | None:
    try:
        body = response.json()
        if isinstance(body, dict) and "retry_after" in body:
            return max(float(body["retry_after"]), 0.0)
    except ValueError:
        pass
    header = response.headers.get("Retry-After")
    try:
        return max(float(header), 0.0) if header is not None else None
    except ValueError:
        return None


class DiscordNotifier(EmbedNotifier):
    """Posts embeds to a webhook (``webhook_url``) or a channel (``token`` + ``channel_id``).

    ``transport`` (an httpx transport), ``api_base``, ``sleep`` and ``clock`` are injectable
    so tests post to a local server and never really sleep.
    """

    name = "discord"

    def __init__(
        self,
        *,
        webhook_url: str | None = None,
        token: str | None = None,
        channel_id: str | None = None,
        api_base: str = API_BASE,
        policy: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if webhook_url:
            self._url, headers = webhook_url, {}
        elif token and channel_id:
            self._url = f"{api_base.rstrip('/')}/channels/{channel_id}/messages"
            headers = {"Authorization": f"Bot {token}"}
        else:
            raise ValueError("give a webhook URL, or a bot token and a channel id")
        self.policy = policy or RetryPolicy()
        self._sleep, self._clock = sleep, clock
        self._client = httpx.Client(
            headers={**headers, "User-Agent": "harvester (alerts)"},
            timeout=self.policy.timeout, transport=transport,
        )  # fmt: skip

    def __repr__(self) -> str:
        return "DiscordNotifier(credentials=***)"

    def close(self) -> None:
        self._client.close()

    def _post(self, payload: dict[str, Any]) -> bool:
        started = self._clock()
        for attempt in range(self.policy.retries + 1):
            response = self._attempt(payload)
            if response is not None and response.is_success:
                return True
            wait = retry_delay(response, attempt, self.policy)
            what = "no response" if response is None else f"HTTP {response.status_code}"
            if wait is None:
                log.warning("discord alert refused (%s); not retried", what)
                return False
            spent = self._clock() - started
            if attempt == self.policy.retries or spent + wait > self.policy.budget:
                break
            log.info("discord alert: %s, retrying in %.2f s", what, wait)
            self._sleep(wait)
        log.warning("discord alert dropped after %d attempt(s) (%s)", attempt + 1, what)
        return False

    def _attempt(self, payload: dict[str, Any]) -> httpx.Response | None:
        try:
            return self._client.post(self._url, json=payload)
        except httpx.HTTPError as exc:  # connection refused, timeout: retried like a 5xx
            log.info("discord alert: %s", type(exc).__name__)
            return None
