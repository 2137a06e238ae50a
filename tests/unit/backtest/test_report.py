"""The HTML backtest report: monthly returns by hand, formatting, escaping, atomic writes."""

from __future__ import annotations

import base64
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harvester.backtest.report import monthly_returns, render_html_report, write_html_report
from harvester.core.errors import DataError

IMAGE_PREFIX = '<img src="data:image/png;base64,'
METRICS = {
    "total_return": 0.1234,
    "cagr": 0.05,
    "max_drawdown": -0.2,
    "annual_volatility": 0.157,
    "win_rate": 0.5,
    "exposure": 0.75,
    "sharpe": 1.5,
    "sortino": math.nan,
    "calmar": 0.256,
    "profit_factor": math.inf,
    "number_of_trades": 3.0,
}


class _Cells(HTMLParser):
    """Collect the text of every table row as a list of cell strings (entities decoded)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _rows(document: str) -> list[list[str]]:
    parser = _Cells()
    parser.feed(document)
    return parser.rows


def _without_images(document: str) -> str:
    return re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]*", "", document)


def _equity(dates: list[str], values: list[float]) -> pd.DataFrame:
    equity = np.array(values)
    return pd.DataFrame(
        {"equity": equity, "cash": equity * 0.25, "exposure": np.full(len(values), 0.75)},
        index=pd.DatetimeIndex(dates),
    )


def _trades(count: int) -> pd.DataFrame:
    entry = pd.Timestamp("2020-01-02")
    return pd.DataFrame(
        {
            "symbol": ["<X>", "AAPL", "MSFT"] * count,
            "side": ["long", "short", "long"] * count,
            "qty": [10.0, 2.5, 100.0] * count,
            "entry_time": [entry] * 3 * count,
            "entry_price": [100.0, 50.0, 0.5] * count,
            "exit_time": [pd.Timestamp("2020-01-10 15:30"), entry, pd.NaT] * count,
            "exit_price": [110.0, 55.0, math.nan] * count,
            "fees": [1.0, 0.5, 0.0] * count,
            "pnl": [99.0, -13.0, 1234.5] * count,
            "return": [0.1, -0.1, 0.0] * count,
            "exit_reason": ["target", "stop", "signal"] * count,
            "mfe": [0.12, 0.02, 0.0] * count,
            "mae": [-0.01, -0.11, 0.0] * count,
            "bars_held": [6, 0, 3] * count,
        }
    )


@pytest.fixture
def equity() -> pd.DataFrame:
    dates = pd.bdate_range("2020-01-01", "2021-03-31")
    values = 100.0 * np.cumprod(1.0 + np.random.default_rng(7).normal(0.0005, 0.01, len(dates)))
    return pd.DataFrame(
        {"equity": values, "cash": values * 0.3, "exposure": np.full(len(dates), 0.7)},
        index=dates,
    )


def _render(
    equity: pd.DataFrame,
    trades: pd.DataFrame,
    *,
    config_summary: dict[str, str] | None = None,
    warnings: tuple[str, ...] = (),
) -> str:
    return render_html_report(
        title="Momentum <beta> & co",
        equity=equity,
        trades=trades,
        metrics=METRICS,
        config_summary=config_summary,
        warnings=warnings,
    )


def test_monthly_returns_on_month_ends_match_hand_calculation() -> None:
    series = pd.Series(
        [100.0, 110.0, 99.0], index=pd.DatetimeIndex(["2020-01-31", "2020-02-28", "2020-03-31"])
    )
    table = monthly_returns(series)
    assert table.index.tolist() == [2020]
    assert table.columns.equals(pd.RangeIndex(1, 13))
    # January is measured from the first value, which is also its last.
    assert table.loc[2020, 1] == pytest.approx(0.0)
    assert table.loc[2020, 2] == pytest.approx(110.0 / 100.0 - 1.0)
    assert table.loc[2020, 3] == pytest.approx(99.0 / 110.0 - 1.0)
    assert table.loc[2020, 4:].isna().all()


def test_monthly_returns_measure_first_month_from_first_value() -> None:
    dates = ["2020-01-02", "2020-01-31", "2020-02-28", "2020-03-31"]
    table = monthly_returns(pd.Series([100.0, 105.0, 110.0, 99.0], index=pd.DatetimeIndex(dates)))
    assert table.loc[2020, 1] == pytest.approx(0.05)  # 105 / 100
    assert table.loc[2020, 2] == pytest.approx(110.0 / 105.0 - 1.0)
    assert table.loc[2020, 3] == pytest.approx(-0.10)  # 99 / 110


def test_monthly_returns_measure_first_month_from_first_value_and_bridge_gaps() -> None:
    dates = ["2020-01-02", "2020-01-31", "2020-02-03", "2020-02-14", "2020-12-31", "2021-01-29"]
    values = [100.0, 105.0, 90.0, 84.0, 126.0, 138.6]
    table = monthly_returns(pd.Series(values, index=pd.DatetimeIndex(dates)))
    assert table.index.tolist() == [2020, 2021]
    assert table.loc[2020, 1] == pytest.approx(0.05)  # 105 / 100
    assert table.loc[2020, 2] == pytest.approx(-0.20)  # 84 / 105
    assert table.loc[2020, 3:11].isna().all()
    assert table.loc[2020, 12] == pytest.approx(0.50)  # 126 / 84, across the gap
    assert table.loc[2021, 1] == pytest.approx(0.10)  # 138.6 / 126, across the year end
    assert table.loc[2021, 2:].isna().all()


def test_monthly_returns_ignore_timezone_order_and_nan() -> None:
    index = pd.DatetimeIndex(["2020-02-28", "2020-01-15", "2020-02-10"], tz="UTC")
    table = monthly_returns(pd.Series([120.0, 100.0, math.nan], index=index))
    assert table.loc[2020, 1] == pytest.approx(0.0)
    assert table.loc[2020, 2] == pytest.approx(0.2)


def test_monthly_returns_of_empty_series_is_empty_table() -> None:
    table = monthly_returns(pd.Series([], index=pd.DatetimeIndex([]), dtype=float))
    assert table.empty
    assert table.columns.equals(pd.RangeIndex(1, 13))


def test_report_formats_metrics_as_documented(equity: pd.DataFrame) -> None:
    rows = _rows(_render(equity, _trades(1)))
    expected = [
        ["Total return", "12.34%"],
        ["CAGR", "5.00%"],
        ["Max drawdown", "-20.00%"],
        ["Annual volatility", "15.70%"],
        ["Win rate", "50.00%"],
        ["Exposure", "75.00%"],
        ["Sharpe", "1.50"],
        ["Sortino", "–"],
        ["Calmar", "0.26"],
        ["Profit factor", "∞"],
        ["Number of trades", "3"],
    ]
    for row in expected:
        assert row in rows


def test_report_lists_trades_with_escaped_text(equity: pd.DataFrame) -> None:
    document = _render(equity, _trades(1), warnings=("gap in <SPY>",))
    rows = _rows(document)
    assert ["Symbol", "Side", "Qty", "Entry time", "Entry price", "Exit time", "Exit price",
            "Fees", "PnL", "Return", "Exit reason", "MFE", "MAE", "Bars held"] in rows  # fmt: skip
    assert ["<X>", "long", "10", "2020-01-02", "100.00", "2020-01-10 15:30:00", "110.00", "1.00",
            "99.00", "10.00%", "target", "12.00%", "-1.00%", "6"] in rows  # fmt: skip
    assert ["AAPL", "short", "2.5", "2020-01-02", "50.00", "2020-01-02", "55.00", "0.5", "-13.00",
            "-10.00%", "stop", "2.00%", "-11.00%", "0"] in rows  # fmt: skip
    assert ["MSFT", "long", "100", "2020-01-02", "0.5", "–", "–", "0.00", "1,234.50",
            "0.00%", "signal", "0.00%", "0.00%", "3"] in rows  # fmt: skip
    assert "&lt;X&gt;" in document and "<X>" not in document
    assert "Momentum &lt;beta&gt; &amp; co" in document and "<beta>" not in document
    assert "gap in &lt;SPY&gt;" in document


def test_report_shows_config_summary_escaped(equity: pd.DataFrame) -> None:
    document = _render(equity, _trades(1), config_summary={"profile": "risk_<low>", "fee_bps": "5"})
    assert ["profile", "risk_<low>"] in _rows(document)
    assert ["fee_bps", "5"] in _rows(document)
    assert "risk_&lt;low&gt;" in document


def test_report_shows_monthly_returns_table_with_numbers() -> None:
    equity = _equity(["2020-01-31", "2020-02-28", "2020-03-31"], [100.0, 110.0, 99.0])
    rows = _rows(_render(equity, _trades(0)))
    missing = ["–"] * 9
    assert ["2020", "0.00%", "10.00%", "-10.00%", *missing, "-1.00%"] in rows


def test_report_embeds_four_png_images_and_no_external_reference(equity: pd.DataFrame) -> None:
    document = _render(equity, _trades(1))
    assert document.count(IMAGE_PREFIX) == 4
    for payload in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", document):
        assert base64.b64decode(payload).startswith(b"\x89PNG\r\n\x1a\n")
    text = _without_images(document).lower()
    assert "http" not in text
    assert "<script" not in text
    assert "url(" not in text


def test_report_without_trades_has_three_images_and_says_so(equity: pd.DataFrame) -> None:
    for trades in (pd.DataFrame(), _trades(0)):
        document = _render(equity, trades)
        assert document.count(IMAGE_PREFIX) == 3
        assert "No trades." in document


def test_report_lists_first_200_trades_and_counts_the_rest(equity: pd.DataFrame) -> None:
    document = _render(equity, _trades(70))
    symbols = {"<X>", "AAPL", "MSFT"}
    trade_rows = [row for row in _rows(document) if len(row) == 14 and row[0] in symbols]
    assert len(trade_rows) == 200
    assert "Showing the first 200 of 210 trades; 10 more are not listed." in document


def test_report_renders_one_row_and_constant_equity() -> None:
    one_row = _equity(["2020-01-02"], [100.0])
    constant = _equity(list(pd.bdate_range("2020-01-01", "2020-06-30").astype(str)), [50.0] * 130)
    for equity in (one_row, constant):
        document = _render(equity, _trades(0))
        assert document.count(IMAGE_PREFIX) == 3
    assert "2020-01-02 to 2020-01-02 · 1 bar over 0 days" in _render(one_row, _trades(0))


def test_report_is_deterministic(equity: pd.DataFrame) -> None:
    assert _render(equity, _trades(1)) == _render(equity, _trades(1))


@pytest.mark.parametrize(
    "equity",
    [
        _equity([], []),
        _equity(["2020-01-02"], [100.0]).drop(columns="exposure"),
        _equity(["2020-01-02"], [100.0]).set_axis(["not a date"]),
        _equity(["2020-01-02"], [100.0]).reset_index(drop=True),
        _equity(["2020-01-02"], [100.0]).assign(equity="lots"),
    ],
)
def test_report_rejects_bad_equity_with_data_error(equity: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="equity curve"):
        _render(equity, _trades(0))


def test_report_rejects_trades_missing_columns(equity: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"lacks columns \['mfe'\]"):
        _render(equity, _trades(1).drop(columns="mfe"))


def test_write_report_replaces_target_and_leaves_no_temporary_file(
    tmp_path: Path, equity: pd.DataFrame
) -> None:
    target = tmp_path / "reports" / "run.html"
    target.parent.mkdir()
    target.write_text("old")
    written = write_html_report(
        target, title="Run", equity=equity, trades=_trades(1), metrics=METRICS
    )
    assert written == target
    assert target.read_text(encoding="utf-8") == _render(equity, _trades(1)).replace(
        "Momentum &lt;beta&gt; &amp; co", "Run"
    )
    assert [path.name for path in target.parent.iterdir()] == ["run.html"]


def test_write_report_writes_nothing_when_rendering_fails(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "run.html"
    with pytest.raises(DataError):
        write_html_report(
            target, title="Run", equity=_equity([], []), trades=_trades(0), metrics={}
        )
    assert not target.parent.exists()
    existing = tmp_path / "run.html"
    existing.write_text("old")
    with pytest.raises(DataError):
        write_html_report(
            existing, title="Run", equity=_equity([], []), trades=_trades(0), metrics={}
        )
    assert existing.read_text() == "old"
    assert [path.name for path in tmp_path.iterdir()] == ["run.html"]
