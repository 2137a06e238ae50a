"""Small array helpers shared by the indicator modules."""

from __future__ import annotations

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
