"""Order-flow imbalance (OFI) from a trade tape with the prevailing quotes.

Not a daily panel feature: it works on one symbol's time-ordered trades, each with its
price, size and the bid and ask in force when it printed (the Python brain's ``USE_OFI``,
``OFI_WINDOW_TRADES``; live only, a daily backtest has no tape).

Aggressor side of each trade (:func:`trade_sides`), the quote rule then the tick rule:

1. at or above the ask: a buy (+1); otherwise at or below the bid: a sell (−1);
2. strictly inside the spread, or with no usable quote (NaN bid or ask): the tick rule
   against the previous trade's price: higher is a buy, lower a sell, and an unchanged
   price (a zero tick) takes the side of the last price change;
3. a trade that neither rule can sign (the first trade, or only zero ticks so far) is 0.

:func:`order_flow_imbalance` is ``(buy volume − sell volume) / total volume`` over the last
``window`` trades, in [−1, 1]; unsigned trades count in the total only. NaN for the first
``window − 1`` trades and where the window traded no volume.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harvester.core.types import FloatArray
from harvester.features._common import check_period, safe_divide

__all__ = ["order_flow_imbalance", "tick_rule_sides", "trade_sides"]


def tick_rule_sides(price: FloatArray) -> FloatArray:
    """Return +1 / −1 by the last non-zero price change, 0 before the first one."""
    change = np.sign(np.diff(np.asarray(price, np.float64), prepend=np.nan)).astype(np.float64)
    tick = pd.Series(np.where(change == 0, np.nan, change)).ffill()
    sides: FloatArray = np.asarray(tick.fillna(0.0), dtype=np.float64)
    return sides


def trade_sides(price: FloatArray, bid: FloatArray, ask: FloatArray) -> FloatArray:
    """Return each trade's aggressor side: +1 buy, −1 sell, 0 unknown.

    Parameters
    ----------
    price, bid, ask
        1-D arrays, one entry per trade in time order; NaN bid or ask means no quote.
    """
    price, bid, ask = (np.asarray(a, np.float64) for a in (price, bid, ask))
    sides = tick_rule_sides(price)
    sides = np.where(price <= bid, -1.0, sides)
    return np.where(price >= ask, 1.0, sides)


def order_flow_imbalance(
    price: FloatArray, size: FloatArray, bid: FloatArray, ask: FloatArray, *, window: int
) -> FloatArray:
    """Return the rolling order-flow imbalance over the last ``window`` trades.

    Parameters
    ----------
    price, size, bid, ask
        1-D arrays, one entry per trade in time order.
    window
        Number of trades in the window (``OFI_WINDOW_TRADES``).

    Returns
    -------
    numpy.ndarray
        ``(buy volume − sell volume) / total volume`` in [−1, 1], one value per trade.
    """
    trades = check_period(window, name="window")
    size = np.asarray(size, np.float64)
    signed = trade_sides(price, bid, ask) * size
    net = pd.Series(signed).rolling(trades, min_periods=trades).sum().to_numpy(np.float64)
    total = pd.Series(size).rolling(trades, min_periods=trades).sum().to_numpy(np.float64)
    return np.clip(safe_divide(net, total, fill=np.nan), -1.0, 1.0)
