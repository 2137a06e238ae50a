"""Render a backtest as one self-contained HTML file: metrics, plots, monthly returns, trades.

The page needs no network and no JavaScript: plots are PNG images drawn with matplotlib's Agg
canvas (never ``pyplot``, so no global figure registry or backend switch) and embedded as
base64 ``data:`` URIs; styling is one inline ``<style>`` block; every piece of text is escaped.
The same inputs always give the same bytes.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from harvester.core.errors import DataError
from harvester.core.paths import atomic_path

__all__ = [
    "TRADES_SHOWN",
    "TRADE_COLUMNS",
    "monthly_returns",
    "render_html_report",
    "write_html_report",
]

_EQUITY_COLUMNS = ("equity", "exposure")
TRADES_SHOWN = 200

_MISSING = "–"
_PERCENT_KEYS = frozenset({"cagr", "exposure", "best_period", "worst_period"})
_PERCENT_SUFFIXES = ("return", "drawdown", "volatility", "_rate", "_exposure")
_ACRONYMS = {"cagr": "CAGR", "mfe": "MFE", "mae": "MAE", "pnl": "PnL", "var": "VaR"}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DPI = 90
_WIDTH_INCHES = 8.0

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1 { margin-bottom: 0.2em; } .period, .note { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; } th { background: #f4f4f4; }
td:not(:first-child) { text-align: right; font-variant-numeric: tabular-nums; }
.positive { color: #1a7f37; } .negative { color: #c62828; } .warnings li { color: #8a5a00; }
img { max-width: 100%; display: block; margin: 0.5em 0; } .note { font-style: italic; }
"""

Cell: TypeAlias = str | tuple[str, str]


def monthly_returns(equity: pd.Series) -> pd.DataFrame:
    """Return calendar-month returns of an equity curve as a years × months table.

    A month's return is its last equity value over the last value of the previous month,
    minus one; the first month is measured from the first value of the curve. A month
    after months without data is measured from the last month-end value before the gap.

    Parameters
    ----------
    equity : pandas.Series
        Equity values indexed by date (naive or timezone-aware); NaN values are ignored.

    Returns
    -------
    pandas.DataFrame
        Index ``year`` (int), columns ``1`` to ``12`` (month numbers), simple returns as
        fractions, NaN where a month has no data.
    """
    values = equity.dropna()
    values = values.set_axis(_naive_dates(values.index)).sort_index()
    if values.empty:
        return pd.DataFrame(columns=pd.Index(range(1, 13), name="month"), dtype=float)
    month_end = values.groupby(pd.DatetimeIndex(values.index).to_period("M")).last()
    months = pd.period_range(month_end.index[0], month_end.index[-1], freq="M")
    month_end = month_end.reindex(months)
    previous = month_end.ffill().shift(1)
    previous.iloc[0] = values.iloc[0]
    returns = month_end / previous - 1.0
    frame = pd.DataFrame({"year": months.year, "month": months.month, "value": returns.to_numpy()})
    table = frame.pivot(index="year", columns="month", values="value")
    return table.reindex(columns=pd.Index(range(1, 13), name="month")).astype(float)


def render_html_report(
    *,
    title: str,
    equity: pd.DataFrame,
    trades: pd.DataFrame,
    metrics: Mapping[str, float],
    config_summary: Mapping[str, str] | None = None,
    warnings: Sequence[str] = (),
) -> str:
    """Return a self-contained HTML page describing one backtest.

    Parameters
    ----------
    title : str
        Heading of the page and of the browser tab.
    equity : pandas.DataFrame
        Indexed by date, with columns ``equity`` and ``exposure`` (gross position value over
        equity); other columns, such as ``cash``, are ignored.
    trades : pandas.DataFrame
        One row per closed trade with the columns in ``TRADE_COLUMNS`` (others are ignored);
        may be empty. The first ``TRADES_SHOWN`` are listed.
    metrics : Mapping[str, float]
        Flat snake_case metrics: return-like keys as percentages, counts (``number_of_*``,
        ``*_count``, ``*_bars``, ``*_days``) as integers, the rest with two decimals; NaN
        as "–", infinity as "∞".
    config_summary : Mapping[str, str] or None
        Configuration settings worth showing beside the results.
    warnings : Sequence[str]
        Messages the reader should see first (data gaps, bias-check findings, …).

    Returns
    -------
    str
        The HTML document; it references no external resource.

    Raises
    ------
    DataError
        If ``equity`` is empty, lacks a column or is not indexed by dates, or if non-empty
        ``trades`` lacks a column.
    """
    curve = _validated_equity(equity)
    if not trades.empty:
        _require_columns(trades, TRADE_COLUMNS, "trades table")
    sections = [
        _warnings_html(warnings),
        _section("Metrics", _metrics_html(metrics)),
        _section("Equity", _png_img(_equity_figure(curve), "Equity curve and exposure")),
        _section("Drawdown", _png_img(_drawdown_figure(curve), "Drawdown from the peak")),
        _section("Monthly returns", _monthly_html(monthly_returns(curve["equity"]))),
        "" if trades.empty else _section("Exit reasons", _exit_reason_img(trades)),
        _section("Trades", _trades_html(trades)),
        _config_html(config_summary),
    ]
    body = _header_html(title, curve) + "".join(sections)
    return _document(title, body)


def write_html_report(
    path: Path,
    *,
    title: str,
    equity: pd.DataFrame,
    trades: pd.DataFrame,
    metrics: Mapping[str, float],
    config_summary: Mapping[str, str] | None = None,
    warnings: Sequence[str] = (),
) -> Path:
    """Render the report (see `render_html_report`) and write it to ``path`` atomically.

    The page is rendered before anything touches the disk: a failed render leaves no file,
    not even a temporary one, and an existing report is never half-replaced. Return ``path``.
    """
    document = render_html_report(
        title=title,
        equity=equity,
        trades=trades,
        metrics=metrics,
        config_summary=config_summary,
        warnings=warnings,
    )
    with atomic_path(path) as temporary:
        temporary.write_text(document, encoding="utf-8")
    return path


def _naive_dates(index: pd.Index) -> pd.DatetimeIndex:
    dates = pd.DatetimeIndex(index)
    return dates if dates.tz is None else dates.tz_localize(None)


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DataError(
            f"{name} lacks columns {missing}; expected {list(columns)}; pass the backtest's {name}"
        )


def _validated_equity(equity: pd.DataFrame) -> pd.DataFrame:
    _require_columns(equity, _EQUITY_COLUMNS, "equity curve")
    if equity.empty:
        raise DataError("equity curve has no rows; expected at least one dated row")
    try:
        if pd.api.types.is_numeric_dtype(equity.index):
            raise TypeError(f"found {equity.index.dtype} values")
        dates = _naive_dates(equity.index)
        return equity.loc[:, list(_EQUITY_COLUMNS)].astype(float).set_axis(dates).sort_index()
    except (TypeError, ValueError) as e:
        raise DataError(f"equity curve is not numbers indexed by dates ({e}); fix its index") from e


def _format_number(value: float, spec: str) -> str:
    if math.isnan(value):
        return _MISSING
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return format(value, spec)


def _format_metric(key: str, value: float) -> str:
    if key in _PERCENT_KEYS or key.endswith(_PERCENT_SUFFIXES):
        return _format_number(value, ".2%")
    if key.startswith("number_of_") or key.endswith(("_count", "_bars", "_days")):
        return _format_number(value, ",.0f")
    return _format_number(value, ",.2f")


def _label(key: str) -> str:
    words = [_ACRONYMS.get(word, word) for word in key.split("_")]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def _is_missing(value: Any) -> bool:
    return value is None or bool(pd.api.types.is_scalar(value) and pd.isna(value))


def _text(value: Any) -> str:
    return _MISSING if _is_missing(value) else str(value)


def _time(value: Any) -> str:
    if _is_missing(value):
        return _MISSING
    stamp = pd.Timestamp(value)
    return stamp.strftime("%Y-%m-%d" if stamp == stamp.normalize() else "%Y-%m-%d %H:%M:%S")


def _float(value: Any) -> float:
    return math.nan if _is_missing(value) else float(value)


def _decimal(value: Any) -> str:
    number = _float(value)
    return _format_number(number, ".4g" if 0 < abs(number) < 1 else ",.2f")


def _quantity(value: Any) -> str:
    number = _float(value)
    return _format_number(number, ",.0f" if number.is_integer() else ",.6g")


def _percent(value: Any) -> str:
    return _format_number(_float(value), ".2%")


_TRADE_FORMATTERS: dict[str, Callable[[Any], str]] = {
    "symbol": _text, "side": _text, "qty": _quantity, "entry_time": _time,
    "entry_price": _decimal, "exit_time": _time, "exit_price": _decimal, "fees": _decimal,
    "pnl": _decimal, "return": _percent, "exit_reason": _text, "mfe": _percent,
    "mae": _percent, "bars_held": _quantity,
}  # fmt: skip
TRADE_COLUMNS = tuple(_TRADE_FORMATTERS)


def _document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n{body}</body>\n</html>\n"
    )


def _section(heading: str, body: str) -> str:
    return f"<section>\n<h2>{html.escape(heading)}</h2>\n{body}</section>\n"


def _table_html(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    head = "".join(f"<th>{html.escape(text)}</th>" for text in header)
    body = "".join(f"<tr>{''.join(_cell_html(cell) for cell in row)}</tr>\n" for row in rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>\n"


def _cell_html(cell: Cell) -> str:
    if isinstance(cell, str):
        return f"<td>{html.escape(cell)}</td>"
    text, css_class = cell
    return f'<td class="{html.escape(css_class)}">{html.escape(text)}</td>'


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>\n'


def _header_html(title: str, equity: pd.DataFrame) -> str:
    first, last = equity.index[0], equity.index[-1]
    bars = f"{len(equity):,} bar{'' if len(equity) == 1 else 's'}"
    period = f"{first:%Y-%m-%d} to {last:%Y-%m-%d} · {bars} over {(last - first).days:,} days"
    return f'<header>\n<h1>{html.escape(title)}</h1>\n<p class="period">{period}</p>\n</header>\n'


def _warnings_html(warnings: Sequence[str]) -> str:
    if not warnings:
        return ""
    items = "".join(f"<li>{html.escape(message)}</li>\n" for message in warnings)
    return _section("Warnings", f'<ul class="warnings">\n{items}</ul>\n')


def _metrics_html(metrics: Mapping[str, float]) -> str:
    if not metrics:
        return _note("No metrics were computed.")
    rows = [[_label(key), _format_metric(key, value)] for key, value in metrics.items()]
    return _table_html(["Metric", "Value"], rows)


def _signed(value: Any) -> Cell:
    text = _percent(value)
    if _is_missing(value) or value == 0:
        return text
    return (text, "positive" if value > 0 else "negative")


def _monthly_html(table: pd.DataFrame) -> str:
    with_total = table.assign(total=(1.0 + table).prod(axis=1, min_count=1) - 1.0)
    rows = [[str(year), *map(_signed, values)] for year, values in with_total.iterrows()]
    image = _png_img(_monthly_figure(table), "Monthly returns heatmap")
    return image + _table_html(["Year", *_MONTHS, "Year total"], rows)


def _trades_html(trades: pd.DataFrame) -> str:
    if trades.empty:
        return _note("No trades.")
    shown = trades.loc[:, list(TRADE_COLUMNS)].head(TRADES_SHOWN).to_numpy(dtype=object)
    formatters = [_TRADE_FORMATTERS[column] for column in TRADE_COLUMNS]
    rows = [[fmt(value) for fmt, value in zip(formatters, row, strict=True)] for row in shown]
    table = _table_html([_label(column) for column in TRADE_COLUMNS], rows)
    hidden = len(trades) - len(shown)
    if hidden > 0:
        table += _note(
            f"Showing the first {len(shown):,} of {len(trades):,} trades; "
            f"{hidden:,} more are not listed."
        )
    return table


def _config_html(config_summary: Mapping[str, str] | None) -> str:
    if not config_summary:
        return ""
    rows = [[str(key), str(value)] for key, value in config_summary.items()]
    return _section("Configuration", _table_html(["Setting", "Value"], rows))


def _figure(height_inches: float) -> Figure:
    figure = Figure(figsize=(_WIDTH_INCHES, height_inches), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png_img(figure: Figure, alt: str) -> str:
    buffer = io.BytesIO()
    # Dropping the "Software" metadata keeps matplotlib's web address out of the file.
    figure.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{encoded}" alt="{html.escape(alt)}">\n'


def _equity_figure(equity: pd.DataFrame) -> Figure:
    figure = _figure(4.0)
    grid = figure.add_gridspec(2, 1, height_ratios=(3, 1))
    top = figure.add_subplot(grid[0])
    bottom = figure.add_subplot(grid[1], sharex=top)
    dates = equity.index.to_numpy()
    top.plot(dates, equity["equity"].to_numpy(), color="#1f4e79")
    top.set_ylabel("Equity")
    bottom.fill_between(dates, equity["exposure"].to_numpy() * 100.0, color="#6a8caf")
    bottom.set_ylabel("Exposure %")
    for axes in (top, bottom):
        axes.grid(alpha=0.3)
    top.tick_params(labelbottom=False)
    return figure


def _drawdown_figure(equity: pd.DataFrame) -> Figure:
    values = equity["equity"]
    drawdown = (values / values.cummax() - 1.0).to_numpy() * 100.0
    figure = _figure(2.5)
    axes = figure.add_subplot()
    axes.fill_between(equity.index.to_numpy(), drawdown, color="#c62828", alpha=0.6)
    axes.set_ylabel("Drawdown %")
    axes.grid(alpha=0.3)
    return figure


def _monthly_figure(table: pd.DataFrame) -> Figure:
    values = table.to_numpy(dtype=float) * 100.0
    finite = np.abs(values[np.isfinite(values)])
    limit = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    figure = _figure(1.2 + 0.35 * len(table))
    axes = figure.add_subplot()
    masked = np.ma.masked_invalid(values)
    axes.imshow(masked, cmap="RdYlGn", vmin=-limit, vmax=limit, aspect="auto")
    for (row, column), value in np.ndenumerate(values):
        if math.isfinite(value):
            # Adding zero turns a rounded "-0.0" into "0.0".
            label = f"{round(value, 1) + 0.0:.1f}"
            axes.text(column, row, label, ha="center", va="center", fontsize=7)
    axes.set_xticks(range(12), _MONTHS)
    axes.set_yticks(range(len(table)), [str(year) for year in table.index])
    axes.set_title("Monthly returns (%)", fontsize=10)
    return figure


def _exit_reason_img(trades: pd.DataFrame) -> str:
    reasons = trades["exit_reason"].map(_text)
    counts = reasons.value_counts().sort_values()
    # A "$" would switch matplotlib into math-text parsing of the label.
    labels = [str(label).replace("$", r"\$") for label in counts.index]
    figure = _figure(1.0 + 0.3 * len(counts))
    axes = figure.add_subplot()
    axes.barh(labels, counts.to_numpy(), color="#6a8caf")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("Trades")
    axes.grid(axis="x", alpha=0.3)
    return _png_img(figure, "Number of trades by exit reason")
