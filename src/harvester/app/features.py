"""The feature-frame use case: compute a feature set for a universe and write it long."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from harvester.core.paths import atomic_path
from harvester.data.panel import Panel
from harvester.features.registry import FEATURES

__all__ = ["feature_frame", "write_feature_frame"]


def feature_frame(
    panel: Panel, names: tuple[str, ...], *, progress: Callable[[int, int], None] | None = None
) -> pd.DataFrame:
    """Return ``date, symbol`` and one column per feature (default parameters), long format.

    Rows are every (date, symbol) with a close; columns are named after the feature and its
    parameters (``rsi_14``, ``macd_12_26_9``).
    """
    n_times, n_symbols = panel.shape
    has_bar = ~np.isnan(panel.array("close")).reshape(-1)
    columns: dict[str, object] = {
        "date": np.repeat(panel.index.to_numpy(), n_symbols)[has_bar],
        "symbol": np.tile(np.array(panel.symbols, dtype=object), n_times)[has_bar],
    }
    for name, values in FEATURES.compute_many(panel, names, progress=progress).items():
        columns[FEATURES.column_name(name, {})] = values.reshape(-1)[has_bar]
    return pd.DataFrame(columns)


def write_feature_frame(frame: pd.DataFrame, path: Path) -> Path:
    """Write the frame as Parquet (or CSV for a ``.csv`` path), atomically."""
    with atomic_path(path) as tmp:
        if path.suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
    return path
