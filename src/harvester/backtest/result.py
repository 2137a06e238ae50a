"""``BacktestResult``: what a run produced, as tables people read and files tools read.

Files written by ``BacktestResult.write(out_dir)``:

- ``trades.csv``: ``symbol, side, qty, entry_time, entry_price, exit_time, exit_price, fees,
  slippage, pnl, return, exit_reason, mfe, mae, bars_held`` — one row per exit fill (a
  scale-out closes part of a position and is its own row; entry fees are shared out by
  quantity); positions still open at the end appear with ``exit_reason`` ``open``, the last
  close as exit price and no exit fee;
- ``equity.csv``: ``date, equity, cash, gross, exposure`` (exposure = gross / equity);
- ``fills.csv``: every fill (``time, symbol, side, qty, price, fee, slippage, reason``);
- ``metrics.json``: flat snake_case metrics (``sharpe``, ``max_drawdown``, ``cagr``, …),
  ``null`` for undefined or infinite values;
- ``run.json``: config hash, data fingerprint, warnings and the resolved config;
- ``report.html``: a self-contained report with equity, drawdown and monthly-return plots
  (skipped with ``report=False``);
- ``equity.png``, ``drawdown.png`` and ``trades_<SYMBOL>.png`` for the six symbols with the
  most trades (see :mod:`harvester.backtest.plots`; skipped with ``charts=False``).

matplotlib is imported only when ``write`` draws, so importing this module stays cheap.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harvester.backtest._arrays import (
    BOOK_COLUMNS,
    FILL_COLUMNS,
    TRADE_COLUMNS,
    WARNING_NAMES,
    SimOutput,
)
from harvester.config.models import HarvesterConfig
from harvester.core.paths import atomic_path
from harvester.data.panel import Panel
from harvester.domain.trades import EXIT_REASON_NAMES

__all__ = ["ORDER_NAMES", "TRADE_CSV_COLUMNS", "BacktestResult", "build_book", "build_trades"]

ORDER_NAMES: tuple[str, ...] = ("none", "exit", "entry", "reverse")  # by ORDER_* code

TRADE_CSV_COLUMNS: tuple[str, ...] = (
    "symbol", "side", "qty", "entry_time", "entry_price", "exit_time", "exit_price", "fees",
    "slippage", "pnl", "return", "exit_reason", "mfe", "mae", "bars_held",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """Equity curve, trades, fills, positions, metrics and the provenance of one run."""

    equity: pd.DataFrame
    trades: pd.DataFrame
    fills: pd.DataFrame
    positions: pd.DataFrame
    metrics: Mapping[str, float]
    warnings: Mapping[str, int]
    config: HarvesterConfig
    data_fingerprint: str
    book: pd.DataFrame  # after the last bar: pending orders and exit levels (``build_book``)

    @property
    def config_hash(self) -> str:
        return self.config.content_hash()

    def write(
        self,
        out_dir: Path,
        *,
        title: str = "harvester backtest",
        close: pd.DataFrame | None = None,
        charts: bool = True,
        report: bool = True,
    ) -> list[Path]:
        """Write every output file into ``out_dir`` (each atomically); return their paths.

        ``close`` (dates × symbols, optional) is drawn under the trade markers of the
        trade plots; without it they join the trades' own prices. ``charts=False`` skips
        the PNG files and ``report=False`` the HTML report (it embeds plots of its own):
        drawing is most of the time ``write`` takes, and matplotlib is imported only for it.
        """
        out_dir.mkdir(parents=True, exist_ok=True)
        written = [
            _write_text(out_dir / "trades.csv", self.trades.to_csv(index=False)),
            _write_text(out_dir / "equity.csv", self.equity.to_csv(index_label="date")),
            _write_text(out_dir / "fills.csv", self.fills.to_csv(index=False)),
            _write_text(out_dir / "metrics.json", _json(self.metrics)),
            _write_text(out_dir / "run.json", _json(self._provenance())),
        ]
        if report:
            from harvester.backtest.report import write_html_report

            written.append(
                write_html_report(
                    out_dir / "report.html",
                    title=title,
                    equity=self.equity,
                    trades=self.trades,
                    metrics=self.metrics,
                    config_summary={
                        "config hash": self.config_hash[:16],
                        "data": self.data_fingerprint[:16],
                    },
                    warnings=[f"{name}: {count}" for name, count in self.warnings.items() if count],
                )
            )
        if charts:
            from harvester.backtest.plots import write_plots

            written += write_plots(out_dir, equity=self.equity, trades=self.trades, close=close)
        return written

    def _provenance(self) -> dict[str, Any]:
        return {
            "config_hash": self.config_hash,
            "data_fingerprint": self.data_fingerprint,
            "warnings": dict(self.warnings),
            "config": self.config.model_dump(mode="json"),
        }


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json(payload: Mapping[str, Any]) -> str:
    cleaned = {k: _finite_or_none(v) for k, v in payload.items()}
    return json.dumps(cleaned, indent=2, sort_keys=True) + "\n"


def _write_text(path: Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def _regime_at_decision(
    raw: pd.DataFrame, regimes: pd.DataFrame, *, decision_lag: int
) -> np.ndarray:
    bars = (raw["entry_bar"].to_numpy(dtype=np.int64) - decision_lag).clip(min=0)
    columns = raw["symbol"].to_numpy(dtype=np.int64)
    result: np.ndarray = regimes.to_numpy()[bars, columns]
    return result


def build_trades(
    records: np.ndarray,
    panel: Panel,
    *,
    regimes: pd.DataFrame | None = None,
    decision_lag: int = 1,
) -> pd.DataFrame:
    """Return the trade records as the documented ``trades.csv`` table.

    With ``regimes`` (labels on the panel's dates × symbols) each trade gets a ``regime``
    column: the label at the bar whose close decided the entry (``decision_lag`` bars
    before the entry fill: 1 for next-open fills, 0 for close fills).
    """
    raw = pd.DataFrame(records, columns=list(TRADE_COLUMNS))
    codes = raw["exit_reason"].astype(int).to_numpy()
    table = pd.DataFrame(
        {
            "symbol": np.array(panel.symbols, dtype=object)[raw["symbol"].astype(int)],
            "side": np.where(raw["side"] > 0, "long", "short"),
            "qty": raw["qty"],
            "entry_time": panel.index[raw["entry_bar"].to_numpy(dtype=np.int64)],
            "entry_price": raw["entry_price"],
            "exit_time": panel.index[raw["exit_bar"].to_numpy(dtype=np.int64)],
            "exit_price": raw["exit_price"],
            "fees": raw["fees"],
            "slippage": raw["slippage"],
            "pnl": raw["pnl"],
            "return": raw["return"],
            "exit_reason": np.array(EXIT_REASON_NAMES, dtype=object)[codes],
            "mfe": raw["mfe"],
            "mae": raw["mae"],
            "bars_held": raw["bars_held"].astype(int),
        }
    )
    if regimes is not None:
        table["regime"] = _regime_at_decision(raw, regimes, decision_lag=decision_lag)
    return table.sort_values(["exit_time", "symbol"], kind="stable").reset_index(drop=True)


def build_fills(records: np.ndarray, panel: Panel) -> pd.DataFrame:
    """Return the fill records with times, symbols and reasons spelled out."""
    raw = pd.DataFrame(records, columns=list(FILL_COLUMNS))
    reasons = np.array(("entry", *EXIT_REASON_NAMES), dtype=object)
    return pd.DataFrame(
        {
            "time": panel.index[raw["bar"].to_numpy(dtype=np.int64)],
            "symbol": np.array(panel.symbols, dtype=object)[raw["symbol"].astype(int)],
            "side": np.where(raw["side"] > 0, "buy", "sell"),
            "qty": raw["qty"],
            "price": raw["price"],
            "fee": raw["fee"],
            "slippage": raw["slippage"],
            "reason": reasons[raw["reason"].astype(int) + 1],
        }
    )


def build_book(output: SimOutput, panel: Panel) -> pd.DataFrame:
    """Return the book after the last bar, one row per symbol (index ``symbol``).

    ``position`` is the signed quantity held; ``order`` the order waiting for the next bar
    (``none``, ``exit``, ``entry`` or ``reverse`` — exit, then enter), with the entry's
    ``side`` (``long``/``short``, empty otherwise) and decided ``qty`` and the exit's
    ``exit_reason``; ``stop``, ``target`` and ``trail`` are the open position's levels (NaN
    when flat or not set). A real broker is sent these orders after the close.
    """
    raw = pd.DataFrame(output.book, columns=list(BOOK_COLUMNS))
    reasons = raw["exit_reason"].to_numpy()
    known = ~np.isnan(reasons)
    exit_reason = np.full(len(raw), "", dtype=object)
    exit_reason[known] = np.array(EXIT_REASON_NAMES, dtype=object)[reasons[known].astype(int)]
    side = raw["side"].to_numpy()
    return pd.DataFrame(
        {
            "position": output.positions[-1] if len(output.positions) else 0.0,
            "order": np.array(ORDER_NAMES, dtype=object)[raw["order"].astype(int)],
            "side": np.where(side > 0, "long", np.where(side < 0, "short", "")),
            "qty": raw["qty"].to_numpy(),
            "exit_reason": exit_reason,
            "stop": raw["stop"].to_numpy(),
            "target": raw["target"].to_numpy(),
            "trail": raw["trail"].to_numpy(),
        },
        index=pd.Index(list(panel.symbols), name="symbol"),
    )


def equity_frame(output: SimOutput, panel: Panel) -> pd.DataFrame:
    """Return the equity curve with cash, gross position value and exposure."""
    with np.errstate(invalid="ignore", divide="ignore"):
        exposure = output.gross / output.equity
    return pd.DataFrame(
        {"equity": output.equity, "cash": output.cash, "gross": output.gross, "exposure": exposure},
        index=panel.index.rename("date"),
    )


def warning_counts(output: SimOutput) -> dict[str, int]:
    """Return the simulator's counted events by name."""
    return {name: int(n) for name, n in zip(WARNING_NAMES, output.warnings, strict=True)}
