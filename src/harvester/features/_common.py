"""Small array helpers shared by the indicator modules."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from pandas.api.typing import Rolling

from harvester.core.errors import ConfigError
from harvester.core.types import FloatArray


def previous_bar(values: FloatArray) -> FloatArray:
    out = np.full(values.shape, np.nan)
    out[1:] = values[:-1]
    return out


def safe_divide(numerator: FloatArray, denominator: FloatArray, *, fill: float) -> FloatArray:
    # ``fill`` where the denominator is zero, NaN where either side is NaN; never a warning.
    out = np.full(np.broadcast_shapes(numerator.shape, denominator.shape), np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    out[(denominator == 0) & ~np.isnan(numerator)] = fill
    return out


def rolling(values: FloatArray, window: int) -> Rolling[pd.DataFrame]:
    return pd.DataFrame(values).rolling(window, min_periods=window)


def check_period(value: int, *, name: str, minimum: int = 1) -> int:
    if int(value) != value or value < minimum:
        raise ConfigError(f"{name} must be an integer of at least {minimum}; got {value!r}")
    return int(value)


def by_column_halves(kernel: Callable[[FloatArray], FloatArray], values: FloatArray) -> FloatArray:
    # Runs a per-symbol kernel (one that releases the GIL) on two halves of the symbols in
    # two threads; the symbols are independent, so the result is the same as one call.
    contiguous = np.ascontiguousarray(values, np.float64)
    half = contiguous.shape[1] // 2
    if half < 32:
        return kernel(contiguous)
    parts = (np.ascontiguousarray(contiguous[:, :half]), np.ascontiguousarray(contiguous[:, half:]))
    with ThreadPoolExecutor(max_workers=2) as pool:
        left, right = pool.map(kernel, parts)
    return np.hstack([left, right])
