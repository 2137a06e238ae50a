"""The service's state: a cached snapshot of the store, peers, metrics and the Redis report.

:meth:`ServiceState.current` returns the cached snapshot and refreshes it first when it is
``refresh_seconds`` old (by the injected clock, so tests move time without sleeping). A
refresh reads the store read-only, fetches every peer's ``/metrics``, updates the metrics and,
when Redis is configured, writes the report under ``harvester:obs:*`` — the service's only
write. A database that is missing or unreadable, a peer that is down or a Redis that refuses
leave the service up and are reported by ``/health`` (status ``degraded``).
"""

from __future__ import annotations

import ctypes
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi.encoders import jsonable_encoder
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from harvester import __version__
from harvester.analytics.recommendations import recommendations_payload
from harvester.analytics.trades import DEFAULT_WINDOW
from harvester.app.serve import DEFAULT_ACCOUNT, Snapshot, empty_snapshot, load_snapshot
from harvester.core.errors import HarvesterError
from harvester.service.metrics import (
    HarvesterMetrics,
    build_metrics,
    set_account,
    set_analytics,
    set_convictions,
)
from harvester.service.peers import PeerStatus, fetch_peer
from harvester.service.readonly import open_readonly
from harvester.store import Store

__all__ = [
    "REDIS_REPORT_KEY",
    "REDIS_UPDATED_KEY",
    "ServiceSettings",
    "ServiceState",
    "write_report",
]

REDIS_REPORT_KEY = "harvester:obs:report"
REDIS_UPDATED_KEY = "harvester:obs:updated_at"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """What ``harvester serve`` was asked to do."""

    database: URL
    account: str = DEFAULT_ACCOUNT
    window: int = DEFAULT_WINDOW
    refresh_seconds: float = 30.0
    peers: tuple[str, ...] = ()
    redis_url: str | None = None

    @property
    def database_label(self) -> str:
        return self.database.render_as_string(hide_password=True)


def write_report(client: Any, report: dict[str, Any], updated_at: float) -> None:
    """Store the latest report and its time under the observability namespace."""
    pipe = client.pipeline()
    pipe.set(REDIS_REPORT_KEY, json.dumps(report))
    pipe.set(REDIS_UPDATED_KEY, repr(updated_at))
    pipe.execute()


@dataclass(slots=True)
class _Cache:
    snapshot: Snapshot
    report: dict[str, Any]
    peers: list[PeerStatus]
    refreshed_at: datetime
    redis_status: str
    report_json: bytes = b""  # /report and /metrics, encoded once per refresh, not per request
    exposition: bytes = b""


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


_TRIM = _malloc_trim()


def _release_memory() -> None:
    # A refresh frees the previous snapshot's 100k-row frames (by reference count); glibc
    # keeps the freed pages unless asked, so without this the RSS ratchets up refresh after
    # refresh. No gc.collect(): a full collection would hold the GIL for ~0.2 s and stall
    # the requests; ctypes releases the GIL during the trim.
    if _TRIM is not None:
        _TRIM(0)


def _json_bytes(payload: dict[str, Any]) -> bytes:
    # As Starlette's JSONResponse encodes (NaN is not JSON: refuse it here, not per request).
    return json.dumps(
        jsonable_encoder(payload), ensure_ascii=False, allow_nan=False, separators=(",", ":")
    ).encode()


@dataclass
class ServiceState:
    """Holds the cache; thread-safe (handlers run in a thread pool).

    Readers never wait for a refresh in progress: they get the previous cache, which is
    swapped in one assignment when the new one is complete. With ``refresh_on_read`` (the
    default; the app turns it off when a background thread refreshes) a reader that finds the
    cache stale and no refresh running refreshes it first.
    """

    settings: ServiceSettings
    clock: Callable[[], datetime] = _utc_now
    http: httpx.Client = field(default_factory=httpx.Client)
    redis: Any | None = None
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    refresh_on_read: bool = True
    metrics: HarvesterMetrics = field(init=False)
    _store: Store | None = field(default=None, init=False)
    _cache: _Cache | None = field(default=None, init=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False)  # one refresh

    def __post_init__(self) -> None:
        self.metrics = build_metrics(self.registry)
        if self.redis is None and self.settings.redis_url:
            import redis  # only when Redis is configured

            self.redis = redis.Redis.from_url(self.settings.redis_url)

    # ---- reading ------------------------------------------------------------------------

    def _load(self, now: datetime) -> Snapshot:
        account = self.settings.account
        try:
            if self._store is None:
                self._store = open_readonly(self.settings.database)
            return load_snapshot(self._store, now=now, account=account,
                                 window=self.settings.window)  # fmt: skip
        except (HarvesterError, SQLAlchemyError) as error:
            message = " ".join(str(error).split())[:300]
            return empty_snapshot(now=now, account=account, error=message)

    def _publish(self, report: dict[str, Any], now: datetime) -> str:
        if self.redis is None:
            return "disabled"
        try:
            write_report(self.redis, report, now.timestamp())
        except Exception as error:  # any client failure: report it, keep serving
            return f"error: {type(error).__name__}: {error}"
        return "ok"

    def _update_metrics(self, snapshot: Snapshot, peers: list[PeerStatus], now: datetime) -> None:
        m = self.metrics
        set_account(m, snapshot.latest_equity, len(snapshot.positions))
        set_convictions(m, snapshot.signals)
        set_analytics(m, snapshot.by_regime, snapshot.by_exit, snapshot.recommendations)
        scores = [v for p in peers if (v := p.value("harvester_g_score")) is not None]
        finite = [v for v in scores if math.isfinite(v)]
        m.g_score.set(max(finite) if finite else math.nan)
        for peer in peers:
            m.peer_up.labels(peer.url).set(1.0 if peer.up else 0.0)
        m.reports.inc()
        m.last_update.set(now.timestamp())

    def refresh(self) -> _Cache:
        """Read everything again now (see the module docstring)."""
        with self._lock:
            started = time.perf_counter()
            now = self.clock()
            snapshot = self._load(now)
            peers = [fetch_peer(self.http, url) for url in self.settings.peers]
            report = {**snapshot.report, "peers": [p.to_dict() for p in peers]}
            self._update_metrics(snapshot, peers, now)
            cache = _Cache(snapshot, report, peers, now, self._publish(report, now),
                           report_json=_json_bytes(report))  # fmt: skip
            self.metrics.refresh_seconds.observe(time.perf_counter() - started)
            cache.exposition = generate_latest(self.registry)
            self._cache = cache  # readers see the old cache or the complete new one
        _release_memory()
        return cache

    def _stale(self, cache: _Cache) -> bool:
        age = (self.clock() - cache.refreshed_at).total_seconds()
        return age >= self.settings.refresh_seconds

    def _current(self) -> _Cache:
        cache = self._cache
        if cache is not None and not (self.refresh_on_read and self._stale(cache)):
            return cache
        if cache is not None and not self._lock.acquire(blocking=False):
            return cache  # another thread is refreshing: serve the previous cache meanwhile
        try:
            if cache is None:
                self._lock.acquire()
            cache = self._cache  # a refresh may have finished while we looked
            return self.refresh() if cache is None or self._stale(cache) else cache
        finally:
            self._lock.release()

    def ready(self) -> bool:
        """True when reading the cache now will not refresh it (so never blocks)."""
        cache = self._cache
        return cache is not None and not (self.refresh_on_read and self._stale(cache))

    def current(self) -> Snapshot:
        """The cached snapshot, refreshed first when stale."""
        return self._current().snapshot

    # ---- what the endpoints return ------------------------------------------------------

    def report(self) -> dict[str, Any]:
        """The Harvest Optimizer report, plus ``peers`` (their ``harvester_*`` samples)."""
        return self._current().report

    def recommendations(self) -> dict[str, Any]:
        cache = self._current()
        recs = cache.snapshot.recommendations
        return recommendations_payload(recs, timestamp=cache.refreshed_at.timestamp())

    def report_json(self) -> bytes:
        """:meth:`report` as JSON, encoded at the refresh."""
        return self._current().report_json

    def metrics_text(self) -> bytes:
        """The Prometheus exposition of this service's registry, generated at the refresh."""
        return self._current().exposition

    def health(self) -> dict[str, Any]:
        cache = self._current()
        snap = cache.snapshot
        down = [p for p in cache.peers if not p.up]
        degraded = snap.error is not None or bool(down) or cache.redis_status.startswith("error")
        return {
            "status": "degraded" if degraded else "ok",
            "service": "harvester",
            "version": __version__,
            "database": self.settings.database_label,
            "database_error": snap.error,
            "account": snap.account,
            "tracked_configs": len(snap.by_regime),
            "last_update": cache.refreshed_at.timestamp(),
            "refresh_seconds": self.settings.refresh_seconds,
            "peers": [
                {"url": p.url, "status": "up" if p.up else "unavailable", "error": p.error}
                for p in cache.peers
            ],
            "redis": cache.redis_status,
        }

    def close(self) -> None:
        """Close the database pool and the HTTP client."""
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
            self.http.close()
