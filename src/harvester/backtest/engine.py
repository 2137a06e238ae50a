"""Run a backtest: Panel + Signals + config in, ``BacktestResult`` out.

Examples
--------
>>> from harvester.config.models import HarvesterConfig
>>> from harvester.data.bundled import load_sample
>>> from harvester.strategies.signals import empty_signals
>>> panel = load_sample().slice("2017-01-01", "2017-03-31")
>>> result = run_backtest(panel, empty_signals(panel.shape), HarvesterConfig())
>>> result.metrics["number_of_trades"], float(result.equity["equity"].iloc[-1])
(0.0, 100000.0)
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from harvester.analytics.metrics import compute_metrics, infer_periods_per_year, trade_stats
from harvester.backtest._arrays import EngineParams, MarketArrays, SignalArrays, SimOutput
from harvester.backtest._reference import simulate_reference
from harvester.backtest.inputs import engine_params, market_arrays
from harvester.backtest.result import (
    BacktestResult,
    build_book,
    build_fills,
    build_trades,
    equity_frame,
    warning_counts,
)
from harvester.config.models import HarvesterConfig
from harvester.core.errors import DataError, StrategyError
from harvester.data.panel import Panel
from harvester.domain.trades import ExitReason

__all__ = ["Kernel", "check_signals", "run_backtest", "simulate"]

Kernel = Literal["numba", "reference"]


def simulate(
    market: MarketArrays, signals: SignalArrays, params: EngineParams, *, kernel: Kernel = "numba"
) -> SimOutput:
    """Run the simulator: the numba kernel, or its pure-Python reference twin."""
    if kernel == "reference":
        return simulate_reference(market, signals, params)
    from harvester.backtest._kernels import simulate_kernel

    return simulate_kernel(market, signals, params)


def check_signals(signals: SignalArrays, shape: tuple[int, int]) -> None:
    for name, array in signals._asdict().items():
        if array.shape != shape:
            raise StrategyError(f"signals.{name} has shape {array.shape}, expected {shape}")
    if not np.isin(signals.direction, (-1, 0, 1)).all():
        raise StrategyError("signals.direction must hold only -1, 0 or 1")
    if (signals.size < 0).any():
        raise StrategyError("signals.size must not be negative; use 0 to skip an entry")


def _turnover(fills: pd.DataFrame, equity: pd.Series, periods_per_year: float) -> float:
    traded = float((fills["qty"] * fills["price"]).abs().sum())
    years = max(len(equity) - 1, 1) / periods_per_year
    return traded / float(equity.mean()) / years


def _metrics(
    result_equity: pd.DataFrame, trades: pd.DataFrame, fills: pd.DataFrame, panel: Panel
) -> dict[str, float]:
    closed = trades[trades["exit_reason"] != ExitReason.OPEN.name.lower()]
    ppy = infer_periods_per_year(panel.index)
    return compute_metrics(
        result_equity["equity"],
        trades=trade_stats(closed["pnl"].to_numpy(), closed["return"].to_numpy()),
        periods_per_year=ppy,
        exposure=result_equity["exposure"],
        turnover=_turnover(fills, result_equity["equity"], ppy),
    )


def _regime_grid(regimes: pd.Series | pd.DataFrame | None, panel: Panel) -> pd.DataFrame | None:
    if regimes is None:
        return None
    if isinstance(regimes, pd.Series):
        regimes = pd.DataFrame({s: regimes for s in panel.symbols})
    aligned = regimes.reindex(index=panel.index, columns=list(panel.symbols))
    if aligned.isna().all().all():
        raise DataError("regime labels share no date or symbol with the data; align them first")
    return aligned


def run_backtest(
    panel: Panel,
    signals: SignalArrays,
    config: HarvesterConfig,
    *,
    kernel: Kernel = "numba",
    regimes: pd.Series | pd.DataFrame | None = None,
    market: MarketArrays | None = None,
) -> BacktestResult:
    """Simulate ``signals`` on ``panel`` under ``config`` and assemble the result.

    ``regimes``: optional labels (one per date, or dates × symbols) recorded on each trade
    as the regime at its entry decision. ``market``: the engine's inputs for these bars when
    they were computed on a longer history (``market_arrays(history, config).rows(...)``),
    so that the ATR, ADV and realised volatility of the first bars are not in warm-up; by
    default they are computed on ``panel``.
    """
    if panel.shape[0] < 2:
        raise DataError(f"a backtest needs at least 2 sessions, the data has {panel.shape[0]}")
    check_signals(signals, panel.shape)
    if market is None:
        market = market_arrays(panel, config)
    elif market.close.shape != panel.shape:
        raise DataError(f"market arrays have shape {market.close.shape}, the panel {panel.shape}")
    output = simulate(market, signals, engine_params(config), kernel=kernel)
    equity = equity_frame(output, panel)
    lag = 0 if config.execution.fill == "close" else 1
    trades = build_trades(
        output.trades, panel, regimes=_regime_grid(regimes, panel), decision_lag=lag
    )
    fills = build_fills(output.fills, panel)
    return BacktestResult(
        equity=equity,
        trades=trades,
        fills=fills,
        positions=pd.DataFrame(output.positions, index=panel.index, columns=list(panel.symbols)),
        metrics=_metrics(equity, trades, fills, panel),
        warnings=warning_counts(output),
        config=config,
        data_fingerprint=panel.fingerprint(),
        book=build_book(output, panel),
    )
