"""The ``Notifier`` port, the silent ``NullNotifier`` and the embed-sending template.

A notifier tells a human what the system did. It must never fail or block the job that
calls it: every public method returns (True when delivered) and never raises; a failure is a
warning in the log. Adapters implement one narrow ``_post(payload) -> bool``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from harvester.notify.embeds import (
    Embed,
    ExitAlert,
    RetrainAlert,
    SignalAlert,
    error_embed,
    exit_embed,
    messages,
    retrain_embed,
    signal_embeds,
)

__all__ = ["EmbedNotifier", "Notifier", "NullNotifier"]

log = logging.getLogger(__name__)


@runtime_checkable
class Notifier(Protocol):
    """Where alerts go. Methods never raise; they return whether everything was delivered."""

    def signals(self, alerts: Sequence[SignalAlert]) -> bool: ...

    def exits(self, alerts: Sequence[ExitAlert]) -> bool: ...

    def retrain(self, alert: RetrainAlert) -> bool: ...

    def error(self, title: str, detail: str = "") -> bool: ...

    def close(self) -> None: ...


class NullNotifier:
    """Alerts are not configured: every call does nothing and reports success."""

    def signals(self, alerts: Sequence[SignalAlert]) -> bool:
        return True

    def exits(self, alerts: Sequence[ExitAlert]) -> bool:
        return True

    def retrain(self, alert: RetrainAlert) -> bool:
        return True

    def error(self, title: str, detail: str = "") -> bool:
        return True

    def close(self) -> None:
        """Nothing to release."""


class EmbedNotifier:
    """Builds embeds, packs them into messages and posts each through :meth:`_post`."""

    name = "embeds"

    def signals(self, alerts: Sequence[SignalAlert]) -> bool:
        return self.send(signal_embeds(alerts))

    def exits(self, alerts: Sequence[ExitAlert]) -> bool:
        return self.send([exit_embed(a) for a in alerts])

    def retrain(self, alert: RetrainAlert) -> bool:
        return self.send([retrain_embed(alert)])

    def error(self, title: str, detail: str = "") -> bool:
        return self.send([error_embed(title, detail)])

    def send(self, embeds: Sequence[Embed]) -> bool:
        """Post ``embeds`` in as few messages as the limits allow; never raises."""
        delivered = True
        for payload in messages(embeds):
            try:
                delivered = self._post(payload) and delivered
            except Exception as exc:  # an alert must never break the caller
                log.warning("%s alert not sent: %s", self.name, type(exc).__name__)
                delivered = False
        return delivered

    def close(self) -> None:
        """Release what the adapter holds (nothing by default)."""

    def _post(self, payload: dict[str, Any]) -> bool:
        raise NotImplementedError
