"""Options shared by several commands, declared once."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from harvester.cli.render import DownloadProgress
from harvester.config.loader import ConfigRequest

if TYPE_CHECKING:
    from harvester.app.context import AppContext
    from harvester.data.loader import LoadedData

__all__ = [
    "AssetOption",
    "ConfigFileOption",
    "DataOption",
    "EndOption",
    "ExecutorOption",
    "JsonOption",
    "ProfileOption",
    "SetOption",
    "StartOption",
    "WorkersOption",
    "context_from",
    "load_with_progress",
]

ConfigFileOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="Base JSON config file (default: <home>/config.json if present)."
    ),
]
ProfileOption = Annotated[
    str | None,
    typer.Option("--profile", help="Risk profile: risk_low, risk_balanced, risk_strict or custom."),
]
AssetOption = Annotated[
    str | None,
    typer.Option("--asset", help="Apply the asset-class overrides of this symbol (e.g. BTC-USD)."),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override one key, e.g. --set risk_params.max_drawdown_pct=10."),
]
DataOption = Annotated[
    str,
    typer.Option(
        "--data",
        help="Data spec: sample, synthetic:symbols=N,years=Y,seed=S, a file or folder, "
        "yfinance:AAPL,MSFT.",
    ),
]
StartOption = Annotated[str | None, typer.Option("--start", help="First date (YYYY-MM-DD).")]
EndOption = Annotated[str | None, typer.Option("--end", help="Last date (YYYY-MM-DD).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ExecutorOption = Annotated[
    str,
    typer.Option(
        "--executor",
        help="Where tasks run: serial, local (processes), local:N, dask-local, or "
        "dask://HOST:PORT (a running Dask scheduler). Results are identical on each.",
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        help="Processes for local and dask-local (default: CPUs for local, 2 for dask-local).",
    ),
]


def load_with_progress(ctx: AppContext, spec: str, console: Console) -> LoadedData:
    """Load ``spec``, drawing a progress bar while symbols download."""
    from harvester.app.data import load_data

    with DownloadProgress(console) as progress:
        return load_data(ctx, spec, progress=progress)


def context_from(
    *,
    config_file: Path | None = None,
    profile: str | None = None,
    asset: str | None = None,
    assignments: list[str] | None = None,
    start: str | None = None,
    end: str | None = None,
) -> AppContext:
    """Build the app context from the shared options and the real environment."""
    from harvester.app.context import open_context

    request = ConfigRequest(
        base_file=config_file, profile=profile, asset=asset, assignments=tuple(assignments or ())
    )
    ctx = open_context(request, environ=os.environ, cwd=Path.cwd())
    return ctx.with_data_range(start, end)
