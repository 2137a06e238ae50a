"""Trade analytics of the Harvest Optimizer: per symbol × regime × exit type, last N trades.

Input is a frame with the columns of :data:`TRADE_COLUMNS` (the app layer adapts a
backtest's ``trades.csv`` or the journal to it):

- ``symbol``, ``regime`` (missing → ``unknown``), ``exit_type`` (the exit reason);
- ``pnl`` in currency after fees, ``return`` the same as a fraction of the entry value;
- ``mfe`` / ``mae``: best and worst excursion as a fraction of the entry price (``mfe ≥ 0``,
  ``mae ≤ 0`` normally; NaN when unknown), the unit of ``return``;
- ``hours_held`` from entry to exit; ``exit_time`` orders the trades (the window keeps the
  last ``window`` by exit time, ties in input order).

Per group of ``n`` trades (``p`` pnl, ``r`` return, ``f`` mfe, ``a`` mae, ``h`` hours):

- win_rate = #(p > 0) / n (break-even trades are neither wins nor losses);
- expectancy = avg_win · win_rate − avg_loss · loss_rate = mean(p);
- profit_factor = Σ p⁺ / Σ |p⁻|; payoff_ratio = avg win / avg |loss|. Both are +inf without
  losses, 0 without wins and NaN with neither (as :func:`harvester.analytics.metrics.trade_stats`);
- exit_efficiency = mean of r / f clipped to [0, 1], the share of the MFE captured (a trade
  closed at a loss captured none of it: 0, not a large negative share of a tiny MFE); a trade
  whose price never went its way (f ≤ 0) captured none of nothing and counts 0;
- adverse_recovery_rate = mean of (r − a) / (f − a) clipped to [0, 1]; a trade that never
  moved (f == a) left nothing unrecovered and counts 1;
- trades without mfe/mae are left out of those two means (NaN when no trade has them);
- avg_hours = mean(h); time_efficiency = expectancy / avg_hours (P&L per hour held), NaN when
  avg_hours is 0 (expectancy per hour of no time is undefined);
- regime_stability: over each symbol's trades in exit order, the share of trades in the
  regime whose next trade is in the same regime; 1.0 when no trade of the regime has a next
  one yet (the regime has not been seen to end), so one trade gives 1.0;
- ``*_smoothed``: the last value of an exponentially weighted mean (α = 0.3,
  ``adjust=False``: s₁ = x₁, sₖ = α·xₖ + (1 − α)·sₖ₋₁) of pnl, the win indicator and the
  per-trade exit efficiency over the group's trades in exit order: recent behaviour weighs
  more than the window mean. :func:`smooth` applies the same α between two snapshots.

No value is ever a division error or a numpy warning; NaN means undefined (``null`` in JSON).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from harvester.core.errors import ConfigError, DataError
from harvester.core.types import FloatArray

__all__ = [
    "DEFAULT_WINDOW",
    "GROUP_KEYS",
    "METRIC_COLUMNS",
    "SMOOTHING_ALPHA",
    "TRADE_COLUMNS",
    "check_trades",
    "last_trades",
    "smooth",
    "trade_analytics",
]

DEFAULT_WINDOW = 200
SMOOTHING_ALPHA = 0.3
UNKNOWN_REGIME = "unknown"
TRADE_COLUMNS: tuple[str, ...] = (
    "symbol", "regime", "exit_type", "pnl", "return", "mfe", "mae", "hours_held", "exit_time",
)  # fmt: skip
GROUP_KEYS: tuple[str, ...] = ("symbol", "regime", "exit_type")
METRIC_COLUMNS: tuple[str, ...] = (
    "trades", "win_rate", "expectancy", "profit_factor", "payoff_ratio", "exit_efficiency",
    "adverse_recovery_rate", "avg_hours", "time_efficiency", "regime_stability", "avg_mfe",
    "avg_mae", "expectancy_smoothed", "win_rate_smoothed", "exit_efficiency_smoothed",
)  # fmt: skip
_SMOOTHED = {"pnl": "expectancy_smoothed", "win": "win_rate_smoothed",
             "exit_eff": "exit_efficiency_smoothed"}  # fmt: skip


def check_trades(trades: pd.DataFrame) -> None:
    """Raise a one-line :class:`DataError` naming the columns ``trades`` lacks."""
    missing = [c for c in TRADE_COLUMNS if c not in trades.columns]
    if missing:
        raise DataError(
            f"trades lack column(s) {', '.join(missing)}; need {', '.join(TRADE_COLUMNS)}"
        )


def last_trades(trades: pd.DataFrame, window: int = DEFAULT_WINDOW) -> pd.DataFrame:
    """The last ``window`` trades by exit time (stable: ties keep their input order)."""
    if window < 1:
        raise ConfigError(f"the window must be at least 1 trade, not {window}")
    check_trades(trades)
    ordered = trades.sort_values("exit_time", kind="stable").tail(window)
    return ordered.assign(regime=ordered["regime"].fillna(UNKNOWN_REGIME)).reset_index(drop=True)


def _divide(num: FloatArray, den: FloatArray, where: np.ndarray, otherwise: float) -> FloatArray:
    out = np.full(num.shape, otherwise, dtype=np.float64)
    with np.errstate(over="ignore"):  # a tiny denominator gives inf (clipped where a share)
        np.divide(num, den, out=out, where=where)
    return out


def _per_trade(trades: pd.DataFrame) -> pd.DataFrame:
    """Per-trade inputs of the group means: win/loss flags, captured and recovered shares."""
    pnl = trades["pnl"].to_numpy(dtype=np.float64)
    ret = trades["return"].to_numpy(dtype=np.float64)
    mfe = trades["mfe"].to_numpy(dtype=np.float64)
    mae = trades["mae"].to_numpy(dtype=np.float64)
    known = ~(np.isnan(mfe) | np.isnan(mae))
    exit_eff = np.clip(_divide(ret, mfe, known & (mfe > 0), 0.0), 0.0, 1.0)
    span = mfe - mae
    recovery = np.clip(_divide(ret - mae, span, known & (span > 0), 1.0), 0.0, 1.0)
    return trades.assign(
        win=(pnl > 0).astype(np.float64),
        loss=(pnl < 0).astype(np.float64),
        profit=np.where(pnl > 0, pnl, 0.0),
        lost=np.where(pnl < 0, -pnl, 0.0),
        exit_eff=np.where(np.isnan(mfe), np.nan, exit_eff),
        recovery=np.where(known, recovery, np.nan),
    )


def _ratio_of_sides(win_side: FloatArray, loss_side: FloatArray) -> FloatArray:
    """win/loss: +inf without losses, 0 without wins, NaN with neither."""
    ratio = _divide(win_side, loss_side, loss_side > 0, np.inf)
    return np.where((win_side <= 0) & (loss_side <= 0), np.nan, ratio)


def _regime_stability(trades: pd.DataFrame) -> pd.Series:
    """Per (symbol, regime): share of trades followed by a trade in the same regime."""
    following = trades.groupby("symbol", sort=False)["regime"].shift(-1)
    frame = pd.DataFrame(
        {
            "symbol": trades["symbol"],
            "regime": trades["regime"],
            "has_next": following.notna().astype(np.float64),
            "stays": (following == trades["regime"]).astype(np.float64),
        }
    )
    sums = frame.groupby(["symbol", "regime"], sort=True)[["has_next", "stays"]].sum()
    stability = _divide(
        sums["stays"].to_numpy(), sums["has_next"].to_numpy(), sums["has_next"].to_numpy() > 0, 1.0
    )
    return pd.Series(stability, index=sums.index, name="regime_stability")


def _smoothed(trades: pd.DataFrame, keys: list[str], alpha: float) -> pd.DataFrame:
    """Last value of the EWMA (adjust=False) of each smoothed per-trade column per group."""
    columns = list(_SMOOTHED)
    ewm = trades.groupby(keys, sort=True)[columns].transform(
        lambda s: s.ewm(alpha=alpha, adjust=False).mean()
    )
    last = ewm.groupby([trades[k] for k in keys], sort=True).last()
    return last.rename(columns=_SMOOTHED)


def trade_analytics(
    trades: pd.DataFrame,
    *,
    window: int = DEFAULT_WINDOW,
    by: Sequence[str] = GROUP_KEYS,
    alpha: float = SMOOTHING_ALPHA,
) -> pd.DataFrame:
    """Metrics of the last ``window`` trades per group ``by``; one row per group, sorted.

    The columns are ``by`` then :data:`METRIC_COLUMNS`; see the module docstring for the
    definitions and the degenerate cases. ``regime_stability`` needs ``symbol`` and
    ``regime`` among ``by`` (NaN otherwise).
    """
    if not 0.0 < alpha <= 1.0:
        raise ConfigError(f"the smoothing alpha must be in (0, 1], not {alpha}")
    keys = list(by)
    recent = _per_trade(last_trades(trades, window))
    if recent.empty:
        return pd.DataFrame(columns=[*keys, *METRIC_COLUMNS])
    groups = recent.groupby(keys, sort=True)
    agg = groups.agg(
        trades=("pnl", "size"), wins=("win", "sum"), losses=("loss", "sum"),
        profit=("profit", "sum"), lost=("lost", "sum"), expectancy=("pnl", "mean"),
        exit_efficiency=("exit_eff", "mean"), adverse_recovery_rate=("recovery", "mean"),
        avg_hours=("hours_held", "mean"), avg_mfe=("mfe", "mean"), avg_mae=("mae", "mean"),
    )  # fmt: skip
    wins, losses = agg["wins"].to_numpy(), agg["losses"].to_numpy()
    profit, lost = agg["profit"].to_numpy(), agg["lost"].to_numpy()
    avg_win = _divide(profit, wins, wins > 0, 0.0)
    avg_loss = _divide(lost, losses, losses > 0, 0.0)
    hours = agg["avg_hours"].to_numpy(dtype=np.float64)
    agg = agg.assign(
        win_rate=wins / agg["trades"].to_numpy(),
        profit_factor=_ratio_of_sides(profit, lost),
        payoff_ratio=_ratio_of_sides(avg_win, avg_loss),
        time_efficiency=_divide(agg["expectancy"].to_numpy(), hours, hours > 0, np.nan),
    )
    agg = agg.join(_smoothed(recent, keys, alpha))
    if "symbol" in keys and "regime" in keys:
        agg = agg.join(_regime_stability(recent), on=["symbol", "regime"])
    else:
        agg["regime_stability"] = np.nan
    return agg.reset_index()[[*keys, *METRIC_COLUMNS]]


def smooth(previous: pd.Series, current: pd.Series, alpha: float = SMOOTHING_ALPHA) -> pd.Series:
    """α·current + (1 − α)·previous, for a service refreshing metrics on an interval.

    Where ``previous`` has no (finite) value the current one stands unsmoothed.
    """
    blended = alpha * current + (1.0 - alpha) * previous.reindex(current.index)
    return blended.where(np.isfinite(blended), current)
