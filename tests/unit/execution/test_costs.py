"""The cost models of docs/execution.md, with the numbers worked by hand."""

from __future__ import annotations

import math

import pytest

from harvester.execution.costs import (
    SLIPPAGE_ATR,
    SLIPPAGE_BPS,
    SLIPPAGE_SQRT_IMPACT,
    commission,
    fill_price,
    slippage_per_share,
)


def test_bps_slippage_moves_against_the_trader() -> None:
    # 10 bps of 250.00 = 0.25 per share: a buy pays 250.25, a sell gets 249.75.
    slip = slippage_per_share(SLIPPAGE_BPS, 250.0, 100.0, math.nan, math.nan, 10.0)
    assert slip == pytest.approx(0.25)
    assert fill_price(250.0, slip, 1) == pytest.approx(250.25)
    assert fill_price(250.0, slip, -1) == pytest.approx(249.75)


def test_atr_slippage_is_a_fraction_of_the_atr() -> None:
    # 0.1 × ATR 3.20 = 0.32 per share, whatever the price.
    assert slippage_per_share(SLIPPAGE_ATR, 80.0, 10.0, 3.2, math.nan, 0.1) == pytest.approx(0.32)


def test_square_root_impact_grows_with_the_share_of_volume() -> None:
    # 40,000 shares against an ADV of 1,000,000: sqrt(0.04) = 0.2; 50.00 × 0.1 × 0.2 = 1.00.
    slip = slippage_per_share(SLIPPAGE_SQRT_IMPACT, 50.0, 40_000.0, math.nan, 1_000_000.0, 0.1)
    assert slip == pytest.approx(1.0)
    # A quarter of the size pays half the impact per share.
    quarter = slippage_per_share(SLIPPAGE_SQRT_IMPACT, 50.0, 10_000.0, math.nan, 1e6, 0.1)
    assert quarter == pytest.approx(0.5)


def test_missing_inputs_give_nan_not_zero() -> None:
    assert math.isnan(slippage_per_share(SLIPPAGE_SQRT_IMPACT, 50.0, 100.0, 1.0, 0.0, 0.1))
    assert math.isnan(slippage_per_share(SLIPPAGE_ATR, 50.0, 100.0, math.nan, 1e6, 0.1))


def test_commission_bps_per_share_and_minimum() -> None:
    # 300 shares at 20.00: 2 bps of 6,000 = 1.20, plus 0.005 × 300 = 1.50 → 2.70.
    assert commission(6_000.0, 300.0, 2.0, 0.005, 1.0) == pytest.approx(2.70)
    # 10 shares at 20.00: 0.04 + 0.05 = 0.09, lifted to the 1.00 minimum.
    assert commission(200.0, 10.0, 2.0, 0.005, 1.0) == pytest.approx(1.00)
    # Sells (negative notional) pay the same.
    assert commission(-6_000.0, -300.0, 2.0, 0.005, 1.0) == pytest.approx(2.70)
