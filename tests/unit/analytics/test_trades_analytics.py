"""Trade analytics on a hand-built set of ten trades, every value computed by hand."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harvester.analytics.recommendations import recommend
from harvester.analytics.trades import (
    METRIC_COLUMNS,
    TRADE_COLUMNS,
    last_trades,
    smooth,
    trade_analytics,
)
from harvester.core.errors import ConfigError, DataError

# symbol, regime, exit_type, pnl, return, mfe, mae, hours, exit day (January 2024)
ROWS = [
    ("AAA", "trend", "target", 30.0, 0.03, 0.05, -0.01, 24.0, 1),
    ("AAA", "trend", "stop", -10.0, -0.01, 0.01, -0.02, 48.0, 2),
    ("AAA", "chop", "signal", 0.0, 0.0, 0.0, 0.0, 0.0, 3),
    ("AAA", "trend", "target", 20.0, 0.02, 0.04, 0.0, 24.0, 4),
    ("AAA", "chop", "target", 15.0, 0.015, 0.03, -0.005, 6.0, 5),
    ("AAA", "trend", "stop", -20.0, -0.02, 0.0, -0.03, 72.0, 6),
    ("BBB", "chop", "stop", -5.0, -0.005, 0.01, -0.01, 2.0, 7),
    ("BBB", "chop", "stop", -5.0, -0.005, 0.01, -0.01, 2.0, 8),
    ("BBB", "chop", "stop", -5.0, -0.005, 0.01, -0.01, 2.0, 9),
    ("BBB", "chop", "target", 30.0, 0.03, 0.06, -0.01, 2.0, 10),
]


def ten_trades() -> pd.DataFrame:
    frame = pd.DataFrame([r[:8] for r in ROWS], columns=list(TRADE_COLUMNS[:8]))
    frame["exit_time"] = pd.to_datetime([f"2024-01-{r[8]:02d}" for r in ROWS], utc=True)
    return frame.sample(frac=1.0, random_state=3)  # input order must not matter


def _group(table: pd.DataFrame, **keys: str) -> pd.Series:
    mask = np.logical_and.reduce([table[k] == v for k, v in keys.items()])
    rows = table[mask]
    assert len(rows) == 1
    return rows.iloc[0]


@pytest.fixture
def by_regime() -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy/pandas warning on any degenerate case
        return trade_analytics(ten_trades(), by=("symbol", "regime"))


def test_trend_group_by_hand(by_regime: pd.DataFrame) -> None:
    g = _group(by_regime, symbol="AAA", regime="trend")  # trades on days 1, 2, 4, 6
    assert g["trades"] == 4
    assert g["win_rate"] == pytest.approx(2 / 4)
    assert g["expectancy"] == pytest.approx((30 - 10 + 20 - 20) / 4)  # 5.0
    assert g["profit_factor"] == pytest.approx((30 + 20) / (10 + 20))
    assert g["payoff_ratio"] == pytest.approx(((30 + 20) / 2) / ((10 + 20) / 2))
    # captured shares: 0.03/0.05, -0.01/0.01 → clipped to 0, 0.02/0.04, mfe 0 → 0
    assert g["exit_efficiency"] == pytest.approx((0.6 + 0 + 0.5 + 0) / 4)
    # (r - a)/(f - a): 0.04/0.06, 0.01/0.03, 0.02/0.04, 0.01/0.03
    assert g["adverse_recovery_rate"] == pytest.approx((2 / 3 + 1 / 3 + 1 / 2 + 1 / 3) / 4)
    assert g["avg_hours"] == pytest.approx((24 + 48 + 24 + 72) / 4)  # 42
    assert g["time_efficiency"] == pytest.approx(5.0 / 42.0)
    assert g["avg_mfe"] == pytest.approx(0.1 / 4)
    assert g["avg_mae"] == pytest.approx(-0.06 / 4)
    # AAA in exit order: trend trend chop trend chop trend: trend → trend once out of 3
    assert g["regime_stability"] == pytest.approx(1 / 3)


def test_smoothing_by_hand_and_against_pandas(by_regime: pd.DataFrame) -> None:
    g = _group(by_regime, symbol="AAA", regime="trend")
    # s1 = 30; s2 = .3·-10 + .7·30 = 18; s3 = .3·20 + .7·18 = 18.6; s4 = .3·-20 + .7·18.6
    assert g["expectancy_smoothed"] == pytest.approx(-6 + 0.7 * 18.6)  # 7.02
    assert g["win_rate_smoothed"] == pytest.approx(0.7 * (0.3 + 0.7 * 0.7))  # 0.553
    peer = pd.Series([0.6, 0.0, 0.5, 0.0]).ewm(alpha=0.3, adjust=False).mean().iloc[-1]
    assert g["exit_efficiency_smoothed"] == pytest.approx(peer)
    assert g["exit_efficiency_smoothed"] == pytest.approx(0.7 * (0.15 + 0.7 * 0.42))  # 0.3108


def test_chop_groups_by_hand(by_regime: pd.DataFrame) -> None:
    aaa = _group(by_regime, symbol="AAA", regime="chop")  # a break-even trade and a win
    assert aaa["win_rate"] == 0.5 and aaa["expectancy"] == pytest.approx(7.5)
    assert math.isinf(aaa["profit_factor"]) and math.isinf(aaa["payoff_ratio"])  # no losses
    assert aaa["exit_efficiency"] == pytest.approx((0 + 0.015 / 0.03) / 2)
    # the never-moved trade (f == a == 0) counts 1; the other 0.02/0.035
    assert aaa["adverse_recovery_rate"] == pytest.approx((1 + 0.02 / 0.035) / 2)
    assert aaa["time_efficiency"] == pytest.approx(7.5 / 3)
    assert aaa["regime_stability"] == 0.0  # both chop trades are followed by trend
    bbb = _group(by_regime, symbol="BBB", regime="chop")
    assert bbb["win_rate"] == 0.25 and bbb["expectancy"] == pytest.approx(15 / 4)
    assert bbb["profit_factor"] == pytest.approx(30 / 15)
    assert bbb["payoff_ratio"] == pytest.approx(30 / 5)
    assert bbb["exit_efficiency"] == pytest.approx(0.5 / 4)
    assert bbb["adverse_recovery_rate"] == pytest.approx((3 * 0.25 + 0.04 / 0.07) / 4)
    assert bbb["time_efficiency"] == pytest.approx(3.75 / 2)
    assert bbb["regime_stability"] == 1.0  # 3 of 3 transitions stay in chop


def test_exit_type_groups_and_degenerate_single_trades() -> None:
    table = trade_analytics(ten_trades())
    assert list(table.columns) == ["symbol", "regime", "exit_type", *METRIC_COLUMNS]
    assert len(table) == 6
    flat = _group(table, symbol="AAA", regime="chop", exit_type="signal")  # one 0-P&L trade
    assert flat["trades"] == 1 and flat["win_rate"] == 0.0 and flat["expectancy"] == 0.0
    assert math.isnan(flat["profit_factor"]) and math.isnan(flat["payoff_ratio"])
    assert math.isnan(flat["time_efficiency"])  # zero hours held
    assert flat["exit_efficiency"] == 0.0 and flat["adverse_recovery_rate"] == 1.0
    stops = _group(table, symbol="AAA", regime="trend", exit_type="stop")  # only losses
    assert stops["profit_factor"] == 0.0 and stops["payoff_ratio"] == 0.0
    assert stops["regime_stability"] == pytest.approx(1 / 3)  # the symbol × regime value


def test_window_keeps_the_last_trades_by_exit_time() -> None:
    table = trade_analytics(ten_trades(), window=4, by=("symbol", "regime"))
    assert list(table["symbol"]) == ["BBB"] and table["trades"].iloc[0] == 4
    assert list(last_trades(ten_trades(), 2)["pnl"]) == [-5.0, 30.0]


def test_unknown_mfe_mae_and_missing_regime() -> None:
    frame = ten_trades().assign(mfe=np.nan, mae=np.nan, regime=None)
    g = trade_analytics(frame, by=("symbol", "regime"))
    assert set(g["regime"]) == {"unknown"}
    assert g["exit_efficiency"].isna().all() and g["adverse_recovery_rate"].isna().all()
    assert g["regime_stability"].tolist() == [1.0, 1.0]


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(DataError, match=r"lack column.*mfe"):
        trade_analytics(ten_trades().drop(columns=["mfe"]))
    with pytest.raises(ConfigError, match="window"):
        trade_analytics(ten_trades(), window=0)
    with pytest.raises(ConfigError, match="alpha"):
        trade_analytics(ten_trades(), alpha=0.0)


def test_empty_trades_give_an_empty_table() -> None:
    assert trade_analytics(ten_trades().iloc[:0]).empty


def test_smooth_between_snapshots() -> None:
    previous = pd.Series({"a": 10.0, "b": math.nan})
    current = pd.Series({"a": 20.0, "b": 4.0, "c": 1.0})
    blended = smooth(previous, current)
    assert blended["a"] == pytest.approx(0.3 * 20 + 0.7 * 10)  # 13
    assert blended["b"] == 4.0 and blended["c"] == 1.0  # nothing to blend with


finite = st.floats(-1e3, 1e3, allow_nan=False)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["X", "Y"]),
            st.sampled_from(["trend", "chop"]),
            finite,
            st.floats(0, 0.2),
            st.floats(-0.2, 0),
            st.floats(0, 100),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_shares_stay_in_range_without_warnings(rows: list[tuple[object, ...]]) -> None:
    frame = pd.DataFrame(rows, columns=["symbol", "regime", "pnl", "mfe", "mae", "hours_held"])
    frame = frame.assign(exit_type="stop", exit_time=pd.RangeIndex(len(frame)),
                         **{"return": frame["pnl"] / 1e4})  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = trade_analytics(frame)
    for column in ("win_rate", "exit_efficiency", "adverse_recovery_rate", "regime_stability"):
        assert table[column].between(0.0, 1.0).all(), column
    assert table["trades"].sum() == len(frame)


def test_the_worked_example_of_the_docs() -> None:
    doc = (Path(__file__).parents[3] / "docs" / "analytics.md").read_text(encoding="utf-8")
    frame = pd.DataFrame(
        {
            "symbol": "X", "regime": "trend", "exit_type": "stop",
            "pnl": [30.0, -10.0, 20.0, -20.0], "return": [0.03, -0.01, 0.02, -0.02],
            "mfe": [0.05, 0.01, 0.04, 0.0], "mae": [-0.01, -0.02, 0.0, -0.03],
            "hours_held": [24.0, 48.0, 24.0, 72.0], "exit_time": [1, 2, 3, 4],
        }
    )  # fmt: skip
    g = trade_analytics(frame).iloc[0]
    quoted = {
        "win rate 2/4 = 0.5": g["win_rate"], "= 5.0": g["expectancy"],
        "profit factor 50/30 = 1.667": g["profit_factor"], "25/15 = 1.667": g["payoff_ratio"],
        "= 0.275": g["exit_efficiency"], "= 0.4583": g["adverse_recovery_rate"],
        "168/4 = 42 h": g["avg_hours"], "5/42 = 0.1190": g["time_efficiency"],
        "0.7·18.6 = 7.02": g["expectancy_smoothed"],
    }  # fmt: skip
    for text, value in quoted.items():
        assert text in doc, text
        assert value == pytest.approx(float(text.split("= ")[-1].split()[0]), abs=5e-4), text
    ten = pd.concat([frame.assign(exit_time=range(k * 4, k * 4 + 4)) for k in range(3)])
    (rec,) = recommend(trade_analytics(ten.head(10), by=("symbol", "regime")))
    assert (rec.rule_name, rec.action.value, rec.confidence) == ("harvest", "maintain", 0.25)
    assert "`harvest` / maintain, confidence 0.25 low" in doc
