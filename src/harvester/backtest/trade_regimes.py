"""The regime recorded on every trade: Composer's rule regime at the entry decision.

Whatever the strategy, each trade carries the rule regime (trend / chop / volatile /
neutral, see :mod:`harvester.regimes.rules`) of its symbol on the bar the entry was decided.
The engine records integer codes (cheap to align and cut); :func:`with_regime_names` turns
them into names for the journal.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from harvester.backtest.result import BacktestResult
from harvester.config.models import RegimeConfig
from harvester.data.panel import Panel
from harvester.regimes.rules import rule_regime_names, rule_regimes_from_config

__all__ = ["trade_regimes", "with_regime_names"]


def trade_regimes(panel: Panel, config: RegimeConfig) -> pd.DataFrame:
    """The rule-regime code of every (date, symbol) of ``panel``, as a frame."""
    labels = rule_regimes_from_config(
        panel.array("close"), config, high=panel.array("high"), low=panel.array("low")
    )
    return pd.DataFrame(labels, index=panel.index, columns=list(panel.symbols), copy=False)


def with_regime_names(result: BacktestResult) -> BacktestResult:
    """Return ``result`` with its trades' regime codes replaced by their names."""
    if "regime" not in result.trades:
        return result
    codes = result.trades["regime"].to_numpy(dtype=np.int64)
    trades = result.trades.assign(regime=rule_regime_names(codes))
    return replace(result, trades=trades)
