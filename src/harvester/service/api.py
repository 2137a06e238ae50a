"""The FastAPI app of ``harvester serve``: monitoring endpoints, the JSON API and the dashboard.

- ``/health``, ``/metrics`` (Prometheus text), ``/report``, ``/recommendations``: the
  Harvest Optimizer's endpoints;
- ``/api/equity``, ``/api/positions``, ``/api/trades``, ``/api/signals``: what the dashboard
  draws, encoded at the refresh (``/api/trades`` filters the encoded rows per request);
- ``/`` and ``/static/*``: the dashboard, a page with bundled JS and CSS (no CDN);
- ``/openapi.json``: the API description (``/docs`` is FastAPI's Swagger UI, whose assets
  come from a CDN: it needs internet, the JSON does not).

Every handler is read-only and serves bytes made by the refresh; see
:mod:`harvester.service.state`. This module and the state import no pandas, SQLAlchemy or
numpy: ``harvester serve`` keeps those in its refresh process.
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
from harvester.service.published import Published
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
            # answers) out of the collector's sight, so a full collection scans little.
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
    # Pre-encoded bytes straight from the event loop: no hop to the thread pool; a refresh
    # due now (refresh on read) runs in the pool instead.
    return read() if state.ready() else await run_in_threadpool(read)


def _json_route(app: FastAPI, path: str, tag: str, read: Callable[[Published], bytes],
                state: ServiceState, doc: str) -> None:  # fmt: skip
    async def endpoint() -> Response:
        body = await _cached(state, lambda: read(state.published()))
        return Response(body, media_type="application/json")

    endpoint.__doc__ = doc
    app.get(path, tags=[tag], response_model=dict[str, Any], name=path.strip("/"))(endpoint)


def _add_monitoring(app: FastAPI, state: ServiceState) -> None:
    @app.get("/health", tags=["monitoring"])
    def health() -> dict[str, Any]:
        """Service status; ``degraded`` when the database, a peer, Redis or the refresh has
        a problem."""
        return state.health()

    @app.get("/metrics", tags=["monitoring"], response_class=Response)
    async def metrics() -> Response:
        """Prometheus text exposition of the ``harvester_*`` metrics."""
        return Response(await _cached(state, state.metrics_text), media_type=CONTENT_TYPE_LATEST)

    _json_route(app, "/report", "monitoring", lambda p: p.report_json, state,
                "Performance by regime, recommendations, top performers, improvement "
                "areas.")  # fmt: skip
    _json_route(app, "/recommendations", "monitoring", lambda p: p.recommendations_json, state,
                "The current recommendations only (advice: nothing is changed).")  # fmt: skip


def _add_api(app: FastAPI, state: ServiceState) -> None:
    _json_route(app, "/api/equity", "api", lambda p: p.equity_json, state,
                "Daily equity with day P&L and drawdown (a fraction of the running "
                "peak).")  # fmt: skip
    _json_route(app, "/api/positions", "api", lambda p: p.positions_json, state,
                "The open positions.")  # fmt: skip
    _json_route(app, "/api/signals", "api", lambda p: p.signals_json, state,
                "The latest day's signals and the latest scan's watchlist.")  # fmt: skip

    @app.get("/api/trades", tags=["api"], response_model=dict[str, Any])
    def trades(
        symbol: str | None = None,
        regime: str | None = None,
        exit_type: str | None = None,
        limit: Annotated[int, Query(ge=1, le=_MAX_ROWS)] = 200,
    ) -> Response:
        """Closed trades, newest first, filtered by symbol, regime and exit type."""
        table = state.published().trades
        rows = table.select(symbol=symbol, regime=regime, exit_type=exit_type, limit=limit)
        return Response(table.response(rows), media_type="application/json")


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
