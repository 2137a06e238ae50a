"""``harvester features``: compute a feature set for a universe and write it to a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harvester.cli.options import (
    ConfigFileOption,
    DataOption,
    EndOption,
    StartOption,
    context_from,
    load_with_progress,
)
from harvester.cli.render import DownloadProgress, make_console


def features_command(
    out: Annotated[Path, typer.Option("--out", help="Parquet (or .csv) file to write.")],
    data: DataOption = "sample",
    feature_set_name: Annotated[
        str, typer.Option("--set", help="Feature set: technical, panic, rally, brain or all.")
    ] = "all",
    start: StartOption = None,
    end: EndOption = None,
    config_file: ConfigFileOption = None,
    assignments: Annotated[list[str] | None, typer.Option("--config-set", hidden=True)] = None,
) -> None:
    """Compute a feature set (long format: date, symbol, one column per feature)."""
    from harvester.app.features import feature_frame, write_feature_frame
    from harvester.features.sets import feature_set

    names = feature_set(feature_set_name)
    ctx = context_from(config_file=config_file, assignments=assignments, start=start, end=end)
    console = make_console()
    loaded = load_with_progress(ctx, data, console)
    with DownloadProgress(console, label="computing") as progress:
        frame = feature_frame(loaded.panel, names, progress=progress)
    path = write_feature_frame(frame, out)
    rows, columns = frame.shape
    console.print(f"wrote {rows} rows × {columns - 2} features of {loaded.source} to {path}")


def register(app: typer.Typer) -> None:
    """Add the features command to the root app."""
    app.command("features")(features_command)
