"""One refresh: read the store, fetch the peers, update the metrics, write Redis, encode.

:class:`Refresher` does the heavy work (pandas, SQLAlchemy, the analytics) and returns a
:class:`~harvester.service.published.Published` of encoded bytes. ``harvester serve`` runs it
in a child process (:mod:`harvester.service.worker`); tests and ``harvester metrics`` run it
in their own process. Either way the bytes come from this code.

A database that is missing or unreadable, a peer that is down or a Redis that refuses do not
raise: the result says so (``database_error``, the peer's error, ``redis_status``).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import datetime
from typing import Any

import httpx
import pandas as pd
from fastapi.encoders import jsonable_encoder
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from harvester.analytics.recommendations import recommendations_payload
from harvester.app.serve import (
    Snapshot,
    configured_service,
    empty_snapshot,
    load_snapshot,
    records,
)
from harvester.core.errors import HarvesterError
from harvester.service.metrics import (
    HarvesterMetrics,
    build_metrics,
    set_account,
    set_analytics,
    set_convictions,
)
from harvester.service.peers import PeerStatus, fetch_peer
from harvester.service.published import BLOCK_ROWS, PeerHealth, Published, TradeRows, json_bytes
from harvester.service.readonly import open_readonly
from harvester.service.state import (
    REDIS_REPORT_KEY,
    REDIS_UPDATED_KEY,
    ServiceSettings,
    release_memory,
)
from harvester.store import Store

__all__ = ["Refresher", "encode_trades", "write_report"]


def write_report(client: Any, report: dict[str, Any], updated_at: float) -> None:
    """Store the latest report and its time under the observability namespace."""
    pipe = client.pipeline()
    pipe.set(REDIS_REPORT_KEY, json.dumps(report))
    pipe.set(REDIS_UPDATED_KEY, repr(updated_at))
    pipe.execute()


def _encoded(payload: Any) -> bytes:
    return json_bytes(jsonable_encoder(payload))


def _name(value: Any) -> str | None:
    return None if value is None else str(value)


def encode_trades(journal: pd.DataFrame, *, block_rows: int = BLOCK_ROWS) -> TradeRows:
    """The journal (oldest exit first) as :class:`TradeRows`, newest first."""
    rows = (
        (json_bytes(row), _name(row["symbol"]), _name(row["regime"]), _name(row["exit_reason"]))
        for row in records(journal.iloc[::-1])  # records: a missing value is None already
    )
    return TradeRows.build(rows, block_rows=block_rows)


def _signals_payload(snap: Snapshot) -> dict[str, Any]:
    day = None if snap.signals.empty else snap.signals["date"].iloc[0].isoformat()
    return {"date": day, "signals": records(snap.signals), "watchlist": records(snap.watchlist)}


class Refresher:
    """Reads and encodes everything the service serves (see the module docstring).

    ``settings.database`` None: the database and Redis of the harvester configuration,
    resolved here (so the serving process needs neither SQLAlchemy nor the configuration).
    """

    def __init__(
        self, settings: ServiceSettings, *, http: httpx.Client | None = None, redis: Any = None
    ) -> None:
        if settings.database is None:
            database, redis_url = configured_service()
            settings = replace(settings, database=database,
                               redis_url=settings.redis_url or redis_url)  # fmt: skip
        self.settings = settings
        self.database = settings.database
        self.http = http if http is not None else httpx.Client()
        if redis is None and settings.redis_url:
            import redis as redis_client  # only when Redis is configured

            redis = redis_client.Redis.from_url(settings.redis_url)
        self.redis = redis
        self.registry = CollectorRegistry()
        self.metrics: HarvesterMetrics = build_metrics(self.registry)
        self._store: Store | None = None
        self._journal: pd.DataFrame | None = None  # the journal of the last trades encoded
        self._trades = TradeRows.build(())

    @property
    def database_label(self) -> str:
        assert self.database is not None  # resolved in __init__
        return self.database.render_as_string(hide_password=True)

    def _load(self, now: datetime) -> Snapshot:
        account = self.settings.account
        try:
            if self._store is None:
                assert self.database is not None
                self._store = open_readonly(self.database)
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

    def _encoded_trades(self, journal: pd.DataFrame) -> TradeRows:
        # Encoding 100k trades is most of a refresh; the journal rarely changes between two.
        # The same object back tells the child process not to send the rows again.
        if self._journal is None or not journal.equals(self._journal):
            self._journal, self._trades = journal, encode_trades(journal)
        return self._trades

    def _encode(self, snap: Snapshot, report: dict[str, Any], now: datetime) -> dict[str, Any]:
        recommendations = recommendations_payload(snap.recommendations, timestamp=now.timestamp())
        equity = {"account": snap.account, "latest": snap.latest_equity,
                  "rows": records(snap.equity)}  # fmt: skip
        positions = {"account": snap.account, "count": len(snap.positions),
                     "positions": records(snap.positions)}  # fmt: skip
        return {
            "report_json": _encoded(report),
            "recommendations_json": _encoded(recommendations),
            "equity_json": _encoded(equity),
            "positions_json": _encoded(positions),
            "signals_json": _encoded(_signals_payload(snap)),
            "trades": self._encoded_trades(snap.journal),
        }

    def refresh(self, now: datetime) -> Published:
        """Read everything again as of ``now`` (see the module docstring)."""
        snap = self._load(now)
        peers = [fetch_peer(self.http, url) for url in self.settings.peers]
        report = {**snap.report, "peers": [p.to_dict() for p in peers]}
        self._update_metrics(snap, peers, now)
        redis_status = self._publish(report, now)
        encoded = self._encode(snap, report, now)
        published = Published(
            refreshed_at=now,
            account=snap.account,
            database_label=self.database_label,
            database_error=snap.error,
            tracked_configs=len(snap.by_regime),
            redis_status=redis_status,
            peers=tuple(PeerHealth(p.url, p.up, p.error) for p in peers),
            exposition=generate_latest(self.registry),
            **encoded,
        )
        del snap, report, encoded
        release_memory()
        return published

    def close(self) -> None:
        """Close the database pool and the HTTP client."""
        if self._store is not None:
            self._store.close()
            self._store = None
        self.http.close()
