"""Fire and forget: alerts handed to one background thread through a bounded queue.

The caller never waits for Discord: a call enqueues and returns at once (True when queued).
When the queue is full (Discord down for a long time) the new alert is dropped with a
warning rather than growing memory or blocking. :meth:`close` waits a bounded time for the
queue to drain, so a short-lived process still sends what it queued.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence

from harvester.notify.base import Notifier
from harvester.notify.embeds import ExitAlert, RetrainAlert, SignalAlert

__all__ = ["BackgroundNotifier"]

log = logging.getLogger(__name__)

_Task = Callable[[Notifier], object]


class BackgroundNotifier:
    """Runs another notifier's calls on a daemon thread, in order."""

    def __init__(self, inner: Notifier, *, maxsize: int = 100) -> None:
        self._inner = inner
        self._queue: queue.Queue[_Task | None] = queue.Queue(maxsize=maxsize)
        self._thread = threading.Thread(target=self._run, name="harvester-alerts", daemon=True)
        self._thread.start()

    def signals(self, alerts: Sequence[SignalAlert]) -> bool:
        batch = tuple(alerts)
        return self._put(lambda n: n.signals(batch))

    def exits(self, alerts: Sequence[ExitAlert]) -> bool:
        batch = tuple(alerts)
        return self._put(lambda n: n.exits(batch))

    def retrain(self, alert: RetrainAlert) -> bool:
        return self._put(lambda n: n.retrain(alert))

    def error(self, title: str, detail: str = "") -> bool:
        return self._put(lambda n: n.error(title, detail))

    def close(self, timeout: float = 30.0) -> None:
        """Stop after the queued alerts are sent, waiting at most ``timeout`` seconds."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            log.warning("alerts queue still full at shutdown; pending alerts dropped")
            return
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._inner.close()

    def _put(self, task: _Task) -> bool:
        try:
            self._queue.put_nowait(task)
        except queue.Full:
            log.warning("alerts queue full; an alert was dropped")
            return False
        return True

    def _run(self) -> None:
        while (task := self._queue.get()) is not None:
            try:
                task(self._inner)
            except Exception as exc:  # the inner notifier should not raise; be sure anyway
                log.warning("alert failed on the background thread: %s", type(exc).__name__)
