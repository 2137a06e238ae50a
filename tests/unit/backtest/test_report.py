"""The HTML report: monthly returns by hand, escaped text, embedded plots, atomic writes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harvester.backtest.report import monthly_returns, render_html_report, write_html_report
from harvester.core.errors import DataError


def equity_frame(values: list[float], dates: list[str]) -> pd.DataFrame:
    index = pd.DatetimeIndex(pd.to_datetime(dates))
    return pd.DataFrame({"equity": values, "cash": values, "exposure": 0.0}, index=index)


def trades_frame(symbol: str = "<X>") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": [symbol], "side": ["long"], "qty": [10.0],
            "entry_time": [pd.Timestamp("2020-01-02")], "entry_price": [100.0],
            "exit_time": [pd.Timestamp("2020-02-03")], "exit_price": [110.0], "fees": [1.0],
            "pnl": [99.0], "return": [0.099], "exit_reason": ["target"], "mfe": [0.12],
            "mae": [-0.02], "bars_held": [21],
        }
    )  # fmt: skip


def test_monthly_returns_by_hand() -> None:
    # First value 100 (Jan 2), Jan ends at 105, Feb at 110, Mar at 99.
    curve = equity_frame(
        [100.0, 105.0, 110.0, 99.0], ["2020-01-02", "2020-01-31", "2020-02-28", "2020-03-31"]
    )["equity"]
    table = monthly_returns(curve)
    assert table.loc[2020, 1] == pytest.approx(0.05)
    assert table.loc[2020, 2] == pytest.approx(110 / 105 - 1)
    assert table.loc[2020, 3] == pytest.approx(-0.10)
    assert bool(table.isna().loc[2020, 4])


def test_report_contains_metrics_plots_and_escaped_text() -> None:
    dates = [d.strftime("%Y-%m-%d") for d in pd.bdate_range("2020-01-01", periods=60)]
    values = list(100_000 * np.cumprod(1 + np.linspace(-0.01, 0.01, 60)))
    html = render_html_report(
        title="Test <run>",
        equity=equity_frame(values, dates),
        trades=trades_frame(),
        metrics={"total_return": 0.1234, "sharpe": 1.5, "profit_factor": math.inf},
        warnings=["no_data_at_fill: 2"],
    )
    assert "12.34%" in html
    assert "1.50" in html
    assert "&lt;X&gt;" in html and "<X>" not in html
    assert "Test &lt;run&gt;" in html
    assert html.count('<img src="data:image/png;base64,') >= 3
    assert "http" not in html
    assert "no_data_at_fill: 2" in html


def test_empty_trades_and_a_single_row_render() -> None:
    html = render_html_report(
        title="flat",
        equity=equity_frame([100.0], ["2020-01-02"]),
        trades=pd.DataFrame(),
        metrics={"sharpe": math.nan},
    )
    assert "<html" in html


def test_write_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    curve = equity_frame([100.0, 101.0], ["2020-01-02", "2020-01-03"])
    write_html_report(target, title="ok", equity=curve, trades=pd.DataFrame(), metrics={})
    assert target.read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(DataError):
        write_html_report(
            tmp_path / "bad.html",
            title="bad",
            equity=curve.drop(columns="equity"),
            trades=pd.DataFrame(),
            metrics={},
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
