"""Performance metrics of a backtest: one flat dict of floats from an equity curve and trades.

Conventions follow empyrical-reloaded (the tests check them against it to 1e-9); docs/metrics.md
states them in full and works an example by hand.

- Returns are simple period returns of equity: ``n`` bars give ``n - 1`` periods.
  ``periods_per_year`` (ppy) is always passed in, never guessed; `infer_periods_per_year`
  guesses it from a daily index for callers who want that.
- The annual risk-free rate becomes ``(1 + rate) ** (1 / ppy) - 1`` per period, subtracted
  from every return for sharpe and used as the required return of sortino.
- sharpe = mean(excess) / std(excess, ddof=1) · sqrt(ppy); sortino = mean(excess) · ppy over
  sqrt(mean(min(excess, 0)²) · ppy); annual_volatility = std(ddof=1) · sqrt(ppy);
  cagr = (end / start) ** (ppy / periods) - 1; max_drawdown < 0 is the worst fall from a
  running peak; calmar = cagr / abs(max_drawdown); max_drawdown_duration_bars is the longest
  span from a peak to the first bar back at it (or to the last bar if never back).
- Undefined is NaN: sharpe, sortino and volatility with under two returns, cagr with none,
  calmar without a drawdown. Returns spanning less than 1e-12 are flat (float noise of a
  constant growth rate): volatility 0, sharpe NaN, never infinite. sortino is +inf with a
  positive mean and no period below the required return.
- Trades: profit_factor and payoff_ratio are +inf without losses, 0 without wins, NaN with
  neither; with ``trades=None`` every trade key is NaN. JSON writers map inf to null.

Every value is a Python ``float``, so the dict goes straight to ``json.dumps``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from harvester.core.errors import ConfigError, DataError
from harvester.core.types import BoolArray, FloatArray

__all__ = ["TradeStats", "compute_metrics", "infer_periods_per_year", "trade_stats"]

_TRADING_DAYS_PER_YEAR = 252.0
_CALENDAR_DAYS_PER_YEAR = 365.0
_MAX_DAILY_MEDIAN_GAP_DAYS = 4  # Weekends and holidays stretch a daily gap to 3 or 4 days
_FLAT_RETURN_RANGE = 1e-12  # Returns spanning less than this are float noise, not volatility


@dataclass(frozen=True, slots=True)
class TradeStats:
    """Statistics of closed trades, built by `trade_stats`; see it for the degenerate cases.

    Attributes
    ----------
    number_of_trades : int
        How many trades there were.
    win_rate : float
        Fraction of trades with pnl > 0.
    profit_factor : float
        Gross profit over the absolute gross loss.
    payoff_ratio : float
        Average win over the absolute average loss.
    expectancy : float
        win_rate · average win − loss_rate · |average loss| in currency (= average_trade).
    average_trade : float
        Mean pnl per trade in currency.
    average_trade_return : float
        Mean return per trade as a fraction.
    """

    number_of_trades: int
    win_rate: float
    profit_factor: float
    payoff_ratio: float
    expectancy: float
    average_trade: float
    average_trade_return: float


_NO_TRADES = TradeStats(0, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan)


def trade_stats(pnl: npt.ArrayLike, returns: npt.ArrayLike) -> TradeStats:
    """Return win rate, profit factor, payoff, expectancy and averages of closed trades.

    Parameters
    ----------
    pnl : array_like
        Profit or loss of each trade in currency, after fees.
    returns : array_like
        Return of each trade as a fraction, in the same order.

    Returns
    -------
    TradeStats
        NaN ratios and zero trades when there are no trades; profit_factor and payoff_ratio
        are +inf without losses, 0 without wins and NaN with neither (all break-even).

    Raises
    ------
    DataError
        If the arrays are not one-dimensional, differ in length or hold NaN or inf.

    Examples
    --------
    >>> stats = trade_stats([100.0, -50.0, 30.0, -20.0], [0.02, -0.01, 0.006, -0.004])
    >>> stats.win_rate, round(stats.profit_factor, 6), round(stats.payoff_ratio, 6)
    (0.5, 1.857143, 1.857143)
    >>> stats.expectancy, stats.average_trade
    (15.0, 15.0)
    """
    pnl_values, return_values = _trade_arrays(pnl, returns)
    if pnl_values.size == 0:
        return _NO_TRADES
    wins = pnl_values[pnl_values > 0]
    losses = pnl_values[pnl_values < 0]
    win_rate = wins.size / pnl_values.size
    loss_rate = losses.size / pnl_values.size
    average_win = float(wins.mean()) if wins.size > 0 else 0.0
    average_loss = abs(float(losses.mean())) if losses.size > 0 else 0.0
    return TradeStats(
        number_of_trades=int(pnl_values.size),
        win_rate=win_rate,
        profit_factor=_gain_over_loss(float(wins.sum()), abs(float(losses.sum()))),
        payoff_ratio=_gain_over_loss(average_win, average_loss),
        expectancy=win_rate * average_win - loss_rate * average_loss,
        average_trade=float(pnl_values.mean()),
        average_trade_return=float(return_values.mean()),
    )


def _trade_arrays(pnl: npt.ArrayLike, returns: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    arrays = np.asarray(pnl, dtype=np.float64), np.asarray(returns, dtype=np.float64)
    for name, array in zip(("pnl", "returns"), arrays, strict=True):
        if array.ndim != 1:
            raise DataError(f"trade {name} has shape {array.shape}: expected one value per trade")
        if not np.isfinite(array).all():
            first = int((~np.isfinite(array)).argmax())
            raise DataError(f"trade {name} has NaN or inf at position {first}: expected numbers")
    if arrays[0].size != arrays[1].size:
        raise DataError(
            f"trade pnl has {arrays[0].size} values and trade returns {arrays[1].size}: "
            "expected one of each per closed trade"
        )
    return arrays


def _gain_over_loss(gain: float, loss: float) -> float:
    if loss > 0:
        return gain / loss
    return math.inf if gain > 0 else math.nan


def compute_metrics(
    equity: pd.Series,
    *,
    trades: TradeStats | None = None,
    periods_per_year: float,
    risk_free_rate: float = 0.0,
    exposure: pd.Series | None = None,
    turnover: float | None = None,
) -> dict[str, float]:
    """Return the performance metrics of an equity curve as a flat dict of floats.

    Parameters
    ----------
    equity : pandas.Series
        Portfolio value on every bar, in increasing index order.
    trades : TradeStats, optional
        Closed-trade statistics from `trade_stats`; without them the trade keys are NaN.
    periods_per_year : float
        Bars per year: 252 for equity sessions, 365 for crypto days, 12 for months.
    risk_free_rate : float, default 0.0
        Annual risk-free rate, converted per period as (1 + rate) ** (1 / periods_per_year) - 1.
    exposure : pandas.Series, optional
        Fraction of equity invested on each bar, on the equity's index; reported as its mean.
    turnover : float, optional
        Turnover computed by the caller, reported as given.

    Returns
    -------
    dict of str to float
        total_return, cagr, annual_volatility, sharpe, sortino, calmar, max_drawdown,
        max_drawdown_duration_bars, the `TradeStats` fields, exposure, turnover, best_period,
        worst_period, start_equity and end_equity; the module docstring gives the conventions.

    Raises
    ------
    DataError
        If the equity is empty, holds NaN, inf or a value <= 0, or its index is not strictly
        increasing; or if the exposure is not finite on the equity's index.
    ConfigError
        If periods_per_year is not positive or risk_free_rate is not above -1.

    Examples
    --------
    Quarterly equity over one year, a 10 % fall and a recovery (worked in docs/metrics.md):

    >>> import pandas as pd
    >>> dates = pd.date_range("2023-12-31", periods=5, freq="QE")
    >>> equity = pd.Series([100.0, 110.0, 99.0, 108.9, 119.79], index=dates)
    >>> metrics = compute_metrics(equity, periods_per_year=4)
    >>> keys = ["cagr", "annual_volatility", "sharpe", "sortino", "max_drawdown", "calmar"]
    >>> [round(metrics[key], 6) for key in keys], metrics["max_drawdown_duration_bars"]
    ([0.1979, 0.2, 1.0, 2.0, -0.1, 1.979], 3.0)
    """
    _check_rates(periods_per_year, risk_free_rate)
    values = _equity_values(equity)
    returns = values[1:] / values[:-1] - 1.0
    cagr = _cagr(values, periods_per_year)
    max_drawdown = float((values / np.maximum.accumulate(values)).min() - 1.0)
    metrics = {
        "total_return": values[-1] / values[0] - 1.0,
        "cagr": cagr,
        **_risk_metrics(returns, periods_per_year, risk_free_rate),
        "calmar": _calmar(cagr, max_drawdown),
        "max_drawdown": max_drawdown,
        "max_drawdown_duration_bars": _longest_drawdown_bars(values),
        **_trade_metrics(trades),
        "exposure": math.nan if exposure is None else _mean_exposure(exposure, equity),
        "turnover": math.nan if turnover is None else turnover,
        "best_period": returns.max() if returns.size > 0 else math.nan,
        "worst_period": returns.min() if returns.size > 0 else math.nan,
        "start_equity": values[0],
        "end_equity": values[-1],
    }
    return {key: float(value) for key, value in metrics.items()}


def _check_rates(periods_per_year: float, risk_free_rate: float) -> None:
    if not (math.isfinite(periods_per_year) and periods_per_year > 0):
        raise ConfigError(
            f"periods_per_year is {periods_per_year}: expected a positive number of bars per "
            "year (252 for equity sessions, 365 for crypto days)"
        )
    if not (math.isfinite(risk_free_rate) and risk_free_rate > -1):
        raise ConfigError(f"risk_free_rate is {risk_free_rate}: expected an annual rate > -1")


def _equity_values(equity: pd.Series) -> FloatArray:
    if equity.empty:
        raise DataError("equity is empty: expected a portfolio value for at least one bar")
    if not (equity.index.is_monotonic_increasing and equity.index.is_unique):
        raise DataError(
            "equity index is not strictly increasing: sort it and drop duplicate bars "
            "before computing metrics"
        )
    values = equity.to_numpy(dtype=np.float64, na_value=np.nan)
    _require(np.isfinite(values), equity.index, found="equity has NaN or infinite")
    _require(values > 0, equity.index, found="equity has zero or negative")
    return values


def _require(is_valid: BoolArray, index: pd.Index, *, found: str) -> None:
    if not is_valid.all():
        first, count = index[int((~is_valid).argmax())], int((~is_valid).sum())
        raise DataError(
            f"{found} values on {count} bar(s), first at {first}: expected a positive finite "
            "value on every bar; fix or drop those bars"
        )


def _risk_metrics(
    returns: FloatArray, periods_per_year: float, risk_free_rate: float
) -> dict[str, float]:
    per_period_rate = (1.0 + risk_free_rate) ** (1.0 / periods_per_year) - 1.0
    excess = returns - per_period_rate
    return {
        "annual_volatility": _annual_volatility(returns, periods_per_year),
        "sharpe": _sharpe(excess, periods_per_year),
        "sortino": _sortino(excess, periods_per_year),
    }


def _cagr(values: FloatArray, periods_per_year: float) -> float:
    periods = values.size - 1
    if periods == 0:
        return math.nan
    # A short, steep run annualises past the float range: that is +inf, not an error.
    with np.errstate(over="ignore"):
        return float(np.power(values[-1] / values[0], periods_per_year / periods) - 1.0)


def _annual_volatility(returns: FloatArray, periods_per_year: float) -> float:
    if returns.size < 2:
        return math.nan
    if np.ptp(returns) < _FLAT_RETURN_RANGE:
        return 0.0
    return float(returns.std(ddof=1)) * math.sqrt(periods_per_year)


def _sharpe(excess: FloatArray, periods_per_year: float) -> float:
    if excess.size < 2 or np.ptp(excess) < _FLAT_RETURN_RANGE:
        return math.nan
    return float(excess.mean() / excess.std(ddof=1)) * math.sqrt(periods_per_year)


def _sortino(excess: FloatArray, periods_per_year: float) -> float:
    if excess.size < 2:
        return math.nan
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)) * periods_per_year)
    mean_annual = float(excess.mean()) * periods_per_year
    if downside > 0:
        return mean_annual / downside
    return math.copysign(math.inf, mean_annual) if mean_annual != 0 else math.nan


def _calmar(cagr: float, max_drawdown: float) -> float:
    if max_drawdown >= 0 or math.isinf(cagr):
        return math.nan
    return cagr / abs(max_drawdown)


def _longest_drawdown_bars(values: FloatArray) -> int:
    # A spell runs from the last bar at a peak to the first bar back at it (or the last bar).
    bars = np.arange(values.size)
    is_peak = values >= np.maximum.accumulate(values)
    last_peak = np.maximum.accumulate(np.where(is_peak, bars, 0))
    in_spell = ~is_peak[1:] | ~is_peak[:-1]
    spans = bars[1:] - last_peak[:-1]
    return int(spans[in_spell].max(initial=0))


def _trade_metrics(trades: TradeStats | None) -> dict[str, float]:
    stats = _NO_TRADES if trades is None else trades
    return {
        "win_rate": stats.win_rate,
        "profit_factor": stats.profit_factor,
        "payoff_ratio": stats.payoff_ratio,
        "expectancy": stats.expectancy,
        "average_trade": stats.average_trade,
        "average_trade_return": stats.average_trade_return,
        "number_of_trades": math.nan if trades is None else stats.number_of_trades,
    }


def _mean_exposure(exposure: pd.Series, equity: pd.Series) -> float:
    if not exposure.index.equals(equity.index):
        raise DataError(
            f"exposure has {len(exposure)} bars on a different index from the equity's "
            f"{len(equity)}: expected the fraction invested on every equity bar"
        )
    values = exposure.to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(values).all():
        raise DataError("exposure has NaN or infinite values: expected 0 on bars with no position")
    return float(values.mean())


def infer_periods_per_year(index: pd.Index) -> float:
    """Guess bars per year of a daily index: 252 without weekend dates, 365 with them.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        Dates of daily bars (at least two, one per date).

    Returns
    -------
    float
        252.0 when no date falls on a Saturday or Sunday (exchange sessions), else 365.0
        (markets that trade every day, such as crypto).

    Raises
    ------
    DataError
        If the index is not a DatetimeIndex of at least two dates, or is intraday (two bars on
        a date) or coarser than daily (weekly, monthly): pass periods_per_year for those.

    Examples
    --------
    >>> import pandas as pd
    >>> infer_periods_per_year(pd.bdate_range("2024-01-01", periods=30))
    252.0
    >>> infer_periods_per_year(pd.date_range("2024-01-01", periods=30))
    365.0
    """
    dates = _daily_dates(index)
    has_weekend = bool((dates.day_of_week >= 5).any())
    return _CALENDAR_DAYS_PER_YEAR if has_weekend else _TRADING_DAYS_PER_YEAR


def _daily_dates(index: pd.Index) -> pd.DatetimeIndex:
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 2:
        raise DataError(
            f"cannot infer periods_per_year from a {type(index).__name__} of {len(index)} "
            "entries: expected a DatetimeIndex of at least two daily bars"
        )
    dates = index.normalize()
    if not dates.is_unique:
        raise DataError(
            "cannot infer periods_per_year from intraday bars (several on one date): pass "
            "periods_per_year explicitly, e.g. 252 * 6.5 for hourly equity bars"
        )
    ordered = dates.sort_values()
    median_gap_days = float(np.median((ordered[1:] - ordered[:-1]) / pd.Timedelta(days=1)))
    if median_gap_days > _MAX_DAILY_MEDIAN_GAP_DAYS:
        raise DataError(
            f"cannot infer periods_per_year: bars are {median_gap_days:g} days apart (median), "
            "not daily; pass periods_per_year explicitly (52 weekly, 12 monthly)"
        )
    return dates
