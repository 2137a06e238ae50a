"""Walk-forward runs: simulate a strategy on each fold's test window, stitch the results.

For every fold of a plan (:func:`harvester.research.folds.plan_folds`):

1. ``choose_config(fold, train_panel, config)`` picks the fold's config from its training
   bars (the hook for per-fold parameter optimisation; by default the config unchanged);
2. the strategy generates its signals on the panel **up to the end of the fold's test
   window** — strategies are causal and refit their own models on what they are given, so
   nothing after the test window can reach them;
3. only the test window is simulated: the panel and the signals are cut to the test bars
   and run through the engine from the initial capital. **Positions do not carry across
   folds**: each fold starts flat, and a position still open at a fold's last bar is marked
   to that bar's close (it appears in the fold's trades with exit reason ``open`` and is not
   counted as a closed trade).

The out-of-sample equity is stitched by chaining the folds: each fold's curve is scaled so it
starts at the previous fold's end equity, so the stitched total return is the product of the
fold returns. Overall metrics are computed on the stitched curve, with the closed trades of
every fold. Test windows must not overlap (``stride >= test_len``) for the stitch to be a
single timeline.

Folds are independent, so they can run in parallel: pass an
:class:`~harvester.research.executors.Executor` (local processes, a Dask cluster) and each
fold is one task. The results are bit-identical to the inline run; the strategy and
``choose_config`` must then be picklable (module-level functions, registered strategies).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harvester.analytics.metrics import compute_metrics, infer_periods_per_year, trade_stats
from harvester.backtest.engine import run_backtest
from harvester.backtest.result import BacktestResult
from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError
from harvester.data.panel import Panel
from harvester.domain.trades import ExitReason
from harvester.regimes.rules import rule_regime_names, rule_regimes_from_config
from harvester.research.executors import Executor, PortablePanel, SerialExecutor
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
]

ChooseConfig = Callable[[Fold, Panel, HarvesterConfig], HarvesterConfig]
"""``(fold, train_panel, config) -> config``: the per-fold parameter-optimisation hook."""

FOLD_TABLE_COLUMNS: tuple[str, ...] = (
    "fold", "train_start", "train_end", "test_start", "test_end", "train_bars", "test_bars",
    "trades", "total_return", "sharpe", "max_drawdown",
)  # fmt: skip

_OPEN = ExitReason.OPEN.name.lower()


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


def _cut_signals(signals: Signals, rows: range) -> Signals:
    cut = slice(rows.start, rows.stop)
    return Signals(
        np.ascontiguousarray(signals.direction[cut]),
        np.ascontiguousarray(signals.exit[cut]),
        np.ascontiguousarray(signals.size[cut]),
        np.ascontiguousarray(signals.score[cut]),
    )


def _regimes(history: Panel, config: HarvesterConfig, rows: range) -> pd.DataFrame:
    labels = rule_regimes_from_config(
        history.array("close"), config.regimes,
        high=history.array("high"), low=history.array("low"),
    )  # fmt: skip
    names = pd.DataFrame(
        rule_regime_names(labels), index=history.index, columns=list(history.symbols)
    )
    return names.iloc[rows.start : rows.stop]


def _run_fold(
    panel: Panel, strategy: Strategy, config: HarvesterConfig, fold: Fold, choose: ChooseConfig
) -> FoldResult:
    index = panel.index
    train_panel = panel.slice(index[fold.train[0]], index[fold.train[-1]])
    fold_config = strategy.configure(choose(fold, train_panel, config))
    history = panel.slice(end=index[fold.test.stop - 1])
    signals = strategy.generate(history, fold_config).signals
    test_panel = panel.slice(index[fold.test.start], index[fold.test.stop - 1])
    result = run_backtest(
        test_panel,
        _cut_signals(signals, fold.test),
        fold_config,
        regimes=_regimes(history, fold_config, fold.test),
    )
    return FoldResult(
        fold, index[fold.train[0]], index[fold.train[-1]],
        index[fold.test.start], index[fold.test.stop - 1], result,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class _FoldTask:
    """One fold's run as a picklable callable: what every fold shares, bound once."""

    panel: Panel | PortablePanel
    strategy: Strategy
    config: HarvesterConfig
    choose: ChooseConfig

    def __call__(self, fold: Fold) -> FoldResult:
        panel = self.panel.panel() if isinstance(self.panel, PortablePanel) else self.panel
        return _run_fold(panel, self.strategy, self.config, fold, self.choose)


def stitch_equity(folds: tuple[FoldResult, ...]) -> pd.Series:
    """Chain the folds' equity curves: each starts at the previous fold's end equity."""
    pieces: list[pd.Series] = []
    level = float(folds[0].result.equity["equity"].iloc[0])
    for fold in folds:
        curve = fold.result.equity["equity"]
        scaled = curve * (level / float(curve.iloc[0]))
        pieces.append(scaled)
        level = float(scaled.iloc[-1])
    stitched: pd.Series = pd.concat(pieces).rename("equity")
    return stitched


def _overall_metrics(
    folds: tuple[FoldResult, ...], equity: pd.Series, panel: Panel
) -> dict[str, float]:
    trades = pd.concat([f.result.trades for f in folds], ignore_index=True)
    closed = trades[trades["exit_reason"] != _OPEN]
    exposure = pd.concat([f.result.equity["exposure"] for f in folds]).fillna(0.0)
    return compute_metrics(
        equity,
        trades=trade_stats(closed["pnl"].to_numpy(), closed["return"].to_numpy()),
        periods_per_year=infer_periods_per_year(panel.index),
        exposure=exposure,
    )


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
    # A Panel does not pickle; tasks for an executor carry it as a PortablePanel.
    shipped = panel if executor is None else PortablePanel.of(panel)
    task = _FoldTask(shipped, resolved, config, choose_config)
    results = tuple((executor or SerialExecutor()).map(task, folds, progress=progress))
    equity = stitch_equity(results)
    return WalkForwardResult(
        strategy=resolved.name,
        folds=results,
        equity=equity,
        metrics=_overall_metrics(results, equity, panel),
        config=config,
        data_fingerprint=panel.fingerprint(),
        plan=dict(plan) if plan is not None else _plan(folds),
    )
