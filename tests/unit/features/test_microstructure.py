"""Order-flow imbalance on a hand-made trade tape."""

from __future__ import annotations

import numpy as np
import pytest

from harvester.core.errors import ConfigError
from harvester.features.microstructure import order_flow_imbalance, tick_rule_sides, trade_sides

NAN = np.nan
PRICE = np.array([10.0, 10.1, 10.1, 10.05, 10.05, 9.9])
SIZE = np.array([100.0, 200.0, 100.0, 300.0, 100.0, 100.0])
BID = np.array([9.95, 10.0, 10.0, 10.0, NAN, 9.9])
ASK = np.array([10.05, 10.1, 10.2, 10.1, NAN, 10.0])


def test_sides_use_the_quote_then_the_tick_rule() -> None:
    # inside, no previous trade -> 0; at the ask -> buy; inside, zero tick after an uptick ->
    # buy; inside, downtick -> sell; no quote, zero tick after a downtick -> sell; at the bid.
    np.testing.assert_array_equal(trade_sides(PRICE, BID, ASK), [0, 1, 1, -1, -1, -1])


def test_tick_rule_carries_the_last_change_over_zero_ticks() -> None:
    sides = tick_rule_sides(np.array([5.0, 5.0, 5.1, 5.1, 5.1, 5.0, 5.0]))
    np.testing.assert_array_equal(sides, [0, 0, 1, 1, 1, -1, -1])


def test_rolling_imbalance_over_three_trades() -> None:
    # (0 + 200 + 100) / 400, (200 + 100 - 300) / 600, (100 - 300 - 100) / 500, -500 / 500.
    values = order_flow_imbalance(PRICE, SIZE, BID, ASK, window=3)
    np.testing.assert_allclose(values, [NAN, NAN, 0.75, 0.0, -0.6, -1.0])


def test_a_window_without_volume_is_nan_and_bad_windows_are_rejected() -> None:
    values = order_flow_imbalance(PRICE[:2], np.zeros(2), BID[:2], ASK[:2], window=2)
    assert np.isnan(values).all()
    with pytest.raises(ConfigError, match="window"):
        order_flow_imbalance(PRICE, SIZE, BID, ASK, window=0)
    assert order_flow_imbalance(PRICE[:0], SIZE[:0], BID[:0], ASK[:0], window=3).shape == (0,)
