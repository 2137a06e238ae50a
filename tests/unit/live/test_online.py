"""Online indicators equal the batch features of the signal library on the same data."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harvester.data.synthetic import generate_market, parse_synthetic_spec
from harvester.features import FEATURES
from harvester.features.microstructure import order_flow_imbalance
from harvester.features.online import OnlineIndicators, OnlineParams, _PairWindow, _Window

BATCH = ("rsi", "macd", "macd_signal", "macd_hist", "atr", "zscore", "vwap", "volume_ratio")


def _online_panel(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    symbols: tuple[str, ...],
) -> dict[str, np.ndarray]:
    online = OnlineIndicators()
    got = {name: np.full(close.shape, np.nan) for name in BATCH}
    for t in range(close.shape[0]):
        for s, symbol in enumerate(symbols):
            state = online.update_bar(
                symbol, high=high[t, s], low=low[t, s], close=close[t, s], volume=volume[t, s]
            )
            for name in BATCH:
                got[name][t, s] = getattr(state, name)
    return got


def test_online_bar_indicators_equal_the_batch_features() -> None:
    panel = generate_market(parse_synthetic_spec("symbols=4,years=2,seed=11")).panel
    fields = ("open", "high", "low", "close", "volume")
    opening, high, low, close, volume = (panel.array(f).copy() for f in fields)
    # A flat stretch in one symbol: z-score 0 (not 0/0), as in the batch features.
    for field in (opening, high, low, close):
        field[200:240, 1] = 50.0
    got = _online_panel(high, low, close, volume, panel.symbols)
    flat = panel.with_fields(open=opening, high=high, low=low, close=close)
    for name in BATCH:
        batch = FEATURES.compute(flat, name)
        np.testing.assert_array_equal(np.isnan(got[name]), np.isnan(batch), err_msg=name)
        np.testing.assert_allclose(got[name], batch, rtol=0, atol=1e-9, err_msg=name)
    assert got["zscore"][239, 1] == 0.0


def test_volume_mean_equals_the_rolling_mean() -> None:
    online = OnlineIndicators(OnlineParams(volume_period=3))
    means = [
        online.update_bar("A", high=2, low=1, close=1.5, volume=v).volume_mean
        for v in (1e6, 2e6, 4e6, 8e6)
    ]
    assert np.isnan(means[:2]).all() and means[2:] == [7e6 / 3, 14e6 / 3]


def test_online_ofi_equals_the_batch_order_flow_imbalance() -> None:
    rng = np.random.default_rng(5)
    n = 3000
    price = 100 + np.cumsum(rng.choice([-0.01, 0.0, 0.01], n))
    size = rng.integers(1, 500, n).astype(float)
    bid = np.where(rng.random(n) < 0.2, np.nan, price - rng.choice([0.0, 0.01, 0.02], n))
    ask = np.where(np.isnan(bid), np.nan, bid + 0.02)
    batch = order_flow_imbalance(price, size, bid, ask, window=50)
    online = OnlineIndicators(OnlineParams(ofi_window=50))
    got = np.array(
        [
            online.update_trade(
                "A", price=p, size=q, bid=None if np.isnan(b) else b, ask=None if np.isnan(a) else a
            ).ofi
            for p, q, b, a in zip(price, size, bid, ask, strict=True)
        ]
    )
    np.testing.assert_array_equal(np.isnan(got), np.isnan(batch))
    np.testing.assert_allclose(got, batch, rtol=0, atol=1e-9)


def test_ofi_by_hand() -> None:
    online = OnlineIndicators(OnlineParams(ofi_window=3))
    online.update_trade("A", price=10.0, size=100, bid=9.9, ask=10.0)  # at the ask: buy
    online.update_trade("A", price=9.9, size=50, bid=9.9, ask=10.0)  # at the bid: sell
    state = online.update_trade("A", price=9.95, size=50)  # no quote, uptick: buy
    assert state.ofi == pytest.approx((100 - 50 + 50) / 200)


def test_symbols_are_independent_and_can_be_dropped() -> None:
    online = OnlineIndicators(OnlineParams(rsi_period=2))
    for close in (10.0, 11.0, 10.5, 11.5):
        online.update_bar("A", high=close, low=close, close=close, volume=1.0)
        online.update_bar("B", high=20.0, low=20.0, close=20.0, volume=1.0)
    # Hand calculation (Wilder, SMA seed): gains 0.5 → 0.75, losses 0.25 → 0.125.
    assert online.get("A").rsi == pytest.approx(100 * 0.75 / 0.875)
    assert online.get("B").rsi == 50.0
    online.keep_only({"B"})
    assert len(online) == 1 and "A" not in online
    online.drop("B")
    assert len(online) == 0


def test_bad_periods_are_config_errors() -> None:
    from harvester.core.errors import ConfigError

    with pytest.raises(ConfigError):
        OnlineParams(macd_fast=26, macd_slow=12)
    with pytest.raises(ConfigError):
        OnlineParams(zscore_period=1)


def _bits(values: tuple[float, ...]) -> bytes:
    """The IEEE bits of ``values`` (so NaN equals NaN and 0.0 differs from -0.0)."""
    return struct.pack(f"{len(values)}d", *values)


_AMOUNTS = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_subnormal=False)


@given(st.lists(st.tuples(_AMOUNTS, _AMOUNTS), max_size=120), st.integers(2, 12))
def test_a_pair_window_sums_bit_for_bit_as_two_windows(
    values: list[tuple[float, float]], size: int
) -> None:
    pair, first, second = _PairWindow(size), _Window(size), _Window(size)
    for x, y in values:
        assert _bits(pair.push(x, y)) == _bits((first.push(x), second.push(y)))


@given(st.lists(st.floats(min_value=0.0, max_value=1e9), max_size=80), st.integers(2, 8))
def test_a_shared_volume_window_gives_the_mean_of_its_own_window(
    volumes: list[float], size: int
) -> None:
    online = OnlineIndicators(OnlineParams(vwap_period=size, volume_period=size))
    own = _Window(size)
    for volume in volumes:
        state = online.update_bar("A", high=2.0, low=1.0, close=1.5, volume=volume)
        assert _bits((state.volume_mean,)) == _bits((own.push(volume) / size,))
