"""PNG plots beside the result files: equity, drawdown, and the busiest symbols' trades."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harvester.backtest.engine import run_backtest
from harvester.backtest.plots import busiest_symbols, plot_file_name, write_plots
from harvester.config.models import HarvesterConfig
from harvester.data.panel import Panel
from harvester.strategies.signals import empty_signals

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DATES = pd.bdate_range("2024-01-01", periods=60)


def assert_png(path: Path) -> None:
    assert path.is_file(), path
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, path
    assert 2_000 < len(data) < 2_000_000, (path, len(data))


def equity_frame() -> pd.DataFrame:
    values = 100_000 * np.cumprod(1 + 0.01 * np.sin(np.arange(len(DATES)) / 3))
    return pd.DataFrame({"equity": values}, index=DATES.rename("date"))


def trade_rows(counts: dict[str, int]) -> pd.DataFrame:
    rows = []
    for symbol, n in counts.items():
        for k in range(n):
            rows.append(
                {
                    "symbol": symbol,
                    "side": "long" if k % 2 == 0 else "short",
                    "entry_time": DATES[2 * k],
                    "entry_price": 100.0 + k,
                    "exit_time": DATES[2 * k + 1],
                    "exit_price": 101.0 + k,
                    "exit_reason": "open" if k == n - 1 else "signal",
                }
            )
    return pd.DataFrame(rows)


def test_busiest_symbols_caps_at_six_most_traded_ties_by_name() -> None:
    trades = trade_rows({"A": 1, "B": 3, "C": 3, "D": 2, "E": 5, "F": 1, "G": 4, "H": 1})
    assert busiest_symbols(trades) == ["E", "G", "B", "C", "D", "A"]
    assert busiest_symbols(pd.DataFrame()) == []


def test_plot_file_names_are_safe() -> None:
    assert plot_file_name("AAPL") == "trades_AAPL.png"
    assert plot_file_name("BTC/USD") == "trades_BTC_USD.png"
    assert plot_file_name("^VIX") == "trades__VIX.png"


def test_write_plots_writes_equity_drawdown_and_six_trade_plots(tmp_path: Path) -> None:
    counts = {f"S{i}": i + 1 for i in range(8)}
    trades = trade_rows(counts)
    close = pd.DataFrame(
        {s: np.linspace(95, 120, len(DATES)) for s in counts}, index=DATES.rename("date")
    )
    written = write_plots(tmp_path, equity=equity_frame(), trades=trades, close=close)
    names = sorted(p.name for p in written)
    expected = {f"trades_S{i}.png" for i in range(2, 8)} | {"equity.png", "drawdown.png"}
    assert set(names) == expected
    for path in written:
        assert_png(path)
    # No temporary files left behind by the write-then-rename.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(expected)


def test_trade_plots_without_closes_use_the_trade_prices(tmp_path: Path) -> None:
    written = write_plots(tmp_path, equity=equity_frame(), trades=trade_rows({"XYZ": 3}))
    assert [p.name for p in written] == ["equity.png", "drawdown.png", "trades_XYZ.png"]
    assert_png(tmp_path / "trades_XYZ.png")


def flat_panel() -> Panel:
    frame = pd.DataFrame(
        {
            "date": DATES,
            "symbol": "XYZ",
            "open": 100.0,
            "high": 101.0,
            "low": 99.0,
            "close": 100.0,
            "volume": 1e6,
        }
    )
    return Panel.from_long(frame)


def test_result_write_without_trades_writes_equity_and_drawdown_only(tmp_path: Path) -> None:
    panel = flat_panel()
    result = run_backtest(panel, empty_signals(panel.shape), HarvesterConfig())
    assert result.trades.empty
    written = result.write(tmp_path / "run", close=panel.frame("close"))
    pngs = sorted(p.name for p in written if p.suffix == ".png")
    assert pngs == ["drawdown.png", "equity.png"]
    for name in pngs:
        assert_png(tmp_path / "run" / name)
    assert not list((tmp_path / "run").glob("trades_*.png"))
    assert (tmp_path / "run" / "report.html").is_file()


def test_result_write_can_skip_the_charts_and_the_report(tmp_path: Path) -> None:
    panel = flat_panel()
    result = run_backtest(panel, empty_signals(panel.shape), HarvesterConfig())
    expected = ["equity.csv", "fills.csv", "metrics.json", "run.json", "trades.csv"]
    written = result.write(tmp_path / "bare", charts=False, report=False)
    assert sorted(p.name for p in written) == expected
    assert sorted(p.name for p in (tmp_path / "bare").iterdir()) == expected
    no_charts = result.write(tmp_path / "report", charts=False)
    assert sorted(p.name for p in no_charts) == sorted([*expected, "report.html"])
    no_report = result.write(tmp_path / "charts", report=False)
    assert sorted(p.name for p in no_report) == sorted([*expected, "drawdown.png", "equity.png"])
