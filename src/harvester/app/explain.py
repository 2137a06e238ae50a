"""The explain use case: how one strategy's signal for one symbol on one day came about."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from harvester.app.backtest import trade_regimes, with_regime_names
from harvester.app.context import AppContext
from harvester.app.data import load_data
from harvester.backtest.engine import run_backtest
from harvester.config.models import RiskManagementConfig
from harvester.core.errors import DataError
from harvester.data.panel import Panel
from harvester.features.volatility import average_true_range
from harvester.regimes.rules import rule_regime_names
from harvester.strategies.registry import STRATEGIES

__all__ = ["Explanation", "explain_signal"]


@dataclass(frozen=True, slots=True)
class Explanation:
    """Everything that decided one (strategy, symbol, date): inputs, signal, risk, outcome.

    ``details`` are the strategy's own explaining values at that bar (features, regime
    probabilities, weights, votes, thresholds); ``trade`` is the trade this bar's close
    opened, with the stop and target the engine set, or None.
    """

    strategy: str
    symbol: str
    date: pd.Timestamp
    close: float
    regime: str
    signal: dict[str, float]
    details: dict[str, float]
    risk: dict[str, Any]
    trade: dict[str, Any] | None


def _bar(panel: Panel, symbol: str, date: str) -> tuple[int, int]:
    if symbol not in panel.symbols:
        raise DataError(f"symbol {symbol!r} is not in the data; it has {', '.join(panel.symbols)}")
    when = pd.Timestamp(date)
    if when not in panel.index:
        later = panel.index[panel.index.searchsorted(when) :]
        hint = f"; the next session is {later[0]:%Y-%m-%d}" if len(later) else ""
        raise DataError(f"{when:%Y-%m-%d} is not a session of the data{hint}")
    return int(panel.index.searchsorted(when)), panel.symbols.index(symbol)


def explain_signal(
    ctx: AppContext, spec: str, *, strategy: str, symbol: str, date: str
) -> Explanation:
    """Run ``strategy`` on ``spec`` and explain its decision for ``symbol`` at ``date``'s close."""
    panel = load_data(ctx, spec).panel
    t, s = _bar(panel, symbol, date)
    config = STRATEGIES[strategy].configure(ctx.config)
    output = STRATEGIES[strategy].generate(panel, config)
    regimes = trade_regimes(panel, config.regimes)
    result = with_regime_names(run_backtest(panel, output.signals, config, regimes=regimes))
    risk = config.risk_management
    atr = average_true_range(
        panel.array("high"), panel.array("low"), panel.array("close"), period=risk.atr_period
    )[t, s]
    lag = 0 if config.execution.fill == "close" else 1
    return Explanation(
        strategy=strategy,
        symbol=symbol,
        date=panel.index[t],
        close=float(panel.array("close")[t, s]),
        regime=str(rule_regime_names(regimes.to_numpy()[t : t + 1, s])[0]),
        signal={name: float(values[t, s]) for name, values in output.signals._asdict().items()},
        details={name: float(values[t, s]) for name, values in output.details.items()},
        risk={
            "sizing": risk.sizing,
            "base_position_fraction": risk.base_position_fraction,
            "max_open_positions": risk.max_open_positions,
            "atr": float(atr),
            "stop_loss_atr": risk.stop_loss_atr,
            "take_profit_atr": risk.take_profit_atr,
        },
        trade=_opened_trade(result.trades, panel, symbol, t + lag, atr=float(atr), config=risk),
    )


def _opened_trade(
    trades: pd.DataFrame,
    panel: Panel,
    symbol: str,
    entry_bar: int,
    *,
    atr: float,
    config: RiskManagementConfig,
) -> dict[str, Any] | None:
    if entry_bar >= len(panel.index) or trades.empty:
        return None
    opened = trades[(trades["symbol"] == symbol) & (trades["entry_time"] == panel.index[entry_bar])]
    if opened.empty:
        return None
    trade = {str(key): value for key, value in opened.iloc[0].items()}
    side = 1 if trade["side"] == "long" else -1
    price = float(trade["entry_price"])
    trade["stop"] = price - side * config.stop_loss_atr * atr if config.stop_loss_atr else math.nan
    trade["target"] = (
        price + side * config.take_profit_atr * atr if config.take_profit_atr else math.nan
    )
    return trade
