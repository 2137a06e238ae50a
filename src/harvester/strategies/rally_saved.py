"""Rally signals from the models ``harvester run retrain`` saved: the daily scan's P(rally).

A retrain fits each symbol on its own history (:func:`own_history`: its bars from the first
to the last with a close) and saves the walk-forward fold models; their test windows are bar
positions in that history, whose last date and length the metadata keeps (``last_bar``,
``bars``). On a later history of the symbol the windows are moved by the bars it gained
before ``last_bar``, so each fold model predicts its own test window again, and the newest
one carries on over the bars after ``last_bar``, which no model was trained on. Every
probability is out of sample, as in a backtest; only the models are not refitted.

:func:`with_saved_models` is the ``rally`` strategy with that P(rally) in place of the
in-panel walk-forward fit; signals, sizes and exits are the strategy's own
(:func:`harvester.strategies.rally.output_from_fit`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harvester.config.models import HarvesterConfig
from harvester.core.errors import DataError
from harvester.core.types import FloatArray
from harvester.data.panel import Panel
from harvester.regimes.hmm import filter_probabilities
from harvester.strategies._rally_model import FoldModel, RallyReport, load_model
from harvester.strategies.base import Strategy, StrategyOutput
from harvester.strategies.rally import (
    STRATEGY,
    RallyFit,
    base_features,
    hmm_observations,
    output_from_fit,
)

__all__ = ["SavedModel", "load_saved", "own_history", "saved_fit", "with_saved_models"]


@dataclass(frozen=True, slots=True)
class SavedModel:
    """One symbol's fold models and the history they were fitted on (its last date, length)."""

    folds: tuple[FoldModel, ...]
    last_bar: pd.Timestamp
    bars: int


def own_history(panel: Panel, symbol: str) -> Panel:
    """``symbol`` alone, from its first to its last bar with a close (what a retrain fits)."""
    single = panel.select([symbol])
    rows = np.flatnonzero(np.isfinite(single.array("close")[:, 0]))
    if len(rows) == 0:
        return single
    return single.slice(single.index[rows[0]], single.index[rows[-1]])


def history_metadata(history: Panel) -> dict[str, object]:
    """What :func:`load_saved` needs to place the models on a later history."""
    return {"last_bar": pd.Timestamp(history.index[-1]).isoformat(), "bars": history.shape[0]}


def load_saved(path: str | Path) -> SavedModel:
    """Load a retrain's saved models (:func:`harvester.strategies._rally_model.save_model`).

    Raises
    ------
    DataError
        When the file is not a saved model, or was saved without its history's last date.
    """
    folds, meta = load_model(path)
    if "last_bar" not in meta or "bars" not in meta:
        name = Path(path).name
        raise DataError(f"{name} has no history dates; run harvester run retrain --force")
    return SavedModel(folds, pd.Timestamp(meta["last_bar"]), int(meta["bars"]))


def _states(model: SavedModel) -> int:
    return sum(f.startswith("hmm_p") for f in model.folds[-1].features)


def _probability_columns(history: Panel, model: SavedModel) -> dict[str, FloatArray]:
    """P(rally), raw score, thresholds, fold and HMM states of one symbol on ``history``."""
    n = history.shape[0]
    position = int(history.index.searchsorted(model.last_bar))
    if position >= n or history.index[position] != model.last_bar:
        raise DataError(
            f"the history of {history.symbols[0]} lacks {model.last_bar.date()}, the last bar "
            "its model was trained to; run harvester run retrain"
        )
    shift = position - (model.bars - 1)
    _, base = base_features(history)
    observations = hmm_observations(np.asarray(history.array("close"), dtype=np.float64))
    k = _states(model)
    out = {name: np.full(n, np.nan) for name in ("p", "raw", "r_up", "d_dn", "fold")}
    out["hmm"] = np.full((n, k), np.nan)
    for number, fold_model in enumerate(model.folds):
        newest = number == len(model.folds) - 1
        s = max(fold_model.fold.test_start + shift, 0)
        e = n if newest else min(fold_model.fold.test_end + shift, n)
        if s >= e or fold_model.hmm is None:
            continue
        missing = [f for f in fold_model.features if not f.startswith("hmm_p") and f not in base]
        if missing:
            raise DataError(f"the rally model of {history.symbols[0]} needs features {missing}")
        probs = filter_probabilities(fold_model.hmm, observations[:, :e])[0]  # (time, K)
        stack = [base[f][s:e, 0] for f in fold_model.features if f in base]
        design = np.column_stack([*stack, probs[s:e]])
        raw = fold_model.raw_score(design)
        out["raw"][s:e], out["p"][s:e] = raw, fold_model.calibrate(raw)
        out["r_up"][s:e], out["d_dn"][s:e] = fold_model.r_up[0], fold_model.d_dn[0]
        out["fold"][s:e] = fold_model.fold.index
        out["hmm"][s:e] = probs[s:e]
    return out


def saved_fit(panel: Panel, models: Mapping[str, SavedModel]) -> RallyFit:
    """The walk-forward fit's arrays for ``panel``, predicted by each symbol's saved models."""
    shape = panel.shape
    k = max(_states(m) for m in models.values())
    arrays = {name: np.full(shape, np.nan) for name in ("p", "raw", "r_up", "d_dn", "fold")}
    hmm = np.full((*shape, k), np.nan)
    for j, symbol in enumerate(panel.symbols):
        if symbol not in models:
            raise DataError(f"no saved rally model for {symbol}; run harvester run retrain")
        history = own_history(panel, symbol)
        if history.shape[0] == 0 or not np.isfinite(history.array("close")).any():
            continue
        start = int(panel.index.searchsorted(history.index[0]))
        rows = slice(start, start + history.shape[0])
        columns = _probability_columns(history, models[symbol])
        for name, values in arrays.items():
            values[rows, j] = columns[name]
        hmm[rows, j, : columns["hmm"].shape[1]] = columns["hmm"]
    return RallyFit(
        folds=(), report=RallyReport(()), probability=arrays["p"], raw_score=arrays["raw"],
        hmm=hmm, r_up=arrays["r_up"], d_dn=arrays["d_dn"], fold_index=arrays["fold"],
        features=(),
    )  # fmt: skip


def _generate_saved(
    panel: Panel, config: HarvesterConfig, *, models: Mapping[str, SavedModel]
) -> StrategyOutput:
    return output_from_fit(panel, config, saved_fit(panel, models))


def with_saved_models(models: Mapping[str, SavedModel]) -> Strategy:
    """The ``rally`` strategy predicting with ``models`` (by symbol) instead of refitting."""
    return dataclasses.replace(STRATEGY, generate=functools.partial(_generate_saved, models=models))
