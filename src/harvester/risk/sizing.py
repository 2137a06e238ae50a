"""Position sizing: how much notional a new position gets.

Methods (``risk_management.sizing``):

- ``fixed_fraction``: equity × ``base_position_fraction`` (Harvester II: 0.5 %);
- ``risk``: risk ``risk_per_trade`` × equity between entry and the ATR stop, so
  notional = equity × risk_per_trade / stop distance × price;
- ``volatility``: equity × min(``vol_target_k`` / annualised realised vol, max size) (Rally).

The result is multiplied by the strategy's size multiplier (conviction, G-Score halving, …),
then capped at ``max_position_size`` × equity and at ``max_position_notional_usd`` (0 = no
cap). Quantities are rounded down to whole shares unless the symbol trades in fractions.
"""

from __future__ import annotations

import math

from harvester.core.jit import njit

__all__ = [
    "SIZING_FIXED_FRACTION",
    "SIZING_RISK",
    "SIZING_VOLATILITY",
    "round_quantity",
    "target_notional",
]

SIZING_FIXED_FRACTION = 0
SIZING_RISK = 1
SIZING_VOLATILITY = 2


@njit
def _raw_notional(
    method: int,
    equity: float,
    price: float,
    fraction: float,
    stop_distance: float,
    realized_vol: float,
    max_size: float,
) -> float:
    if method == SIZING_FIXED_FRACTION:
        return equity * fraction
    if method == SIZING_RISK:
        return equity * fraction / stop_distance * price if stop_distance > 0.0 else math.nan
    return equity * min(fraction / realized_vol, max_size) if realized_vol > 0.0 else math.nan


@njit
def target_notional(
    method: int,
    equity: float,
    price: float,
    multiplier: float,
    fraction: float,
    stop_distance: float,
    realized_vol: float,
    max_size: float,
    max_notional: float,
) -> float:
    """Return the notional of a new position; NaN when the method's input is missing.

    ``fraction`` is the method's parameter: base fraction, risk per trade, or vol target k.
    """
    notional = _raw_notional(method, equity, price, fraction, stop_distance, realized_vol, max_size)
    notional = min(notional * multiplier, max_size * equity)
    if max_notional > 0.0:
        notional = min(notional, max_notional)
    return notional


@njit
def round_quantity(quantity: float, fractional: bool) -> float:
    """Return ``quantity`` rounded down to whole units unless ``fractional``."""
    if fractional:
        return quantity
    return math.floor(quantity + 1e-9)
