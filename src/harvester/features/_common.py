"""Small array helpers shared by the indicator modules."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from harvester.core.errors import ConfigError
from harvester.core.types import FloatArray
from harvester.features._kernels import rolling_max_nb, safe_divide_nb, where_traded_nb
from harvester.features._memo import shared
from harvester.features._window_kernels import rolling_sum_pd_nb, rolling_var_pd_nb


def previous_bar(values: FloatArray) -> FloatArray:
    out = np.full(values.shape, np.nan)
    out[1:] = values[:-1]
    return out


def where_traded(series: FloatArray, close: FloatArray) -> FloatArray:
    """Repeat a market-wide (time,) series for every symbol, NaN where a symbol has no bar."""
    return where_traded_nb(
        np.asarray(series, np.float64).reshape(-1), np.asarray(close, np.float64)
    )


def safe_divide(numerator: FloatArray, denominator: FloatArray, *, fill: float) -> FloatArray:
    # ``fill`` where the denominator is zero, NaN where either side is NaN; never a warning.
    if numerator.ndim == 2 and numerator.shape == denominator.shape:
        return safe_divide_nb(
            numerator.astype(np.float64, copy=False),
            denominator.astype(np.float64, copy=False),
            float(fill),
        )
    out = np.full(np.broadcast_shapes(numerator.shape, denominator.shape), np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    out[(denominator == 0) & ~np.isnan(numerator)] = fill
    return out


@shared
def rolling_mean(values: FloatArray, *, window: int) -> FloatArray:
    """Mean of the last ``window`` values; NaN while the window holds a missing value.

    Equal to ``pd.DataFrame(values).rolling(window, min_periods=window).mean()`` bit for bit.
    """
    return rolling_sum_pd_nb(np.ascontiguousarray(values, np.float64), window, True)


def rolling_sum(values: FloatArray, *, window: int) -> FloatArray:
    """Sum of the last ``window`` values (pandas' rolling sum, bit for bit)."""
    return rolling_sum_pd_nb(np.ascontiguousarray(values, np.float64), window, False)


def rolling_std(values: FloatArray, *, window: int, ddof: int) -> FloatArray:
    """Standard deviation of the last ``window`` values (pandas' rolling std, bit for bit)."""
    variance = rolling_var_pd_nb(np.ascontiguousarray(values, np.float64), window, ddof)
    return np.sqrt(np.maximum(variance, 0.0))


@shared
def rolling_highest(values: FloatArray, *, window: int) -> FloatArray:
    """Largest of the last ``window`` values; NaN while the window holds a missing value."""
    return rolling_max_nb(np.ascontiguousarray(values, np.float64), window)


@shared
def rolling_lowest(values: FloatArray, *, window: int) -> FloatArray:
    """Smallest of the last ``window`` values; NaN while the window holds a missing value."""
    return -rolling_max_nb(-np.ascontiguousarray(values, np.float64), window)


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
