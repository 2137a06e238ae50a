"""Backtest metrics checked against empyrical-reloaded and against hand calculations.

Tolerance: a metric matches empyrical when ``|ours - theirs| <= 1e-9 * max(1, |theirs|)``,
that is relative for values above 1 (cagr and calmar reach 1e60 on short, steep series) and
absolute below (a Sharpe ratio near 0 is a difference of two nearly equal means, so a relative
test would compare rounding noise). The generated returns sit on a one-basis-point grid: two
distinct returns differ by at least 1e-4, so the standard deviations stay well away from the
rounding noise of rebuilding returns from equity (about 1e-16 per period), and the 1e-9 bound
holds with margin.
"""

from __future__ import annotations

import json
import math

import empyrical
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harvester.analytics import metrics as metrics_module
from harvester.analytics.metrics import (
    TradeStats,
    compute_metrics,
    infer_periods_per_year,
    trade_stats,
)
from harvester.core.errors import ConfigError, DataError

METRIC_KEYS = [
    "total_return",
    "cagr",
    "annual_volatility",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "max_drawdown_duration_bars",
    "win_rate",
    "profit_factor",
    "payoff_ratio",
    "expectancy",
    "average_trade",
    "average_trade_return",
    "number_of_trades",
    "exposure",
    "turnover",
    "best_period",
    "worst_period",
    "start_equity",
    "end_equity",
]
TRADE_KEYS = METRIC_KEYS[8:15]

grid_returns = st.lists(
    st.integers(-5000, 5000).map(lambda basis_points: basis_points / 10_000),
    min_size=1,
    max_size=80,
)


def _equity(values: list[float] | np.ndarray, *, freq: str = "B") -> pd.Series:
    index = pd.date_range("2024-01-01", periods=len(values), freq=freq)
    return pd.Series(np.asarray(values, dtype=np.float64), index=index, name="equity")


def _equity_from_returns(returns: np.ndarray, *, start: float) -> pd.Series:
    return _equity(start * np.cumprod(np.concatenate(([1.0], 1.0 + returns))))


def _empyrical_metrics(
    returns: np.ndarray, *, periods_per_year: float, risk_free_rate: float
) -> dict[str, float]:
    per_period_rate = (1.0 + risk_free_rate) ** (1.0 / periods_per_year) - 1.0
    series = pd.Series(returns, index=pd.bdate_range("2024-01-02", periods=returns.size))
    return {
        "total_return": empyrical.cum_returns_final(series),
        "sharpe": empyrical.sharpe_ratio(
            series, risk_free=per_period_rate, annualization=periods_per_year
        ),
        "sortino": empyrical.sortino_ratio(
            series, required_return=per_period_rate, annualization=periods_per_year
        ),
        "annual_volatility": empyrical.annual_volatility(series, annualization=periods_per_year),
        "cagr": empyrical.cagr(series, annualization=periods_per_year),
        "calmar": empyrical.calmar_ratio(series, annualization=periods_per_year),
        "max_drawdown": empyrical.max_drawdown(series),
    }


def _assert_matches(actual: dict[str, float], expected: dict[str, float]) -> None:
    for key, value in expected.items():
        if math.isnan(value):
            assert math.isnan(actual[key]), f"{key}: {actual[key]} != NaN"
        elif math.isinf(value):
            assert actual[key] == value, f"{key}: {actual[key]} != {value}"
        else:
            assert abs(actual[key] - value) <= 1e-9 * max(1.0, abs(value)), (
                f"{key}: {actual[key]!r} != {value!r}"
            )


@given(
    returns=grid_returns,
    periods_per_year=st.sampled_from([12.0, 52.0, 252.0, 365.0]),
    risk_free_rate=st.sampled_from([0.0, 0.02, 0.1]),
    start=st.sampled_from([1.0, 100.0, 1e6]),
)
def test_return_metrics_match_empyrical_on_generated_returns(
    returns: list[float], periods_per_year: float, risk_free_rate: float, start: float
) -> None:
    values = np.array(returns)
    equity = _equity_from_returns(values, start=start)
    actual = compute_metrics(
        equity, periods_per_year=periods_per_year, risk_free_rate=risk_free_rate
    )
    expected = _empyrical_metrics(
        values, periods_per_year=periods_per_year, risk_free_rate=risk_free_rate
    )
    if np.ptp(values) == 0:
        # Deliberate difference: empyrical divides by a zero deviation (±inf); we say NaN.
        expected["sharpe"] = math.nan
    _assert_matches(actual, expected)


@pytest.mark.parametrize(
    ("periods_per_year", "risk_free_rate"), [(252.0, 0.0), (252.0, 0.04), (365.0, 0.05)]
)
def test_return_metrics_match_empyrical_on_a_long_random_walk(
    periods_per_year: float, risk_free_rate: float
) -> None:
    returns = np.random.default_rng(7).normal(0.0004, 0.012, size=750)
    equity = _equity_from_returns(returns, start=10_000.0)
    actual = compute_metrics(
        equity, periods_per_year=periods_per_year, risk_free_rate=risk_free_rate
    )
    expected = _empyrical_metrics(
        returns, periods_per_year=periods_per_year, risk_free_rate=risk_free_rate
    )
    _assert_matches(actual, expected)
    assert actual["best_period"] == pytest.approx(returns.max(), abs=1e-12)
    assert actual["worst_period"] == pytest.approx(returns.min(), abs=1e-12)


def test_risk_free_rate_is_compounded_per_period_not_divided() -> None:
    returns = np.random.default_rng(3).normal(0.0005, 0.01, size=500)
    equity = _equity_from_returns(returns, start=100.0)
    sharpe = compute_metrics(equity, periods_per_year=252, risk_free_rate=0.05)["sharpe"]
    series = pd.Series(returns)
    compounded = empyrical.sharpe_ratio(series, risk_free=1.05 ** (1 / 252) - 1)
    divided = empyrical.sharpe_ratio(series, risk_free=0.05 / 252)
    assert sharpe == pytest.approx(compounded, rel=1e-9)
    assert abs(sharpe - divided) > 1e-4


def test_worked_example_of_the_docs_matches_the_hand_calculation() -> None:
    # docs/metrics.md: returns +10 %, -10 %, +10 %, +10 % over four quarters.
    equity = _equity([100.0, 110.0, 99.0, 108.9, 119.79], freq="QE")
    metrics = compute_metrics(equity, periods_per_year=4)
    # mean 0.05, deviations (0.05, -0.15, 0.05, 0.05): variance 0.03 / 3, std 0.1.
    assert metrics["annual_volatility"] == pytest.approx(0.1 * 2)
    assert metrics["sharpe"] == pytest.approx(0.05 / 0.1 * 2)
    # Downside: sqrt(0.1² / 4) = 0.05 a quarter, 0.1 a year; mean 0.2 a year.
    assert metrics["sortino"] == pytest.approx(0.2 / 0.1)
    # Four quarters are one year, so cagr is the total return.
    assert metrics["cagr"] == pytest.approx(0.1979)
    assert metrics["total_return"] == pytest.approx(0.1979)
    assert metrics["max_drawdown"] == pytest.approx(99 / 110 - 1)
    assert metrics["calmar"] == pytest.approx(0.1979 / 0.1)
    # Peak 110 on bar 1, back above it on bar 4.
    assert metrics["max_drawdown_duration_bars"] == 3
    assert metrics["best_period"] == pytest.approx(0.1)
    assert metrics["worst_period"] == pytest.approx(-0.1)
    # 1.01 ** 4 - 1 a year is 1 % a quarter: excess returns 0.09, -0.11, 0.09, 0.09.
    with_rate = compute_metrics(equity, periods_per_year=4, risk_free_rate=1.01**4 - 1)
    assert with_rate["sharpe"] == pytest.approx(0.04 / 0.1 * 2)
    assert with_rate["sortino"] == pytest.approx(0.16 / (math.sqrt(0.11**2 / 4) * 2))


def test_trade_stats_match_a_hand_calculation() -> None:
    stats = trade_stats([100.0, -50.0, 30.0, -20.0], [0.02, -0.01, 0.006, -0.004])
    assert stats.number_of_trades == 4
    assert stats.win_rate == 0.5
    assert stats.profit_factor == pytest.approx(130 / 70)
    assert stats.payoff_ratio == pytest.approx(65 / 35)
    assert stats.expectancy == pytest.approx(0.5 * 65 - 0.5 * 35)
    assert stats.average_trade == pytest.approx(15.0)
    assert stats.average_trade_return == pytest.approx(0.012 / 4)


@pytest.mark.parametrize(
    ("pnl", "win_rate", "profit_factor", "payoff_ratio", "expectancy"),
    [
        ([50.0, 50.0, -30.0], 2 / 3, 100 / 30, 50 / 30, 2 / 3 * 50 - 1 / 3 * 30),
        # A break-even trade counts as a trade but is neither a win nor a loss.
        ([10.0, 0.0, -5.0], 1 / 3, 10 / 5, 10 / 5, 1 / 3 * 10 - 1 / 3 * 5),
    ],
    ids=["profit-factor-differs-from-payoff", "break-even-trade"],
)
def test_trade_stats_on_more_hand_calculations(
    pnl: list[float], win_rate: float, profit_factor: float, payoff_ratio: float, expectancy: float
) -> None:
    stats = trade_stats(pnl, [0.0] * len(pnl))
    assert stats.number_of_trades == len(pnl)
    assert stats.win_rate == pytest.approx(win_rate)
    assert stats.profit_factor == pytest.approx(profit_factor)
    assert stats.payoff_ratio == pytest.approx(payoff_ratio)
    assert stats.expectancy == pytest.approx(expectancy)


@pytest.mark.parametrize(
    ("pnl", "win_rate", "profit_factor", "payoff_ratio"),
    [
        ([10.0, 20.0], 1.0, math.inf, math.inf),
        ([-10.0, -20.0], 0.0, 0.0, 0.0),
        ([0.0, 0.0], 0.0, math.nan, math.nan),
    ],
    ids=["no-losses", "no-wins", "only-break-even"],
)
def test_trade_stats_degenerate_ratios_are_defined(
    pnl: list[float], win_rate: float, profit_factor: float, payoff_ratio: float
) -> None:
    stats = trade_stats(pnl, [0.0] * len(pnl))
    assert stats.win_rate == win_rate
    np.testing.assert_equal(
        [stats.profit_factor, stats.payoff_ratio], [profit_factor, payoff_ratio]
    )
    assert stats.expectancy == pytest.approx(np.mean(pnl))


def test_no_trades_give_nan_ratios_and_zero_trades() -> None:
    stats = trade_stats([], [])
    assert stats.number_of_trades == 0
    ratios = [stats.win_rate, stats.profit_factor, stats.payoff_ratio, stats.expectancy]
    assert all(math.isnan(value) for value in ratios)
    metrics = compute_metrics(_equity([100.0, 101.0]), trades=stats, periods_per_year=252)
    assert metrics["number_of_trades"] == 0.0
    assert math.isnan(metrics["win_rate"])


@given(st.lists(st.integers(-1000, 1000).map(float), min_size=1, max_size=50))
def test_expectancy_equals_the_average_trade(pnl: list[float]) -> None:
    stats = trade_stats(pnl, [0.0] * len(pnl))
    assert stats.expectancy == pytest.approx(stats.average_trade, abs=1e-9)


@pytest.mark.parametrize(
    ("pnl", "returns"),
    [([1.0, 2.0], [0.1]), ([1.0, math.nan], [0.1, 0.2]), ([[1.0], [2.0]], [[0.1], [0.2]])],
    ids=["lengths-differ", "nan-pnl", "two-dimensional"],
)
def test_trade_stats_reject_malformed_input(pnl: list[float], returns: list[float]) -> None:
    with pytest.raises(DataError, match="trade"):
        trade_stats(pnl, returns)


def test_trade_stats_flow_into_the_metrics() -> None:
    stats = trade_stats([100.0, -50.0, 30.0, -20.0], [0.02, -0.01, 0.006, -0.004])
    metrics = compute_metrics(_equity([100.0, 101.0, 100.6]), trades=stats, periods_per_year=252)
    assert metrics["number_of_trades"] == 4.0
    assert metrics["profit_factor"] == pytest.approx(130 / 70)
    assert metrics["expectancy"] == pytest.approx(15.0)
    without = compute_metrics(_equity([100.0, 101.0, 100.6]), periods_per_year=252)
    assert all(math.isnan(without[key]) for key in TRADE_KEYS)


@pytest.mark.parametrize(
    ("values", "bars", "max_drawdown"),
    [
        # Peak 120 on bar 1, back to 120 on bar 4 (3 bars); peak 130 on bar 5, still under it.
        ([100.0, 120.0, 90.0, 100.0, 120.0, 130.0, 125.0, 110.0], 3, 90 / 120 - 1),
        # Never recovered: from the peak on bar 0 to the last bar.
        ([100.0, 90.0, 95.0, 99.0, 98.0], 4, -0.1),
        # The unrecovered spell is the longer one.
        ([100.0, 90.0, 100.0, 105.0, 104.0, 103.0, 104.0], 3, -0.1),
        ([100.0, 101.0, 102.0], 0, 0.0),
    ],
    ids=["recovered-longest", "never-recovered", "open-spell-longest", "no-drawdown"],
)
def test_drawdown_duration_on_hand_made_paths(
    values: list[float], bars: int, max_drawdown: float
) -> None:
    metrics = compute_metrics(_equity(values), periods_per_year=252)
    assert metrics["max_drawdown_duration_bars"] == bars
    assert metrics["max_drawdown"] == pytest.approx(max_drawdown)


def _longest_drawdown_by_loop(values: list[float]) -> int:
    longest, peak, peak_bar, underwater = 0, values[0], 0, False
    for bar, value in enumerate(values):
        if value < peak:
            longest, underwater = max(longest, bar - peak_bar), True
        else:
            if underwater:
                longest = max(longest, bar - peak_bar)
            peak, peak_bar, underwater = value, bar, False
    return longest


@given(st.lists(st.integers(1, 12).map(float), min_size=1, max_size=60))
def test_drawdown_duration_matches_a_loop_over_bars(values: list[float]) -> None:
    metrics = compute_metrics(_equity(values), periods_per_year=252)
    assert metrics["max_drawdown_duration_bars"] == _longest_drawdown_by_loop(values)


def test_constant_equity_has_zero_volatility_and_no_sharpe() -> None:
    metrics = compute_metrics(_equity([100.0] * 10), periods_per_year=252)
    assert metrics["annual_volatility"] == 0.0
    assert math.isnan(metrics["sharpe"])
    assert math.isnan(metrics["sortino"])
    assert math.isnan(metrics["calmar"])
    assert metrics["cagr"] == 0.0
    assert metrics["max_drawdown"] == 0.0
    assert metrics["max_drawdown_duration_bars"] == 0.0


def test_constant_equity_under_a_risk_free_rate_has_sortino_minus_root_periods() -> None:
    # Every excess return is -r: mean -r · 252 over downside r · sqrt(252).
    metrics = compute_metrics(_equity([100.0] * 10), periods_per_year=252, risk_free_rate=0.03)
    assert math.isnan(metrics["sharpe"])
    assert metrics["sortino"] == pytest.approx(-math.sqrt(252))


def test_constant_growth_is_flat_not_an_astronomical_sharpe() -> None:
    # Rebuilt returns differ from 1 % by rounding noise; empyrical would report ~1e16.
    metrics = compute_metrics(_equity(100.0 * 1.01 ** np.arange(50)), periods_per_year=252)
    assert metrics["annual_volatility"] == 0.0
    assert math.isnan(metrics["sharpe"])
    assert metrics["sortino"] == math.inf
    assert math.isnan(metrics["calmar"])


def test_single_bar_has_no_return_metrics() -> None:
    metrics = compute_metrics(_equity([250.0]), periods_per_year=252)
    for key in ["cagr", "annual_volatility", "sharpe", "sortino", "calmar", "best_period"]:
        assert math.isnan(metrics[key]), key
    assert metrics["total_return"] == 0.0
    assert metrics["max_drawdown"] == 0.0
    assert metrics["start_equity"] == metrics["end_equity"] == 250.0


def test_single_period_annualises_but_has_no_volatility() -> None:
    metrics = compute_metrics(_equity([100.0, 90.0]), periods_per_year=252)
    assert metrics["cagr"] == pytest.approx(0.9**252 - 1)
    assert metrics["calmar"] == pytest.approx((0.9**252 - 1) / 0.1)
    assert metrics["max_drawdown"] == pytest.approx(-0.1)
    assert metrics["max_drawdown_duration_bars"] == 1.0
    assert metrics["best_period"] == metrics["worst_period"] == pytest.approx(-0.1)
    for key in ["annual_volatility", "sharpe", "sortino"]:
        assert math.isnan(metrics[key]), key


def test_short_steep_run_gives_infinite_cagr_and_no_calmar() -> None:
    metrics = compute_metrics(_equity([100.0, 1e6, 9e5]), periods_per_year=365)
    assert metrics["cagr"] == math.inf
    assert math.isnan(metrics["calmar"])


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ([100.0, math.nan, 101.0], "equity has NaN or infinite values on 1 bar.*2024-01-02"),
        ([100.0, math.inf], "NaN or infinite"),
        ([100.0, 0.0, 50.0], "zero or negative values on 1 bar"),
        ([], "equity is empty"),
    ],
    ids=["nan", "inf", "zero", "empty"],
)
def test_bad_equity_raises_a_one_line_data_error(values: list[float], match: str) -> None:
    with pytest.raises(DataError, match=match) as raised:
        compute_metrics(_equity(values), periods_per_year=252)
    assert "\n" not in str(raised.value)


def test_unsorted_equity_index_raises_data_error() -> None:
    equity = _equity([100.0, 101.0, 102.0]).iloc[[0, 2, 1]]
    with pytest.raises(DataError, match="not strictly increasing"):
        compute_metrics(equity, periods_per_year=252)


@pytest.mark.parametrize(
    ("periods_per_year", "risk_free_rate"),
    [(0.0, 0.0), (-252.0, 0.0), (math.nan, 0.0), (252.0, -1.0), (252.0, math.inf)],
)
def test_bad_rates_raise_config_error(periods_per_year: float, risk_free_rate: float) -> None:
    with pytest.raises(ConfigError):
        compute_metrics(
            _equity([100.0, 101.0]),
            periods_per_year=periods_per_year,
            risk_free_rate=risk_free_rate,
        )


def test_exposure_is_the_mean_and_turnover_is_passed_through() -> None:
    equity = _equity([100.0, 101.0, 102.0, 101.0])
    exposure = pd.Series([0.0, 0.5, 1.0, 0.5], index=equity.index)
    metrics = compute_metrics(equity, periods_per_year=252, exposure=exposure, turnover=3.5)
    assert metrics["exposure"] == 0.5
    assert metrics["turnover"] == 3.5
    assert math.isnan(compute_metrics(equity, periods_per_year=252)["exposure"])


@pytest.mark.parametrize(
    "exposure",
    [pd.Series([0.5, 0.5, 0.5]), pd.Series([0.5, math.nan, 0.5, 0.5])],
    ids=["other-index", "nan"],
)
def test_bad_exposure_raises_data_error(exposure: pd.Series) -> None:
    equity = _equity([100.0, 101.0, 102.0, 101.0])
    if len(exposure) == len(equity):
        exposure.index = equity.index
    with pytest.raises(DataError, match="exposure"):
        compute_metrics(equity, periods_per_year=252, exposure=exposure)


def test_metrics_are_the_documented_keys_as_plain_floats() -> None:
    stats = trade_stats([10.0, -5.0], [0.01, -0.005])
    equity = _equity([100.0, 102.0, 99.0, 104.0])
    metrics = compute_metrics(
        equity,
        trades=stats,
        periods_per_year=252,
        exposure=pd.Series(0.8, index=equity.index),
        turnover=1.0,
    )
    assert list(metrics) == METRIC_KEYS
    assert all(type(value) is float for value in metrics.values())
    assert json.loads(json.dumps(metrics)) == metrics


def test_trade_stats_is_frozen() -> None:
    stats = trade_stats([1.0], [0.01])
    assert isinstance(stats, TradeStats)
    with pytest.raises(AttributeError):
        stats.win_rate = 0.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (pd.bdate_range("2024-01-01", periods=60), 252.0),
        (pd.bdate_range("2024-01-01", periods=60).delete([14, 30]), 252.0),
        (pd.date_range("2024-01-01", periods=60), 365.0),
        (pd.date_range("2024-01-01", periods=60, tz="UTC"), 365.0),
        (pd.bdate_range("2024-01-01", periods=60).append(pd.DatetimeIndex(["2024-04-06"])), 365.0),
    ],
    ids=["business-days", "with-holidays", "calendar-days", "utc-calendar-days", "one-saturday"],
)
def test_infer_periods_per_year_from_weekend_dates(index: pd.Index, expected: float) -> None:
    assert infer_periods_per_year(index) == expected


@pytest.mark.parametrize(
    ("index", "match"),
    [
        (pd.date_range("2024-01-01", periods=48, freq="h"), "intraday"),
        (pd.date_range("2024-01-05", periods=20, freq="W-FRI"), "not daily"),
        (pd.date_range("2024-01-31", periods=20, freq="ME"), "not daily"),
        (pd.RangeIndex(30), "DatetimeIndex"),
        (pd.DatetimeIndex(["2024-01-02"]), "at least two"),
    ],
    ids=["hourly", "weekly", "monthly", "not-dates", "one-date"],
)
def test_infer_periods_per_year_refuses_to_guess_other_frequencies(
    index: pd.Index, match: str
) -> None:
    with pytest.raises(DataError, match=match):
        infer_periods_per_year(index)


def test_public_api_is_intended() -> None:
    assert metrics_module.__all__ == [
        "TradeStats",
        "compute_metrics",
        "infer_periods_per_year",
        "trade_stats",
    ]
