"""PNG plots of a backtest, saved beside its CSV files.

``write_plots(out_dir, equity=..., trades=..., close=...)`` writes:

- ``equity.png``: the equity curve;
- ``drawdown.png``: the drawdown from the running peak, in percent;
- ``trades_<SYMBOL>.png`` for the (up to) :data:`TRADE_PLOT_SYMBOLS` symbols with the most
  trades: the close with every entry (▲ long, ▼ short) and exit (●) marked. Without a
  ``close`` table the line joins the trades' own entry and exit prices instead.

Plots are drawn on matplotlib's Agg canvas (never ``pyplot``: no global figure registry, no
backend switch) and matplotlib is imported only when a plot is drawn, so importing the
backtest package stays cheap. Each file is written to a temporary name and renamed, so a
failed plot never leaves a half-written PNG behind.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from harvester.core.paths import atomic_path

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["TRADE_PLOT_SYMBOLS", "busiest_symbols", "plot_file_name", "write_plots"]

TRADE_PLOT_SYMBOLS = 6
"""How many symbols get a trade plot: those with the most trades."""

_DPI = 90
_SIZE = (9.0, 3.6)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def plot_file_name(symbol: str) -> str:
    """``trades_<SYMBOL>.png`` with characters unsafe in file names replaced by ``_``."""
    return f"trades_{_UNSAFE.sub('_', symbol)}.png"


def busiest_symbols(trades: pd.DataFrame, limit: int = TRADE_PLOT_SYMBOLS) -> list[str]:
    """The ``limit`` symbols with the most trades (ties by symbol name)."""
    if trades.empty or "symbol" not in trades:
        return []
    counts = trades["symbol"].astype(str).value_counts()
    ordered = sorted(((str(s), int(n)) for s, n in counts.items()), key=lambda x: (-x[1], x[0]))
    return [symbol for symbol, _ in ordered[:limit]]


def write_plots(
    out_dir: Path,
    *,
    equity: pd.DataFrame,
    trades: pd.DataFrame,
    close: pd.DataFrame | None = None,
    max_symbols: int = TRADE_PLOT_SYMBOLS,
) -> list[Path]:
    """Write the equity, drawdown and per-symbol trade plots into ``out_dir``.

    ``equity`` needs an ``equity`` column indexed by date; ``trades`` the ``trades.csv``
    columns (``symbol, side, entry_time, entry_price, exit_time, exit_price``); ``close``
    (optional) the closes indexed by date with one column per symbol. Returns the paths.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    curve = equity["equity"].astype(float)
    written = [
        _save(_equity_figure(curve), out_dir / "equity.png"),
        _save(_drawdown_figure(curve), out_dir / "drawdown.png"),
    ]
    for symbol in busiest_symbols(trades, max_symbols):
        own = trades[trades["symbol"].astype(str) == symbol]
        prices = None if close is None or symbol not in close else close[symbol]
        figure = _trades_figure(symbol, own, prices)
        written.append(_save(figure, out_dir / plot_file_name(symbol)))
    return written


def _figure() -> tuple[Figure, Axes]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=_SIZE, dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.grid(True, alpha=0.3)
    return figure, axes


def _save(figure: Figure, path: Path) -> Path:
    with atomic_path(path) as tmp:
        # Dropping the "Software" metadata keeps the bytes independent of the version.
        figure.savefig(tmp, format="png", metadata={"Software": None})
    return path


def _dates(index: pd.Index) -> pd.DatetimeIndex:
    dates = pd.DatetimeIndex(pd.to_datetime(index))
    return dates.tz_localize(None) if dates.tz is not None else dates


def _equity_figure(curve: pd.Series) -> Figure:
    figure, axes = _figure()
    axes.plot(_dates(curve.index), curve.to_numpy(), color="#1f5fa8", linewidth=1.2)
    axes.set_title("Equity")
    axes.set_ylabel("equity")
    return figure


def _drawdown_figure(curve: pd.Series) -> Figure:
    figure, axes = _figure()
    values = curve.to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        peak = np.fmax.accumulate(np.where(np.isfinite(values), values, np.nan))
        drawdown = 100.0 * (values / peak - 1.0)
    dates = _dates(curve.index)
    axes.fill_between(dates, np.nan_to_num(drawdown), 0.0, color="#c62828", alpha=0.35)
    axes.plot(dates, drawdown, color="#c62828", linewidth=0.8)
    axes.set_title("Drawdown")
    axes.set_ylabel("% from peak")
    return figure


def _trades_figure(symbol: str, trades: pd.DataFrame, close: pd.Series | None) -> Figure:
    figure, axes = _figure()
    entry_time = _dates(pd.Index(trades["entry_time"]))
    exit_time = _dates(pd.Index(trades["exit_time"]))
    entry_price = trades["entry_price"].to_numpy(dtype=np.float64)
    exit_price = trades["exit_price"].to_numpy(dtype=np.float64)
    if close is not None:
        axes.plot(_dates(close.index), close.to_numpy(dtype=np.float64), color="#555", lw=0.9)
        axes.set_ylabel("close")
    else:
        path = pd.Series(
            np.concatenate([entry_price, exit_price]), index=entry_time.append(exit_time)
        ).sort_index()
        axes.plot(path.index, path.to_numpy(), color="#999", linewidth=0.8)
        axes.set_ylabel("trade price")
    long = (trades["side"].astype(str) == "long").to_numpy()
    markers = (
        (long, "^", "#1a7f37", "long entry"),
        (~long, "v", "#c62828", "short entry"),
    )
    for mask, marker, colour, label in markers:
        if mask.any():
            axes.scatter(
                entry_time[mask], entry_price[mask], marker=marker, color=colour, s=40,
                zorder=3, label=label,
            )  # fmt: skip
    # A position still open at the end has no exit yet.
    closed = (trades.get("exit_reason", pd.Series("", index=trades.index)) != "open").to_numpy()
    axes.scatter(
        exit_time[closed], exit_price[closed], marker="o", facecolors="none",
        edgecolors="#222", s=30, zorder=3, label="exit",
    )  # fmt: skip
    axes.set_title(f"{symbol}: {len(trades)} trades")
    axes.legend(loc="best", fontsize="small")
    return figure
