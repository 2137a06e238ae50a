"""Rally's walk-forward model: fold plan, purged training, isotonic calibration, reports.

Folds are anchored at the panel start: fold k tests bars ``[s_k, s_k + test_bars)`` with
``s_k = train_bars + k · test_bars`` and trains on bars ``[0, s_k − horizon − embargo)`` —
the purge: a training row's label window ``t+1..t+horizon`` (plus the embargo) ends before
the test window. One model per fold is pooled over all symbols: a standardised L2 logistic
regression (lbfgs) fitted on the earlier part of the training rows and an isotonic
regression mapping its raw score to a probability fitted on the latest
``calibration_fraction`` of them (out of sample for the regression, chronologically after
it, with the same purge in between).
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib  # type: ignore[import-untyped]
import numpy as np
import pandas as pd

from harvester.core.errors import DataError
from harvester.core.types import FloatArray
from harvester.regimes.hmm import BatchedHMM

__all__ = [
    "Fold",
    "FoldMetrics",
    "FoldModel",
    "RallyReport",
    "brier_score",
    "fit_fold",
    "load_model",
    "plan_folds",
    "reliability_table",
    "save_model",
    "write_fold_report",
]

RELIABILITY_BINS = 10


@dataclass(frozen=True, slots=True)
class Fold:
    """One walk-forward fold in bar indices (ends exclusive).

    Training rows are ``[train_start, train_end)``; ``train_end + horizon + embargo`` is the
    test start, so no training label window reaches into ``[test_start, test_end)``.
    """

    index: int
    train_start: int
    train_end: int
    test_start: int
    test_end: int


def plan_folds(
    n_bars: int, *, train_bars: int, test_bars: int, horizon: int, embargo: int = 0
) -> tuple[Fold, ...]:
    """Return the folds whose test window starts inside ``n_bars`` bars.

    The boundaries depend only on the parameters, never on ``n_bars`` (which only drops
    folds and shortens the last test window), so a truncated panel has the same folds.
    """
    folds: list[Fold] = []
    start = train_bars
    while start < n_bars:
        train_end = max(start - horizon - embargo, 0)
        folds.append(Fold(len(folds), 0, train_end, start, min(start + test_bars, n_bars)))
        start += test_bars
    return tuple(folds)


def brier_score(probability: FloatArray, outcome: FloatArray) -> float:
    """Mean squared error of probabilities against 0/1 outcomes (NaN when empty)."""
    if probability.size == 0:
        return float("nan")
    return float(np.mean((probability - outcome) ** 2))


def reliability_table(probability: FloatArray, outcome: FloatArray) -> pd.DataFrame:
    """Ten equal-width bins of predicted probability: mean predicted, observed rate, count."""
    bins = np.clip(np.floor(probability * RELIABILITY_BINS), 0, RELIABILITY_BINS - 1)
    rows = []
    for b in range(RELIABILITY_BINS):
        inside = bins == b
        n = int(inside.sum())
        rows.append(
            {
                "bin_low": b / RELIABILITY_BINS,
                "bin_high": (b + 1) / RELIABILITY_BINS,
                "mean_predicted": float(probability[inside].mean()) if n else float("nan"),
                "observed_frequency": float(outcome[inside].mean()) if n else float("nan"),
                "count": n,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True, slots=True, eq=False)
class FoldMetrics:
    """Out-of-sample quality of one fold on its test window (rows with a complete label)."""

    fold: Fold
    n_train: int
    n_test: int
    train_label_rate: float
    test_label_rate: float
    brier: float
    reliability: pd.DataFrame

    def summary(self) -> dict[str, Any]:
        """JSON-ready scalars and the reliability table as records."""
        return {
            "fold": self.fold.index,
            "train_start": self.fold.train_start,
            "train_end": self.fold.train_end,
            "test_start": self.fold.test_start,
            "test_end": self.fold.test_end,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "train_label_rate": _finite_or_none(self.train_label_rate),
            "test_label_rate": _finite_or_none(self.test_label_rate),
            "brier": _finite_or_none(self.brier),
            "reliability": [
                {k: _finite_or_none(v) if isinstance(v, float) else v for k, v in row.items()}
                for row in self.reliability.to_dict(orient="records")
            ],
        }


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


@dataclass(frozen=True, slots=True, eq=False)
class FoldModel:
    """One fold's fitted model: scaler + logistic regression, isotonic map, HMM, thresholds.

    ``constant`` replaces the classifier when the training rows held a single class (their
    rate) or none (NaN: no model).
    """

    fold: Fold
    features: tuple[str, ...]
    classifier: Any
    calibrator: Any
    constant: float | None
    hmm: BatchedHMM | None
    r_up: FloatArray
    d_dn: FloatArray

    def raw_score(self, x: FloatArray) -> FloatArray:
        """Logistic-regression decision value per row of ``x`` (rows with NaN give NaN)."""
        out = np.full(x.shape[0], np.nan)
        ok = np.isfinite(x).all(axis=1)
        if self.classifier is not None and ok.any():
            out[ok] = _decision(self.classifier, x[ok])
        elif ok.any():
            out[ok] = 0.0
        return out

    def calibrate(self, raw: FloatArray) -> FloatArray:
        """Map raw scores to calibrated probabilities (monotone non-decreasing)."""
        out = np.full(raw.shape, np.nan)
        ok = np.isfinite(raw)
        if self.constant is not None:
            out[ok] = self.constant
        elif ok.any():
            out[ok] = self.calibrator.predict(raw[ok])
        return out

    def predict(self, x: FloatArray) -> FloatArray:
        """Calibrated P(rally) per row of the (rows × features) design ``x``."""
        return self.calibrate(self.raw_score(x))


def _decision(classifier: Any, x: FloatArray) -> FloatArray:
    """``classifier.decision_function`` row by row, feature by feature.

    A matrix product's rounding depends on how many rows it multiplies at once; this sum
    does not, so a row's score is bitwise the same on a truncated panel.
    """
    scaler, regression = classifier[0], classifier[-1]
    z = (x - scaler.mean_) / scaler.scale_
    coef = regression.coef_[0]
    total = np.full(x.shape[0], float(regression.intercept_[0]))
    for j in range(x.shape[1]):
        total = total + z[:, j] * coef[j]
    return total


def _rows(x: FloatArray, y: FloatArray, stop: int, start: int = 0) -> tuple[FloatArray, FloatArray]:
    """Flatten rows ``[start, stop)`` of (T, S, F) / (T, S) to finite training rows."""
    xs = x[start:stop].reshape(-1, x.shape[2])
    ys = y[start:stop].reshape(-1)
    ok = np.isfinite(xs).all(axis=1) & np.isfinite(ys)
    return xs[ok], ys[ok]


def _subsample(
    x: FloatArray, y: FloatArray, limit: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    if x.shape[0] <= limit:
        return x, y
    keep = np.sort(rng.choice(x.shape[0], size=limit, replace=False))
    return x[keep], y[keep]


def fit_fold(
    fold: Fold,
    design: FloatArray,
    label: FloatArray,
    *,
    features: tuple[str, ...],
    horizon: int,
    hmm: BatchedHMM | None,
    r_up: FloatArray,
    d_dn: FloatArray,
    calibration_fraction: float = 0.25,
    regularization_c: float = 1.0,
    max_train_rows: int = 200_000,
    seed: int = 0,
) -> FoldModel:
    """Fit one fold on rows ``[0, fold.train_end)`` of ``design`` (T, S, F) and ``label``.

    Rows at or after ``fold.train_end`` are never read, so labels may be NaN or even wrong
    there. The regression uses rows before ``cut − horizon``, the isotonic map rows from
    ``cut`` on, with ``cut`` the bar leaving ``calibration_fraction`` of the window after it.
    """
    # scikit-learn is imported here, not at module level: importing the strategy registry (every
    # backtest, the stream consumer, the bot) would otherwise pay ~0.9 s and ~80 MB for it.
    from sklearn.isotonic import IsotonicRegression  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.pipeline import make_pipeline  # type: ignore[import-untyped]
    from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]

    if design.shape[:2] != label.shape or design.shape[0] < fold.train_end:
        raise DataError(f"rally fold {fold.index}: design {design.shape} vs label {label.shape}")
    rng = np.random.default_rng(seed + fold.index)
    end = fold.train_end
    cut = fold.train_start + round((1.0 - calibration_fraction) * (end - fold.train_start))
    x_fit, y_fit = _rows(design, label, max(cut - horizon, 0), fold.train_start)
    x_cal, y_cal = _rows(design, label, end, cut)
    x_fit, y_fit = _subsample(x_fit, y_fit, max_train_rows, rng)
    x_cal, y_cal = _subsample(x_cal, y_cal, max_train_rows, rng)
    if len(np.unique(y_fit)) < 2 or y_cal.size == 0:
        everything = np.concatenate([y_fit, y_cal])
        constant = float(everything.mean()) if everything.size else float("nan")
        return FoldModel(fold, features, None, None, constant, hmm, r_up, d_dn)
    classifier = make_pipeline(
        StandardScaler(),
        LogisticRegression(C=regularization_c, solver="lbfgs", max_iter=500),
    )
    classifier.fit(x_fit, y_fit)
    calibrator = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    calibrator.fit(_decision(classifier, x_cal), y_cal)
    return FoldModel(fold, features, classifier, calibrator, None, hmm, r_up, d_dn)


def fold_metrics(
    model: FoldModel, probability: FloatArray, label: FloatArray, train_label: FloatArray
) -> FoldMetrics:
    """Score ``probability`` (T, S) against ``label`` (T, S) on the fold's test window."""
    fold = model.fold
    p = probability[fold.test_start : fold.test_end].reshape(-1)
    y = label[fold.test_start : fold.test_end].reshape(-1)
    ok = np.isfinite(p) & np.isfinite(y)
    train = train_label[: fold.train_end]
    train = train[np.isfinite(train)]
    return FoldMetrics(
        fold=fold,
        n_train=int(train.size),
        n_test=int(ok.sum()),
        train_label_rate=float(train.mean()) if train.size else float("nan"),
        test_label_rate=float(y[ok].mean()) if ok.any() else float("nan"),
        brier=brier_score(p[ok], y[ok]),
        reliability=reliability_table(p[ok], y[ok]),
    )


@dataclass(frozen=True, slots=True, eq=False)
class RallyReport:
    """Per-fold out-of-sample Brier scores and reliability tables."""

    folds: tuple[FoldMetrics, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per fold (no reliability tables)."""
        rows = [{k: v for k, v in m.summary().items() if k != "reliability"} for m in self.folds]
        return pd.DataFrame(rows)


def _atomic_write(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(handle)
    try:
        write(Path(tmp))
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_fold_report(report: RallyReport, directory: str | Path) -> list[Path]:
    """Write ``folds.csv``, ``folds.json`` and ``reliability_fold<k>.csv`` per fold."""
    out = Path(directory)
    written = [out / "folds.csv", out / "folds.json"]
    _atomic_write(written[0], lambda p: report.to_frame().to_csv(p, index=False))
    payload = [m.summary() for m in report.folds]
    _atomic_write(written[1], lambda p: p.write_text(json.dumps(payload, indent=2)))
    for metrics in report.folds:
        path = out / f"reliability_fold{metrics.fold.index}.csv"
        _atomic_write(path, lambda p, m=metrics: m.reliability.to_csv(p, index=False))
        written.append(path)
    return written


def _versions() -> dict[str, str]:
    import sklearn  # type: ignore[import-untyped]

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "joblib": joblib.__version__,
    }


def save_model(
    path: str | Path,
    fold_models: Sequence[FoldModel],
    metadata: Mapping[str, Any] | None = None,
    *,
    report: RallyReport | None = None,
) -> tuple[Path, Path]:
    """Save fold models with joblib at ``path`` and JSON metadata beside it (``.json``).

    The metadata holds each fold's training and test window, the feature names, the per
    fold metrics of ``report`` (Brier score, reliability table) and library versions, plus
    the caller's ``metadata``.
    """
    target = Path(path)
    meta_path = target.with_suffix(".json")
    by_fold = {m.fold.index: m.summary() for m in report.folds} if report else {}
    meta: dict[str, Any] = dict(metadata or {})
    meta["versions"] = _versions()
    meta["folds"] = [
        {
            "fold": m.fold.index,
            "train_start": m.fold.train_start,
            "train_end": m.fold.train_end,
            "test_start": m.fold.test_start,
            "test_end": m.fold.test_end,
            "features": list(m.features),
            "metrics": by_fold.get(m.fold.index),
        }
        for m in fold_models
    ]
    _atomic_write(target, lambda p: joblib.dump(list(fold_models), p))
    _atomic_write(meta_path, lambda p: p.write_text(json.dumps(meta, indent=2, default=str)))
    return target, meta_path


def load_model(path: str | Path) -> tuple[tuple[FoldModel, ...], dict[str, Any]]:
    """Load what :func:`save_model` wrote: the fold models and the metadata."""
    target = Path(path)
    models = joblib.load(target)
    if not isinstance(models, list) or not all(isinstance(m, FoldModel) for m in models):
        raise DataError(f"{target}: not a saved Rally model; save it with save_model")
    meta: dict[str, Any] = json.loads(target.with_suffix(".json").read_text())
    return tuple(models), meta
