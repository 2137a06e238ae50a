"""``harvester serve`` (the read-only monitoring service) and ``harvester metrics``.

See ``docs/monitoring.md``, :mod:`harvester.service` and :mod:`harvester.app.serve`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from harvester.cli.defaults import DEFAULT_ACCOUNT, DEFAULT_WINDOW
from harvester.cli.render import make_console
from harvester.core.errors import ConfigError

if TYPE_CHECKING:
    from harvester.service import ServiceSettings
    from harvester.service.peers import PeerSample

__all__ = ["register"]

AccountOption = Annotated[str, typer.Option("--account", help="Account to show.")]
WindowOption = Annotated[int, typer.Option("--window", min=1, help="Analyse the last N trades.")]


def _settings(
    account: str, window: int, refresh_seconds: float, peers: list[str] | None
) -> ServiceSettings:
    from harvester.service import ServiceSettings

    # No database here: the refresh resolves the configured one (HARVESTER_DATABASE_URL or
    # the home's SQLite file, and HARVESTER_REDIS_URL) where SQLAlchemy is loaded anyway.
    return ServiceSettings(account=account, window=window, refresh_seconds=refresh_seconds,
                           peers=tuple(peers or ()))  # fmt: skip


def serve_command(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8000,
    refresh_seconds: Annotated[
        float, typer.Option("--refresh-seconds", min=1.0, help="Re-read the store this often.")
    ] = 30.0,
    peers: Annotated[
        list[str] | None,
        typer.Option("--peer", help="Another harvester process's /metrics URL (repeatable)."),
    ] = None,
    account: AccountOption = DEFAULT_ACCOUNT,
    window: WindowOption = DEFAULT_WINDOW,
    keep_refresh_process: Annotated[
        bool,
        typer.Option(
            "--keep-refresh-process",
            help="Keep the refresh process between refreshes: ~1 s less per refresh, but "
            "its memory (~330 MB on 100,000 trades) stays. By default only the serving "
            "process (under 100 MB) remains between refreshes.",
        ),
    ] = False,
) -> None:
    """Serve /health, /metrics, /report, the JSON API and the dashboard (read-only)."""
    import uvicorn  # the server is only needed here

    from harvester.service import ServiceState, create_app

    # The refresh runs in a child process: this one serves bytes and never loads pandas.
    settings = _settings(account, window, refresh_seconds, peers)
    state = ServiceState(settings, child_process=True, lean=not keep_refresh_process)
    state.refresh()
    if state.refresh_error is not None:
        state.close()
        raise ConfigError(f"harvester serve cannot read its data: {state.refresh_error}")
    console = make_console(stderr=True)
    console.print(f"harvester serve: {state.database_label()} on http://{host}:{port}/")
    uvicorn.run(create_app(state, refresh_in_background=True), host=host, port=port,
                log_level="warning")  # fmt: skip


def _metrics_url(url: str) -> str:
    return url if url.rstrip("/").endswith("/metrics") else url.rstrip("/") + "/metrics"


def _remote(url: str) -> str:
    import httpx

    try:
        response = httpx.get(_metrics_url(url), timeout=5.0)
        response.raise_for_status()
    except httpx.HTTPError as error:
        raise ConfigError(f"cannot read {_metrics_url(url)}: {error}") from None
    return response.text


def _table(samples: list[PeerSample], source: str) -> Table:
    table = Table(title=f"harvester metrics ({source})")
    for name, justify in (("metric", "left"), ("labels", "left"), ("value", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for s in samples:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        value = "-" if math.isnan(s.value) else f"{s.value:,.4g}"
        table.add_row(s.name, labels, value)
    return table


def metrics_command(
    url: Annotated[
        str | None,
        typer.Option("--url", help="A running service (base URL or its /metrics URL)."),
    ] = None,
    account: AccountOption = DEFAULT_ACCOUNT,
    window: WindowOption = DEFAULT_WINDOW,
) -> None:
    """Print the current harvester_* metric values (from --url, else computed from the store)."""
    from harvester.service import ServiceState
    from harvester.service.peers import parse_samples

    if url is not None:
        text, source = _remote(url), _metrics_url(url)
    else:
        state = ServiceState(_settings(account, window, 30.0, None))
        try:
            text, source = state.metrics_text().decode(), state.database_label()
        finally:
            state.close()
    make_console().print(_table(parse_samples(text), source))


def register(app: typer.Typer) -> None:
    """Add ``harvester serve`` and ``harvester metrics`` to the root app."""
    app.command("serve")(serve_command)
    app.command("metrics")(metrics_command)
