"""Every indicator TA-Lib also has equals TA-Lib's on the bundled sample, to 1e-8.

TA-Lib works on one series at a time, so the test loops over symbols; the library does not.
Values are compared from TA-Lib's first valid bar on: our seeding matches TA-Lib's, so there is
no extra burn-in. Two features start earlier than TA-Lib by design: the true range of a
symbol's first bar is its high − low (TA-Lib leaves it NaN), and the MACD line is valid from
bar ``slow - 1`` (TA-Lib hides it until the signal line is ready).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pytest

from harvester.core.types import FloatArray
from harvester.data.bundled import load_sample
from harvester.data.panel import Panel
from harvester.features import FEATURES

talib = pytest.importorskip("talib", reason="TA-Lib is not installed (pip install TA-Lib)")

TOLERANCE = 1e-8


@cache
def _sample() -> Panel:
    return load_sample()


def _ours(name: str, **params: Any) -> FloatArray:
    return FEATURES.compute(_sample(), name, **params)


def _theirs(compute: Callable[..., Any], fields: tuple[str, ...]) -> FloatArray:
    panel = _sample()
    columns = [
        np.asarray(compute(*(panel.array(f)[:, s].copy() for f in fields)), dtype=np.float64)
        for s in range(panel.shape[1])
    ]
    return np.column_stack(columns)


def _assert_agrees(ours: FloatArray, theirs: FloatArray) -> None:
    first = int(np.argmax(~np.isnan(theirs[:, 0])))
    assert not np.isnan(ours[first:]).any()
    np.testing.assert_allclose(ours[first:], theirs[first:], rtol=TOLERANCE, atol=TOLERANCE)


HLC = ("high", "low", "close")
CASES: dict[str, tuple[str, dict[str, Any], Callable[..., Any], tuple[str, ...]]] = {
    "sma": ("sma", {"period": 20}, lambda c: talib.SMA(c, 20), ("close",)),
    "ema": ("ema", {"period": 20}, lambda c: talib.EMA(c, 20), ("close",)),
    "ema_3": ("ema", {"period": 3}, lambda c: talib.EMA(c, 3), ("close",)),
    "rsi": ("rsi", {"period": 14}, lambda c: talib.RSI(c, 14), ("close",)),
    "rsi_2": ("rsi", {"period": 2}, lambda c: talib.RSI(c, 2), ("close",)),
    "atr": ("atr", {"period": 14}, lambda h, lo, c: talib.ATR(h, lo, c, 14), HLC),
    "atr_20": ("atr", {"period": 20}, lambda h, lo, c: talib.ATR(h, lo, c, 20), HLC),
    "true_range": ("true_range", {}, talib.TRANGE, HLC),
    "adx": ("adx", {"period": 14}, lambda h, lo, c: talib.ADX(h, lo, c, 14), HLC),
    "adx_5": ("adx", {"period": 5}, lambda h, lo, c: talib.ADX(h, lo, c, 5), HLC),
    "macd": ("macd", {}, lambda c: talib.MACD(c, 12, 26, 9)[0], ("close",)),
    "macd_signal": ("macd_signal", {}, lambda c: talib.MACD(c, 12, 26, 9)[1], ("close",)),
    "macd_hist": ("macd_hist", {}, lambda c: talib.MACD(c, 12, 26, 9)[2], ("close",)),
    "bb_upper": ("bb_upper", {}, lambda c: talib.BBANDS(c, 20, 2.0, 2.0)[0], ("close",)),
    "bb_middle": ("bb_middle", {}, lambda c: talib.BBANDS(c, 20, 2.0, 2.0)[1], ("close",)),
    "bb_lower": ("bb_lower", {}, lambda c: talib.BBANDS(c, 20, 2.0, 2.0)[2], ("close",)),
    "linreg_slope": ("linreg_slope", {}, lambda c: talib.LINEARREG_SLOPE(c, 20), ("close",)),
    "returns": ("returns", {}, lambda c: talib.ROCR(c, 1) - 1.0, ("close",)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_feature_equals_talib(case: str) -> None:
    name, params, reference, fields = CASES[case]
    _assert_agrees(_ours(name, **params), _theirs(reference, fields))


def test_bollinger_width_equals_talib_bands() -> None:
    upper, middle, lower = (
        _theirs(lambda c, k=k: talib.BBANDS(c, 20, 2.0, 2.0)[k], ("close",)) for k in range(3)
    )
    _assert_agrees(_ours("bb_width"), (upper - lower) / middle)


def test_linreg_r2_equals_squared_talib_correlation() -> None:
    times = np.arange(_sample().shape[0], dtype=np.float64)
    correlation = _theirs(lambda c: talib.CORREL(times, c, 20), ("close",))
    _assert_agrees(_ours("linreg_r2"), correlation**2)


def test_log_returns_equal_talib_rate_of_change() -> None:
    _assert_agrees(_ours("log_returns"), _theirs(lambda c: np.log(talib.ROCR(c, 1)), ("close",)))
