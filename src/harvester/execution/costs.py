"""Fill prices, slippage and commission: the execution model of backtest, paper and live.

Conventions (worked through in ``docs/execution.md``):

- slippage is always adverse: a buy fills above the reference price, a sell below it;
- ``bps``: slippage per share = price × bps / 10 000;
- ``atr``: slippage per share = fraction × ATR of the signal bar;
- ``sqrt_impact``: slippage per share = price × coefficient × sqrt(quantity / ADV), where ADV
  is the average daily volume over the last ``adv_bars`` bars up to the signal bar;
- commission = max(notional × bps / 10 000 + quantity × per-share fee, minimum per order);
- limit-style exits (take profit, scale-out) fill at their level with no slippage.

Every function here is a numba-compiled scalar function, so the simulator kernel, its
pure-Python reference twin and the paper broker all use the same arithmetic.
"""

from __future__ import annotations

import math

from harvester.core.jit import njit

__all__ = [
    "SLIPPAGE_ATR",
    "SLIPPAGE_BPS",
    "SLIPPAGE_SQRT_IMPACT",
    "commission",
    "fill_price",
    "slippage_per_share",
]

SLIPPAGE_BPS = 0
SLIPPAGE_ATR = 1
SLIPPAGE_SQRT_IMPACT = 2


@njit
def slippage_per_share(
    model: int, price: float, quantity: float, atr: float, adv: float, rate: float
) -> float:
    """Return the adverse price move per share; NaN when the model's input is missing.

    ``rate`` is the model's parameter: bps, ATR fraction, or impact coefficient.
    """
    if model == SLIPPAGE_BPS:
        return price * rate / 10_000.0
    if model == SLIPPAGE_ATR:
        return rate * atr
    if adv > 0.0:
        return price * rate * math.sqrt(abs(quantity) / adv)
    return math.nan


@njit
def fill_price(price: float, slippage: float, side: int) -> float:
    """Return ``price`` moved against a buyer (``side`` = 1) or a seller (``side`` = -1)."""
    return price + side * slippage


@njit
def commission(
    notional: float, quantity: float, bps: float, per_share: float, minimum: float
) -> float:
    """Return the fee of one order: bps of notional plus a per-share fee, at least ``minimum``."""
    fee = abs(notional) * bps / 10_000.0 + abs(quantity) * per_share
    return max(fee, minimum)
