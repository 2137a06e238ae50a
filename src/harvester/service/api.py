"""The FastAPI app of ``harvester serve``: monitoring endpoints, the JSON API and the dashboard.

- ``/health``, ``/metrics`` (Prometheus text), ``/report``, ``/recommendations``: the
  Harvest Optimizer's endpoints;
- ``/api/equity``, ``/api/positions``, ``/api/trades``, ``/api/signals``: what the dashboard
  draws, from the cached snapshot;
- ``/`` and ``/static/*``: the dashboard, a page with bundled JS and CSS (no CDN);
- ``/openapi.json``: the API description (``/docs`` is FastAPI's Swagger UI, whose assets
  come from a CDN: it needs internet, the JSON does not).

Every handler is read-only; see :mod:`harvester.service.state` for the refresh.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from harvester import __version__
from harvester.app.serve import Snapshot, filter_trades, records
from harvester.service.state import ServiceState

__all__ = ["STATIC_DIR", "create_app"]

STATIC_DIR = Path(str(files("harvester.service") / "static"))
_MAX_ROWS = 100_000


def _background(state: ServiceState, stop: threading.Event) -> None:
    # Keeps the metrics and the Redis report fresh when nobody asks (Event.wait is the clock).
    while not stop.wait(state.settings.refresh_seconds):
        state.refresh()


def _lifespan(state: ServiceState, refresh_in_background: bool) -> Any:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        if refresh_in_background:
            state.refresh_on_read = False  # the thread refreshes; requests never wait for it
            # The serving process: move what start-up made (modules, classes, the first
            # snapshot) out of the collector's sight, so the full collections a refresh
            # triggers scan little and hold the GIL for ms instead of ~0.2 s.
            gc.collect()
            gc.freeze()
            threading.Thread(target=_background, args=(state, stop), daemon=True).start()
        try:
            yield
        finally:
            stop.set()
            state.close()

    return lifespan


async def _cached(state: ServiceState, read: Callable[[], bytes]) -> bytes:
    # Pre-encoded bytes straight from the event loop: no hop to the thread pool, which waits
    # for the GIL behind a background refresh; a refresh due now runs in the pool instead.
    return read() if state.ready() else await run_in_threadpool(read)


def _add_monitoring(app: FastAPI, state: ServiceState) -> None:
    @app.get("/health", tags=["monitoring"])
    def health() -> dict[str, Any]:
        """Service status; ``degraded`` when the database, a peer or Redis has a problem."""
        return state.health()

    @app.get("/metrics", tags=["monitoring"], response_class=Response)
    async def metrics() -> Response:
        """Prometheus text exposition of the ``harvester_*`` metrics."""
        return Response(await _cached(state, state.metrics_text), media_type=CONTENT_TYPE_LATEST)

    @app.get("/report", tags=["monitoring"], response_model=dict[str, Any])
    async def report() -> Response:
        """Performance by regime, recommendations, top performers, improvement areas."""
        return Response(await _cached(state, state.report_json), media_type="application/json")

    @app.get("/recommendations", tags=["monitoring"])
    def recommendations() -> dict[str, Any]:
        """The current recommendations only (advice: nothing is changed)."""
        return state.recommendations()


def _add_api(app: FastAPI, state: ServiceState) -> None:
    @app.get("/api/equity", tags=["api"])
    def equity() -> dict[str, Any]:
        """Daily equity with day P&L and drawdown (a fraction of the running peak)."""
        snap = state.current()
        return {"account": snap.account, "latest": snap.latest_equity,
                "rows": records(snap.equity)}  # fmt: skip

    @app.get("/api/positions", tags=["api"])
    def positions() -> dict[str, Any]:
        """The open positions."""
        snap = state.current()
        return {"account": snap.account, "count": len(snap.positions),
                "positions": records(snap.positions)}  # fmt: skip

    @app.get("/api/trades", tags=["api"])
    def trades(
        symbol: str | None = None,
        regime: str | None = None,
        exit_type: str | None = None,
        limit: Annotated[int, Query(ge=1, le=_MAX_ROWS)] = 200,
    ) -> dict[str, Any]:
        """Closed trades, newest first, filtered by symbol, regime and exit type."""
        snap = state.current()
        rows = filter_trades(
            snap.journal, symbol=symbol, regime=regime, exit_type=exit_type, limit=limit
        )
        return {"count": len(rows), "trades": records(rows), "filters": _choices(snap)}

    @app.get("/api/signals", tags=["api"])
    def signals() -> dict[str, Any]:
        """The latest day's signals and the latest scan's watchlist."""
        snap = state.current()
        day = None if snap.signals.empty else snap.signals["date"].iloc[0].isoformat()
        return {"date": day, "signals": records(snap.signals),
                "watchlist": records(snap.watchlist)}  # fmt: skip


def _choices(snap: Snapshot) -> dict[str, list[str]]:
    journal = snap.journal
    return {
        "symbol": sorted(journal["symbol"].dropna().astype(str).unique()),
        "regime": sorted(journal["regime"].fillna("unknown").astype(str).unique()),
        "exit_type": sorted(journal["exit_reason"].dropna().astype(str).unique()),
    }


def create_app(state: ServiceState, *, refresh_in_background: bool = False) -> FastAPI:
    """The app over ``state``; closes it on shutdown."""
    app = FastAPI(
        title="harvester",
        version=__version__,
        description="Read-only trade analytics, monitoring and dashboard (docs/monitoring.md).",
        lifespan=_lifespan(state, refresh_in_background),
    )
    _add_monitoring(app, state)
    _add_api(app, state)

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        # Browsers ask for it on their own; an empty answer keeps their console free of 404s.
        return Response(status_code=204)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
