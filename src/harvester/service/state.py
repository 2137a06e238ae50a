"""The service's state: the last refresh's encoded answers, and when to refresh again.

:meth:`ServiceState.published` returns the cached
:class:`~harvester.service.published.Published` and refreshes it first when it is
``refresh_seconds`` old (by the injected clock, so tests move time without sleeping). A
refresh (:mod:`harvester.service.refresh`) reads the store read-only, fetches every peer's
``/metrics``, updates the metrics and, when Redis is configured, writes the report under
``harvester:obs:*`` — the service's only write — and encodes every answer.

With ``child_process`` (what ``harvester serve`` uses) the refresh runs in a child process
(:mod:`harvester.service.worker`) and this process holds only bytes: it never imports pandas,
SQLAlchemy or numpy. Without it (tests, ``harvester metrics``) the same code runs here.

A database that is missing or unreadable, a peer that is down, a Redis that refuses or a
refresh process that died leave the service up and are reported by ``/health`` (status
``degraded``); after a failed refresh the previous answers are served until one succeeds.
"""

from __future__ import annotations

import ctypes
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from harvester import __version__
from harvester.service.published import Published, unavailable
from harvester.service.refresh_metrics import RefreshMetrics

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_WINDOW",
    "REDIS_REPORT_KEY",
    "REDIS_UPDATED_KEY",
    "ServiceSettings",
    "ServiceState",
    "release_memory",
]

REDIS_REPORT_KEY = "harvester:obs:report"
REDIS_UPDATED_KEY = "harvester:obs:updated_at"
# As harvester.app.journal.DEFAULT_ACCOUNT and harvester.analytics.trades.DEFAULT_WINDOW
# (not imported: they pull pandas into the serving process; a test keeps them equal).
DEFAULT_ACCOUNT = "paper"
DEFAULT_WINDOW = 200


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


_TRIM = _malloc_trim()


def release_memory() -> None:
    """Give freed heap pages back to the system (glibc keeps them unless asked).

    A refresh frees the previous snapshot's 100k-row frames (the refresh process) or the
    previous answers (the serving process); without this the RSS ratchets up refresh after
    refresh. ctypes releases the GIL during the trim.
    """
    if _TRIM is not None:
        _TRIM(0)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """What ``harvester serve`` was asked to do.

    ``database`` None: the database and Redis URL of the harvester configuration
    (``HARVESTER_DATABASE_URL`` or the home's SQLite file; ``HARVESTER_REDIS_URL``), resolved
    by the refresh — in the child process, so the serving process needs no SQLAlchemy.
    """

    database: URL | None = None
    account: str = DEFAULT_ACCOUNT
    window: int = DEFAULT_WINDOW
    refresh_seconds: float = 30.0
    peers: tuple[str, ...] = ()
    redis_url: str | None = None


class _Refresher(Protocol):
    def refresh(self, now: datetime) -> Published: ...

    def close(self) -> None: ...


@dataclass
class ServiceState:
    """Holds the cache; thread-safe (handlers run in a thread pool).

    Readers never wait for a refresh in progress: they get the previous cache, which is
    swapped in one assignment when the new one is complete. With ``refresh_on_read`` (the
    default; the app turns it off when a background thread refreshes) a reader that finds the
    cache stale and no refresh running refreshes it first. ``http`` and ``redis`` are the
    clients of an in-process refresh (tests inject fakes); a child process makes its own.
    """

    settings: ServiceSettings
    clock: Callable[[], datetime] = _utc_now
    http: Any | None = None
    redis: Any | None = None
    refresh_on_read: bool = True
    child_process: bool = False
    lean: bool = False  # with child_process: a child per refresh, ended after its answer
    refresh_error: str | None = field(default=None, init=False)
    _refresher: _Refresher | None = field(default=None, init=False)
    _cache: Published | None = field(default=None, init=False)
    _attempted_at: datetime | None = field(default=None, init=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False)  # one refresh
    _counted: RefreshMetrics = field(default_factory=RefreshMetrics.create, init=False)

    def _make_refresher(self) -> _Refresher:
        if self.child_process:
            from harvester.service.worker import ChildRefresher

            return ChildRefresher(self.settings, keep_alive=not self.lean)
        from harvester.service.refresh import Refresher

        return Refresher(self.settings, http=self.http, redis=self.redis)

    def _refreshed(self, now: datetime) -> Published:
        from harvester.service.worker import RefreshFailed

        if self._refresher is None:
            self._refresher = self._make_refresher()
        started = time.perf_counter()
        try:
            published = self._refresher.refresh(now)
        except RefreshFailed as error:
            self.refresh_error = str(error)
            if self._cache is not None:
                return self._cache  # keep serving the last good answers
            return unavailable(now, account=self.settings.account,
                               database_label="unknown", peers=self.settings.peers)  # fmt: skip
        self.refresh_error = None
        self._counted.refreshed(now.timestamp(), time.perf_counter() - started)
        # The scrape: the refresh's metrics, then this process's count of refreshes.
        return replace(published, exposition=published.exposition + self._counted.exposition())

    def refresh(self) -> Published:
        """Refresh now (see the module docstring)."""
        with self._lock:
            now = self.clock()
            self._attempted_at = now
            cache = self._cache = self._refreshed(now)  # readers see the old or the new one
        release_memory()
        return cache

    def _stale(self) -> bool:
        attempted = self._attempted_at
        if attempted is None:
            return True
        return (self.clock() - attempted).total_seconds() >= self.settings.refresh_seconds

    def _current(self) -> Published:
        cache = self._cache
        if cache is not None and not (self.refresh_on_read and self._stale()):
            return cache
        if cache is not None and not self._lock.acquire(blocking=False):
            return cache  # another thread is refreshing: serve the previous cache meanwhile
        try:
            if cache is None:
                self._lock.acquire()
            cache = self._cache  # a refresh may have finished while we looked
            return self.refresh() if cache is None or self._stale() else cache
        finally:
            self._lock.release()

    @property
    def refresh_pid(self) -> int | None:
        """The refresh process's id while one runs (None when refreshing in this process)."""
        return getattr(self._refresher, "pid", None)

    def ready(self) -> bool:
        """True when reading the cache now will not refresh it (so never blocks)."""
        return self._cache is not None and not (self.refresh_on_read and self._stale())

    def published(self) -> Published:
        """The cached answers, refreshed first when stale."""
        return self._current()

    # ---- what the endpoints return ------------------------------------------------------

    def report(self) -> dict[str, Any]:
        """The Harvest Optimizer report, plus ``peers`` (their ``harvester_*`` samples)."""
        report: dict[str, Any] = json.loads(self.report_json())
        return report

    def report_json(self) -> bytes:
        """:meth:`report` as JSON, encoded at the refresh."""
        return self._current().report_json

    def metrics_text(self) -> bytes:
        """The Prometheus exposition of the refresh's registry, generated at the refresh."""
        return self._current().exposition

    def database_label(self) -> str:
        """The database read (password hidden)."""
        return self._current().database_label

    def health(self) -> dict[str, Any]:
        cache = self._current()
        degraded = (
            cache.database_error is not None
            or any(not p.up for p in cache.peers)
            or cache.redis_status.startswith("error")
            or self.refresh_error is not None
        )
        return {
            "status": "degraded" if degraded else "ok",
            "service": "harvester",
            "version": __version__,
            "database": cache.database_label,
            "database_error": cache.database_error,
            "refresh_error": self.refresh_error,
            "account": cache.account,
            "tracked_configs": cache.tracked_configs,
            "last_update": cache.refreshed_at.timestamp(),
            "refresh_seconds": self.settings.refresh_seconds,
            "peers": [
                {"url": p.url, "status": "up" if p.up else "unavailable", "error": p.error}
                for p in cache.peers
            ],
            "redis": cache.redis_status,
        }

    def close(self) -> None:
        """End the refresh (its child process, database pool and HTTP client)."""
        with self._lock:
            if self._refresher is not None:
                self._refresher.close()
                self._refresher = None
            elif self.http is not None:
                self.http.close()
