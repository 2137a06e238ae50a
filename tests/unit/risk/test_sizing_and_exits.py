"""Sizing and exit rules worked by hand (docs/execution.md)."""

from __future__ import annotations

import math

import pytest

from harvester.domain.trades import ExitReason
from harvester.risk.exits import NO_EXIT, initial_levels, intrabar_exit, trailed_stop
from harvester.risk.sizing import (
    SIZING_FIXED_FRACTION,
    SIZING_RISK,
    SIZING_VOLATILITY,
    round_quantity,
    target_notional,
)

NAN = math.nan


def test_fixed_fraction_with_multiplier_and_caps() -> None:
    # 0.5 % of 100,000 = 500; halved by a G-Score multiplier = 250.
    assert target_notional(SIZING_FIXED_FRACTION, 1e5, 50.0, 0.5, 0.005, NAN, NAN, 0.1, 0.0) == 250
    # 20 % would be 20,000, capped at max_position_size 10 % = 10,000, then at $5,000.
    assert target_notional(SIZING_FIXED_FRACTION, 1e5, 50.0, 1.0, 0.2, NAN, NAN, 0.1, 5e3) == 5e3


def test_risk_sizing_loses_the_risk_budget_at_the_stop() -> None:
    # Risk 0.5 % of 100,000 = 500 over a 2.00 stop distance = 250 shares × 40.00 = 10,000.
    notional = target_notional(SIZING_RISK, 1e5, 40.0, 1.0, 0.005, 2.0, NAN, 1.0, 0.0)
    assert notional == pytest.approx(10_000.0)
    assert math.isnan(target_notional(SIZING_RISK, 1e5, 40.0, 1.0, 0.005, 0.0, NAN, 1.0, 0.0))


def test_volatility_target_is_capped_at_max_size() -> None:
    # k 0.10 / vol 0.40 = 25 % of equity; with vol 0.20 it would be 50 %, capped at 25 %.
    assert target_notional(SIZING_VOLATILITY, 1e5, 10.0, 1.0, 0.1, NAN, 0.4, 0.25, 0.0) == 25e3
    assert target_notional(SIZING_VOLATILITY, 1e5, 10.0, 1.0, 0.1, NAN, 0.2, 0.25, 0.0) == 25e3


def test_round_quantity() -> None:
    assert round_quantity(12.9999999999, False) == 13.0  # float noise is not a lost share
    assert round_quantity(12.7, False) == 12.0
    assert round_quantity(0.0125, True) == 0.0125


def test_levels_and_trailing() -> None:
    assert initial_levels(1, 100.0, 2.0, 1.0, 2.0) == (98.0, 104.0)
    assert initial_levels(-1, 100.0, 2.0, 1.5, 0.0)[0] == 103.0
    assert math.isnan(initial_levels(-1, 100.0, 2.0, 1.5, 0.0)[1])
    # max(1.5 × 2.00, 2 % × 100) = 3.00 below the close; never loosened.
    assert trailed_stop(1, NAN, 100.0, 2.0, 1.5, 0.02) == 97.0
    assert trailed_stop(1, 97.0, 99.0, 2.0, 1.5, 0.02) == 97.0
    assert trailed_stop(-1, NAN, 100.0, 1.0, 1.5, 0.02) == 102.0


@pytest.mark.parametrize(
    ("bar", "expected"),
    [
        ((97.0, 99.0, 96.0), (int(ExitReason.STOP), 97.0)),  # gap below the stop: the open
        ((105.0, 106.0, 104.0), (int(ExitReason.TARGET), 105.0)),  # gap above the target
        ((100.0, 104.5, 97.5), (int(ExitReason.STOP), 98.0)),  # both touched: the stop
        ((100.0, 104.5, 99.0), (int(ExitReason.TARGET), 104.0)),
        ((100.0, 103.0, 99.0), (NO_EXIT, NAN)),
    ],
)
def test_intrabar_order_is_conservative(
    bar: tuple[float, float, float], expected: tuple[int, float]
) -> None:
    open_, high, low = bar
    code, level = intrabar_exit(1, open_, high, low, 98.0, NAN, 104.0)
    assert code == expected[0]
    assert level == expected[1] or (math.isnan(level) and math.isnan(expected[1]))


def test_the_tighter_of_stop_and_trailing_binds() -> None:
    code, level = intrabar_exit(1, 100.0, 101.0, 98.5, 97.0, 99.0, NAN)
    assert (code, level) == (int(ExitReason.TRAILING), 99.0)
    code, level = intrabar_exit(-1, 100.0, 101.5, 99.0, 101.0, 102.0, NAN)
    assert (code, level) == (int(ExitReason.STOP), 101.0)
