"""Walk-forward runs: simulate a strategy on each fold's test window, stitch the results.

For every fold of a plan (:func:`harvester.research.folds.plan_folds`):

1. ``choose_config(fold, train_panel, config)`` picks the fold's config from its training
   bars (the hook for per-fold parameter optimisation; by default the config unchanged);
2. the strategy's signals for the fold's test window are what it generates on the panel
   **up to the end of that window**. Strategies are causal (the generic causality test
   requires the output at bar t to be the same whether the panel ends at t or later), so
   they are generated once per distinct fold config on the whole panel and cut to each
   window: the same numbers, without regenerating the history for every fold. The engine's
   inputs (ATR, ADV, realised volatility) and the rule regimes recorded on trades are
   computed the same way, so a window's first bars are not in an indicator's warm-up —
   exactly as for a trader who starts at that date with the history at hand;
3. only the test window is simulated: signals and inputs cut to the test bars run through
   the engine from the initial capital. **Positions do not carry across folds**: each fold
   starts flat, and a position still open at a fold's last bar is marked to that bar's
   close (it appears in the fold's trades with exit reason ``open`` and is not counted as
   a closed trade).

The out-of-sample equity is stitched by chaining the folds: each fold's curve is scaled so it
starts at the previous fold's end equity, so the stitched total return is the product of the
fold returns. Overall metrics are computed on the stitched curve, with the closed trades of
every fold. Test windows must not overlap (``stride >= test_len``) for the stitch to be a
single timeline.

The simulations of the test windows are independent, so they can run in parallel: pass an
:class:`~harvester.research.executors.Executor` (local processes, a Dask cluster) and each
window is one task carrying only its own bars. The results are bit-identical to the inline
run.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harvester.analytics.metrics import compute_metrics, infer_periods_per_year, trade_stats
from harvester.backtest._arrays import TRADE_COLUMNS, MarketArrays
from harvester.backtest.engine import check_signals, run_backtest, simulate
from harvester.backtest.inputs import engine_params, market_arrays
from harvester.backtest.result import BacktestResult, equity_frame
from harvester.backtest.trade_regimes import trade_regimes, with_regime_names
from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError
from harvester.data.panel import Panel
from harvester.domain.trades import ExitReason
from harvester.research.executors import Executor, SerialExecutor
from harvester.research.folds import Fold
from harvester.strategies.base import Strategy
from harvester.strategies.registry import STRATEGIES
from harvester.strategies.signals import Signals

__all__ = [
    "FOLD_TABLE_COLUMNS",
    "ChooseConfig",
    "FoldResult",
    "WalkForwardResult",
    "keep_config",
    "stitch_equity",
    "walk_forward",
    "walk_forward_metrics",
]

ChooseConfig = Callable[[Fold, Panel, HarvesterConfig], HarvesterConfig]
"""``(fold, train_panel, config) -> config``: the per-fold parameter-optimisation hook."""

FOLD_TABLE_COLUMNS: tuple[str, ...] = (
    "fold", "train_start", "train_end", "test_start", "test_end", "train_bars", "test_bars",
    "trades", "total_return", "sharpe", "max_drawdown",
)  # fmt: skip

_OPEN = ExitReason.OPEN.name.lower()
_SYMBOL, _EXIT_BAR, _PNL, _RETURN, _EXIT_REASON = (
    TRADE_COLUMNS.index(name) for name in ("symbol", "exit_bar", "pnl", "return", "exit_reason")
)


def keep_config(fold: Fold, train_panel: Panel, config: HarvesterConfig) -> HarvesterConfig:
    """The default ``choose_config``: every fold uses the config it was given."""
    del fold, train_panel
    return config


@dataclass(frozen=True, slots=True)
class FoldResult:
    """One fold: its bars, the dates they span, and the backtest of its test window."""

    fold: Fold
    train_start: pd.Timestamp
    train_end: pd.Timestamp
    test_start: pd.Timestamp
    test_end: pd.Timestamp
    result: BacktestResult

    @property
    def metrics(self) -> Mapping[str, float]:
        return self.result.metrics

    @property
    def total_return(self) -> float:
        return float(self.result.metrics["total_return"])

    def row(self) -> dict[str, object]:
        """The fold's row of the fold table."""
        m = self.result.metrics
        return {
            "fold": self.fold.index, "train_start": self.train_start,
            "train_end": self.train_end, "test_start": self.test_start,
            "test_end": self.test_end, "train_bars": int(self.fold.train.size),
            "test_bars": len(self.fold.test), "trades": int(m["number_of_trades"]),
            "total_return": m["total_return"], "sharpe": m["sharpe"],
            "max_drawdown": m["max_drawdown"],
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class WalkForwardResult:
    """Every fold's result, the stitched out-of-sample equity and its metrics."""

    strategy: str
    folds: tuple[FoldResult, ...]
    equity: pd.Series
    metrics: Mapping[str, float]
    config: HarvesterConfig
    data_fingerprint: str
    plan: Mapping[str, object]

    @property
    def config_hash(self) -> str:
        return self.config.content_hash()

    def fold_table(self) -> pd.DataFrame:
        """One row per fold: dates, bar counts, trades, total return, Sharpe, max drawdown."""
        return pd.DataFrame([f.row() for f in self.folds], columns=list(FOLD_TABLE_COLUMNS))

    def trades(self) -> pd.DataFrame:
        """Every fold's trades (open ones included) with a ``fold`` column first."""
        frames = [f.result.trades.assign(fold=f.fold.index) for f in self.folds]
        table = pd.concat(frames, ignore_index=True)
        return table[["fold", *(c for c in table.columns if c != "fold")]]


def _check_folds(folds: tuple[Fold, ...], n_bars: int) -> None:
    if not folds:
        raise ConfigError("walk-forward needs at least one fold; the plan has none")
    for before, after in itertools.pairwise(folds):
        if after.test.start < before.test.stop:
            raise ConfigError(
                f"walk-forward test windows of folds {before.index} and {after.index} overlap, "
                "so their equity cannot be stitched; use a stride of at least test_len"
            )
    if folds[-1].test.stop > n_bars:
        raise ConfigError(
            f"walk-forward fold {folds[-1].index} ends at bar {folds[-1].test.stop}, the data "
            f"has {n_bars}; plan the folds on this data"
        )


@dataclass(frozen=True, slots=True)
class _Inputs:
    """What one fold config makes of the whole panel: signals, engine inputs, regime codes."""

    config: HarvesterConfig
    signals: Signals
    market: MarketArrays
    regimes: pd.DataFrame


def _inputs(panel: Panel, strategy: Strategy, config: HarvesterConfig) -> _Inputs:
    signals = strategy.generate(panel, config).signals
    market = market_arrays(panel, config)
    return _Inputs(config, signals, market, trade_regimes(panel, config.regimes))


@dataclass(frozen=True, slots=True)
class _TestWindow:
    """One fold's test window, everything cut to its bars: a small, picklable task."""

    fold: Fold
    train_dates: tuple[pd.Timestamp, pd.Timestamp]
    panel: Panel
    signals: Signals
    market: MarketArrays
    regimes: pd.DataFrame
    config: HarvesterConfig


def _window(panel: Panel, fold: Fold, inputs: _Inputs) -> _TestWindow:
    index, rows = panel.index, slice(fold.test.start, fold.test.stop)
    return _TestWindow(
        fold=fold,
        train_dates=(index[fold.train[0]], index[fold.train[-1]]),
        panel=panel.slice(index[fold.test.start], index[fold.test.stop - 1]),
        signals=inputs.signals.cut(rows),
        market=inputs.market.rows(rows),
        regimes=inputs.regimes.iloc[rows],
        config=inputs.config,
    )


def _windows(
    panel: Panel, strategy: Strategy, config: HarvesterConfig, folds: tuple[Fold, ...],
    choose: ChooseConfig,
) -> list[_TestWindow]:  # fmt: skip
    index = panel.index
    windows: list[_TestWindow] = []
    inputs: _Inputs | None = None
    for fold in folds:
        train_panel = panel.slice(index[fold.train[0]], index[fold.train[-1]])
        fold_config = strategy.configure(choose(fold, train_panel, config))
        # Consecutive folds usually share their config; only the latest inputs are kept.
        if inputs is None or inputs.config.content_hash() != fold_config.content_hash():
            inputs = None  # free the previous config's arrays first
            inputs = _inputs(panel, strategy, fold_config)
        windows.append(_window(panel, fold, inputs))
    return windows


def _simulate(window: _TestWindow) -> FoldResult:
    result = run_backtest(
        window.panel, window.signals, window.config,
        regimes=window.regimes, market=window.market,
    )  # fmt: skip
    dates = window.panel.index
    return FoldResult(window.fold, *window.train_dates, dates[0], dates[-1],
                      with_regime_names(result))  # fmt: skip


@dataclass(frozen=True, slots=True)
class _FoldNumbers:
    """What the stitched metrics need of one fold: its curves and its closed trades' P&L and
    returns, in the journal's order (exit time, then symbol)."""

    equity: pd.Series
    exposure: pd.Series
    pnl: np.ndarray
    returns: np.ndarray


def _numbers_of(result: BacktestResult) -> _FoldNumbers:
    closed = result.trades[result.trades["exit_reason"] != _OPEN]
    return _FoldNumbers(
        result.equity["equity"], result.equity["exposure"],
        closed["pnl"].to_numpy(), closed["return"].to_numpy(),
    )  # fmt: skip


def _simulate_numbers(window: _TestWindow) -> _FoldNumbers:
    """:func:`_simulate` without the fold's journal, fills and metrics: the same numbers."""
    check_signals(window.signals, window.panel.shape)
    output = simulate(window.market, window.signals, engine_params(window.config))
    frame = equity_frame(output, window.panel)
    records = output.trades
    closed = records[records[:, _EXIT_REASON] != ExitReason.OPEN]
    names = np.array(window.panel.symbols, dtype=object)[closed[:, _SYMBOL].astype(np.int64)]
    order = np.lexsort((names.astype(str), closed[:, _EXIT_BAR]))  # stable, as the journal
    return _FoldNumbers(
        frame["equity"], frame["exposure"], closed[order, _PNL], closed[order, _RETURN]
    )


def _stitch(curves: list[pd.Series]) -> pd.Series:
    pieces: list[pd.Series] = []
    level = float(curves[0].iloc[0])
    for curve in curves:
        scaled = curve * (level / float(curve.iloc[0]))
        pieces.append(scaled)
        level = float(scaled.iloc[-1])
    stitched: pd.Series = pd.concat(pieces).rename("equity")
    return stitched


def stitch_equity(folds: tuple[FoldResult, ...]) -> pd.Series:
    """Chain the folds' equity curves: each starts at the previous fold's end equity."""
    return _stitch([f.result.equity["equity"] for f in folds])


def _overall_metrics(
    folds: list[_FoldNumbers], equity: pd.Series, panel: Panel
) -> dict[str, float]:
    pnl = np.concatenate([f.pnl for f in folds])
    returns = np.concatenate([f.returns for f in folds])
    return compute_metrics(
        equity,
        trades=trade_stats(pnl, returns),
        periods_per_year=infer_periods_per_year(panel.index),
        exposure=pd.concat([f.exposure for f in folds]).fillna(0.0),
    )


def walk_forward_metrics(
    panel: Panel,
    strategy: str | Strategy,
    config: HarvesterConfig,
    folds: tuple[Fold, ...],
    *,
    executor: Executor | None = None,
) -> tuple[pd.Series, dict[str, float]]:
    """The stitched out-of-sample equity and metrics of :func:`walk_forward`, without each
    fold's journal and report tables: what an optimisation trial needs, the same numbers
    (a test compares them), in a fraction of the time."""
    resolved = STRATEGIES[strategy] if isinstance(strategy, str) else strategy
    _check_folds(folds, panel.shape[0])
    windows = _windows(panel, resolved, config, folds, keep_config)
    numbers = (executor or SerialExecutor()).map(_simulate_numbers, windows)
    equity = _stitch([n.equity for n in numbers])
    return equity, _overall_metrics(numbers, equity, panel)


def _plan(folds: tuple[Fold, ...]) -> dict[str, object]:
    first = folds[0]
    stride = folds[1].test.start - first.test.start if len(folds) > 1 else len(first.test)
    return {
        "folds": len(folds),
        "test_len": len(first.test),
        "stride": stride,
        "first_test_bar": first.test.start,
    }


def walk_forward(
    panel: Panel,
    strategy: str | Strategy,
    config: HarvesterConfig,
    folds: tuple[Fold, ...],
    *,
    choose_config: ChooseConfig = keep_config,
    plan: Mapping[str, object] | None = None,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> WalkForwardResult:
    """Run ``strategy`` (a registered name, or a :class:`Strategy`) over ``folds`` of
    ``panel`` (see the module docstring). ``choose_config(fold, train_panel, config)`` picks
    each fold's config; ``train_panel`` spans the fold's first to last training bar (purged
    and embargoed bars inside it are listed by ``fold.train``). ``plan`` (the fold settings,
    for the report) defaults to what the folds show. ``executor`` runs the folds (default:
    inline, one after the other) and ``progress(folds done, folds)`` is called as they finish.

    Raises
    ------
    ConfigError
        On an unknown strategy, no folds, overlapping test windows or folds past the data.
    """
    resolved = STRATEGIES[strategy] if isinstance(strategy, str) else strategy
    _check_folds(folds, panel.shape[0])
    windows = _windows(panel, resolved, config, folds, choose_config)
    results = tuple((executor or SerialExecutor()).map(_simulate, windows, progress=progress))
    equity = stitch_equity(results)
    return WalkForwardResult(
        strategy=resolved.name,
        folds=results,
        equity=equity,
        metrics=_overall_metrics([_numbers_of(f.result) for f in results], equity, panel),
        config=config,
        data_fingerprint=panel.fingerprint(),
        plan=dict(plan) if plan is not None else _plan(folds),
    )
