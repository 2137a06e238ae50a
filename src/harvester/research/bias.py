"""Bias checks: look-ahead, survivorship, overfitting and data snooping, as findings.

``bias_check(panel, strategy, config, folds=...)`` returns a :class:`BiasReport`: a list of
:class:`Finding` (check, severity ``info`` / ``warning`` / ``fail``, one-line message) and the
numbers behind them. ``fail`` findings make ``harvester bias-check`` exit with code 1.

- **look-ahead**: for ``cuts`` cut bars (at 1/(cuts+1), 2/(cuts+1), … of the sample) the
  strategy is re-run with every bar *after* the cut perturbed — removed (``truncate``),
  prices scaled ×1.5 and volume ×0.5 (``scale``), prices multiplied by lognormal noise of
  5 % (``noise``, seed 0) and a third of the bars set missing (``missing``); aux series
  are perturbed alike. A causal strategy's signals and details at or before the cut do not
  change; any change is a ``fail`` naming the array, the first changed date and the
  perturbation.
- **survivorship**: the share of symbols whose data starts after the first bar (late
  listing) or ends before the last (delisting); the walk-forward on complete-history
  symbols only (the "survivor-free" mode) versus on all symbols, and — when membership
  intervals are supplied (``symbol, start_date, end_date``, end exclusive, as the bundled
  S&P 500 file of :mod:`harvester.data.universes`) — on a point-in-time universe where
  every symbol's bars outside its membership are removed. An annual Sharpe gap above 0.5
  between two of these runs is a ``warning``; a universe with no symbol ending early and no
  membership dates is a ``warning`` too (it may hold only survivors).
- **overfitting** (when an optimisation study is given: a dates × trials DataFrame of
  out-of-sample returns, or a folder with ``trial_returns.parquet``): the deflated Sharpe
  probability of the best trial given the number of trials, and the PBO by CSCV
  (``n_splits`` 16, fewer when the study is short). DSR probability < 0.95 and PBO > 0.5
  are each a ``fail``. Missing returns count as 0.
- **data snooping**: :func:`~harvester.research.statistics.snooping_warnings` on the
  walk-forward's closed trades, the sample's bars and the number of trials, as ``warning``.

Reports (:func:`write_bias_report`): ``bias_check.json`` (:func:`bias_payload`),
``bias_check.md`` and ``bias_check.html`` (the findings, the look-ahead perturbation table,
the survivorship runs, the DSR/PBO numbers and, with a study, the histogram of the CSCV
logits).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from harvester.analytics.metrics import infer_periods_per_year
from harvester.config.models import HarvesterConfig
from harvester.core.errors import DataError
from harvester.core.types import BoolArray, FloatArray
from harvester.data.panel import Panel
from harvester.research.folds import Fold
from harvester.research.per_fold import ProgressCallback
from harvester.research.report import (
    ReportTable,
    html_page,
    json_value,
    markdown_cell,
    markdown_table,
    png_figure,
    report_files,
)
from harvester.research.statistics import (
    deflated_sharpe_ratio,
    pbo_cscv,
    sharpe_ratio,
    snooping_warnings,
)
from harvester.research.walk_forward import WalkForwardResult, walk_forward
from harvester.strategies.base import Strategy, StrategyOutput
from harvester.strategies.registry import STRATEGIES

__all__ = [
    "PERTURBATIONS",
    "TRIAL_RETURNS_FILE",
    "BiasReport",
    "Finding",
    "Severity",
    "bias_check",
    "bias_html",
    "bias_markdown",
    "bias_payload",
    "look_ahead_findings",
    "mask_membership",
    "overfitting_findings",
    "survivorship_stats",
    "write_bias_report",
]

Severity = Literal["info", "warning", "fail"]
TRIAL_RETURNS_FILE = "trial_returns.parquet"
DSR_THRESHOLD = 0.95
PBO_THRESHOLD = 0.5
SHARPE_GAP = 0.5


@dataclass(frozen=True, slots=True)
class Finding:
    """One result of a check: its name, severity and a one-line message."""

    check: str
    severity: Severity
    message: str


@dataclass(frozen=True, slots=True)
class BiasReport:
    """Every finding and the numbers behind them (``details`` is JSON-ready; the CSCV
    logits of the PBO, when a study was checked, are kept for the report's histogram)."""

    strategy: str
    findings: tuple[Finding, ...]
    details: Mapping[str, Any] = field(default_factory=dict)
    pbo_logits: FloatArray | None = None

    @property
    def failed(self) -> bool:
        return any(f.severity == "fail" for f in self.findings)


# ---------------------------------------------------------------------------- look-ahead


def _scale(values: FloatArray, name: str, rng: np.random.Generator) -> FloatArray:
    del rng
    return values * (0.5 if name == "volume" else 1.5)


def _noise(values: FloatArray, name: str, rng: np.random.Generator) -> FloatArray:
    del name
    return values * np.exp(rng.normal(0.0, 0.05, values.shape))


def _missing(values: FloatArray, name: str, rng: np.random.Generator) -> FloatArray:
    del name
    out = values.copy()
    out[rng.random(values.shape[0]) < 1 / 3] = np.nan
    return out


Perturb = Callable[[FloatArray, str, np.random.Generator], FloatArray]
PERTURBATIONS: Mapping[str, Perturb | None] = {
    "truncate": None, "scale": _scale, "noise": _noise, "missing": _missing,
}  # fmt: skip


def _perturbed(panel: Panel, cut: int, perturb: Perturb) -> Panel:
    fields: dict[str, FloatArray] = {}
    for name, values in panel.fields.items():
        out = np.array(values, dtype=np.float64, copy=True)
        # The same random draws for every field keep OHLC bars consistent under noise.
        out[cut + 1 :] = perturb(out[cut + 1 :], name, np.random.default_rng(0))
        fields[name] = out
    aux: dict[str, FloatArray] = {}
    for name, series in panel.aux.items():
        out = np.array(series, dtype=np.float64, copy=True)
        out[cut + 1 :] = perturb(out[cut + 1 :], name, np.random.default_rng(1))
        aux[name] = out
    return replace(panel, fields=fields, aux=aux)


def _arrays(output: StrategyOutput) -> dict[str, FloatArray]:
    arrays = {
        f"signals.{k}": np.asarray(v, np.float64) for k, v in output.signals._asdict().items()
    }
    return arrays | {f"details.{k}": np.asarray(v, np.float64) for k, v in output.details.items()}


def _first_change(
    full: Mapping[str, FloatArray], other: Mapping[str, FloatArray], cut: int
) -> tuple[int, str] | None:
    first: tuple[int, str] | None = None
    for name, values in full.items():
        if name not in other:
            return (0, f"{name} (missing from the output)")
        a, b = values[: cut + 1], other[name][: cut + 1]
        if a.shape != b.shape:
            return (0, f"{name} (shape {b.shape} instead of {a.shape})")
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        if same.all():
            continue
        rows = same.reshape(same.shape[0], -1).all(axis=1)
        row = int(np.argmin(rows))
        if first is None or row < first[0]:
            first = (row, name)
    return first


def look_ahead_findings(
    panel: Panel,
    strategy: Strategy,
    config: HarvesterConfig,
    *,
    cuts: int = 3,
    on_step: Callable[[], None] | None = None,
) -> tuple[list[Finding], list[dict[str, Any]]]:
    """Re-run ``strategy`` with the bars after each cut perturbed; any change in its signals
    or details at or before the cut is a ``fail`` (see the module docstring). ``on_step``
    is called after every run of the strategy.
    """
    step = on_step or (lambda: None)
    configured = strategy.configure(config)
    full = _arrays(strategy.generate(panel, configured))
    step()
    n = panel.shape[0]
    positions = sorted({int(n * (k + 1) / (cuts + 1)) for k in range(cuts)} - {n - 1})
    findings: list[Finding] = []
    checks: list[dict[str, Any]] = []
    for cut in positions:
        date = panel.index[cut]
        for name, perturb in PERTURBATIONS.items():
            changed_panel = (
                panel.slice(end=date) if perturb is None else _perturbed(panel, cut, perturb)
            )
            try:
                other = _arrays(strategy.generate(changed_panel, configured))
                step()
            except Exception as e:
                step()
                findings.append(
                    Finding("look-ahead", "warning",
                            f"{name} after {date:%Y-%m-%d}: the strategy raised {e!r}")
                )  # fmt: skip
                checks.append({"cut": f"{date:%Y-%m-%d}", "perturbation": name, "error": str(e)})
                continue
            change = _first_change(full, other, cut)
            checks.append({
                "cut": f"{date:%Y-%m-%d}", "perturbation": name,
                "changed": None if change is None else change[1],
                "first_changed_date": None if change is None
                else f"{panel.index[change[0]]:%Y-%m-%d}",
            })  # fmt: skip
            if change is not None:
                row, array = change
                findings.append(
                    Finding(
                        "look-ahead", "fail",
                        f"{array} changes on {panel.index[row]:%Y-%m-%d} when the bars after "
                        f"{date:%Y-%m-%d} are perturbed ({name}): the strategy reads the future",
                    )
                )  # fmt: skip
    if not any(f.severity == "fail" for f in findings):
        dates = ", ".join(f"{panel.index[c]:%Y-%m-%d}" for c in positions)
        findings.append(
            Finding("look-ahead", "info",
                    f"no signal or detail changes at or before {len(positions)} cuts ({dates}) "
                    f"under {len(PERTURBATIONS)} perturbations of the later bars")
        )  # fmt: skip
    return findings, checks


# -------------------------------------------------------------------------- survivorship


def survivorship_stats(panel: Panel) -> dict[str, Any]:
    """Which symbols lack data at the start (late listing) or the end (early end)."""
    first, last = panel.first_valid_dates(), panel.last_valid_dates()
    start, end = panel.index[0], panel.index[-1]
    late = [s for s in panel.symbols if pd.isna(first[s]) or first[s] > start]
    early = [s for s in panel.symbols if pd.isna(last[s]) or last[s] < end]
    incomplete = sorted(set(late) | set(early))
    n = len(panel.symbols)
    return {
        "symbols": n,
        "late_start": late,
        "early_end": early,
        "incomplete": incomplete,
        "complete": [s for s in panel.symbols if s not in set(incomplete)],
        "share_late_start": len(late) / n if n else math.nan,
        "share_early_end": len(early) / n if n else math.nan,
        "share_incomplete": len(incomplete) / n if n else math.nan,
    }


def mask_membership(panel: Panel, membership: pd.DataFrame) -> Panel:
    """Remove every symbol's bars outside its membership intervals (``symbol, start_date,
    end_date``; end exclusive, empty end = still a member); symbols never a member go.
    """
    index = panel.index
    member = np.zeros(panel.shape, dtype=np.bool_)
    symbols = membership["symbol"].astype(str).tolist()
    starts = pd.to_datetime(membership["start_date"]).tolist()
    ends = pd.to_datetime(membership["end_date"]).tolist()
    for symbol, start, end in zip(symbols, starts, ends, strict=True):
        if symbol not in panel.symbols:
            continue
        inside = np.asarray(index >= start)
        if not pd.isna(end):
            inside &= np.asarray(index < end)
        member[:, panel.symbols.index(symbol)] |= inside
    fields = {k: np.where(member, v, np.nan) for k, v in panel.fields.items()}
    masked = replace(panel, fields=fields)
    present: BoolArray = np.any(member, axis=0)
    kept = [s for i, s in enumerate(panel.symbols) if present[i]]
    if not kept:
        raise DataError("no symbol of the data is a member at any date of the membership file")
    return masked.select(kept)


def _summary(result: WalkForwardResult) -> dict[str, float]:
    keys = ("sharpe", "total_return", "cagr", "max_drawdown", "number_of_trades")
    return {k: float(result.metrics[k]) for k in keys}


def _gap(a: float, b: float) -> float:
    return abs(a - b) if math.isfinite(a) and math.isfinite(b) else math.nan


def _survivorship(
    panel: Panel,
    strategy: Strategy,
    config: HarvesterConfig,
    folds: tuple[Fold, ...],
    base: WalkForwardResult,
    membership: pd.DataFrame | None,
    on_walk: Callable[[], None],
) -> tuple[list[Finding], dict[str, Any]]:
    stats = survivorship_stats(panel)
    findings = [
        Finding(
            "survivorship", "info",
            f"{len(stats['incomplete'])} of {stats['symbols']} symbols "
            f"({stats['share_incomplete']:.0%}) lack data at the start "
            f"({len(stats['late_start'])}) or the end ({len(stats['early_end'])}) of the sample",
        )
    ]  # fmt: skip
    runs: dict[str, dict[str, float]] = {"all": _summary(base)}
    if stats["incomplete"] and stats["complete"]:
        complete = walk_forward(panel.select(stats["complete"]), strategy, config, folds)
        runs["complete_history"] = _summary(complete)
        on_walk()
    if membership is not None:
        pit = walk_forward(mask_membership(panel, membership), strategy, config, folds)
        runs["point_in_time"] = _summary(pit)
        on_walk()
    elif not stats["early_end"]:
        findings.append(
            Finding("survivorship", "warning",
                    "no symbol's data ends before the sample does: the universe may hold only "
                    "survivors; supply membership dates for a point-in-time run")
        )  # fmt: skip
    for name in ("complete_history", "point_in_time"):
        if name in runs:
            gap = _gap(runs[name]["sharpe"], runs["all"]["sharpe"])
            severity: Severity = "warning" if gap > SHARPE_GAP else "info"
            findings.append(
                Finding("survivorship", severity,
                        f"Sharpe {runs[name]['sharpe']:.2f} on the {name.replace('_', '-')} "
                        f"universe vs {runs['all']['sharpe']:.2f} on all symbols "
                        f"(gap {gap:.2f}, flagged above {SHARPE_GAP})")
            )  # fmt: skip
    return findings, {**stats, "runs": runs}


# --------------------------------------------------------------------------- overfitting


def load_trial_returns(study: Path | pd.DataFrame) -> pd.DataFrame:
    """The dates × trials returns of a study: the DataFrame itself, or the folder's
    ``trial_returns.parquet`` (or that file's path).

    Raises
    ------
    DataError
        If the file is missing.
    """
    if isinstance(study, pd.DataFrame):
        return study
    path = study / TRIAL_RETURNS_FILE if study.is_dir() else study
    if not path.exists():
        raise DataError(
            f"{path} does not exist: point --study at the folder of an optimisation study "
            "(harvester optimize writes trial_returns.parquet there)"
        )
    return pd.read_parquet(path)


def _n_splits(rows: int, wanted: int = 16) -> int:
    splits = min(wanted, rows // 2)
    return splits - splits % 2


def overfitting_findings(
    trial_returns: pd.DataFrame, *, n_splits: int = 16
) -> tuple[list[Finding], dict[str, Any]]:
    """Deflated Sharpe probability of the best trial and PBO by CSCV (module docstring)."""
    findings, details, _ = _overfitting(trial_returns, n_splits=n_splits)
    return findings, details


def _overfitting(
    trial_returns: pd.DataFrame, *, n_splits: int = 16
) -> tuple[list[Finding], dict[str, Any], FloatArray | None]:
    matrix = trial_returns.to_numpy(dtype=np.float64, na_value=np.nan)
    matrix = np.where(np.isfinite(matrix), matrix, 0.0)
    n_rows, n_trials = matrix.shape
    if n_trials < 2 or n_rows < 4:
        message = f"study has {n_trials} trials × {n_rows} dates: too small for DSR and PBO"
        return [Finding("overfitting", "warning", message)], {"trials": n_trials}, None
    sharpes = np.array([sharpe_ratio(matrix[:, j], 1) for j in range(n_trials)])
    ranked = np.where(np.isfinite(sharpes), sharpes, -np.inf)
    best = int(np.argmax(ranked))
    finite = sharpes[np.isfinite(sharpes)]
    dsr = deflated_sharpe_ratio(
        matrix[:, best], n_trials, trial_sharpe_variance=float(np.var(finite, ddof=1))
        if finite.size > 1 else 0.0,
    )  # fmt: skip
    splits = _n_splits(n_rows, n_splits)
    pbo = pbo_cscv(matrix, n_splits=splits)
    best_name = str(trial_returns.columns[best])
    findings = [
        Finding(
            "overfitting", "fail" if not dsr.probability >= DSR_THRESHOLD else "info",
            f"deflated Sharpe probability of the best of {n_trials} trials ({best_name}) is "
            f"{dsr.probability:.3f} (flagged below {DSR_THRESHOLD})",
        ),
        Finding(
            "overfitting", "fail" if pbo.pbo > PBO_THRESHOLD else "info",
            f"probability of backtest overfitting (CSCV, {splits} splits) is {pbo.pbo:.3f} "
            f"(flagged above {PBO_THRESHOLD})",
        ),
    ]  # fmt: skip
    details = {
        "trials": n_trials, "dates": n_rows, "best_trial": best_name,
        "best_sharpe_per_period": dsr.sharpe, "expected_max_sharpe": dsr.expected_max_sharpe,
        "dsr_probability": dsr.probability, "psr_zero": dsr.psr_zero,
        "pbo": pbo.pbo, "n_splits": splits,
    }  # fmt: skip
    return findings, details, pbo.logits


# ------------------------------------------------------------------------------- the run


@dataclass(slots=True)
class _Steps:
    """Counts the strategy runs of a bias check for a progress callback."""

    total: int
    callback: ProgressCallback | None
    done: int = 0

    def step(self, n: int = 1) -> None:
        self.done = min(self.done + n, self.total)
        if self.callback is not None:
            self.callback(self.done, self.total)


def _total_steps(panel: Panel, folds: int, cuts: int, membership: bool) -> int:
    stats = survivorship_stats(panel)
    walks = 1 + int(bool(stats["incomplete"] and stats["complete"])) + int(membership)
    return 1 + cuts * len(PERTURBATIONS) + walks * folds


def bias_check(
    panel: Panel,
    strategy: str | Strategy,
    config: HarvesterConfig,
    *,
    cuts: int = 3,
    folds: tuple[Fold, ...],
    study_dir: Path | pd.DataFrame | None = None,
    membership: pd.DataFrame | None = None,
    on_progress: ProgressCallback | None = None,
) -> BiasReport:
    """Run every bias check on ``strategy`` over ``panel`` (see the module docstring).
    ``on_progress(done, total)`` hears of every strategy run (look-ahead runs count one
    each, walk-forwards one per fold).

    Raises
    ------
    ConfigError
        On an unknown strategy or a bad fold plan.
    DataError
        If ``study_dir`` has no ``trial_returns.parquet``.
    """
    resolved = STRATEGIES[strategy] if isinstance(strategy, str) else strategy
    steps = _Steps(_total_steps(panel, len(folds), cuts, membership is not None), on_progress)
    findings, checks = look_ahead_findings(panel, resolved, config, cuts=cuts, on_step=steps.step)
    base = walk_forward(panel, resolved, config, folds)
    steps.step(len(folds))
    survivor, survivorship = _survivorship(
        panel, resolved, config, folds, base, membership, on_walk=lambda: steps.step(len(folds))
    )
    findings += survivor
    details: dict[str, Any] = {"look_ahead": checks, "survivorship": survivorship}
    n_trials = 1
    logits = None
    if study_dir is not None:
        trials = load_trial_returns(study_dir)
        overfit, details["overfitting"], logits = _overfitting(trials)
        findings += overfit
        n_trials = max(1, trials.shape[1])
    n_trades = int(base.metrics["number_of_trades"])
    periods = infer_periods_per_year(panel.index)
    for warning in snooping_warnings(n_trades, panel.shape[0], n_trials, periods):
        findings.append(Finding("data-snooping", "warning", warning))
    details["walk_forward"] = {k: float(v) for k, v in base.metrics.items()}
    steps.step(steps.total)
    return BiasReport(resolved.name, tuple(findings), details, logits)


def bias_payload(report: BiasReport, *, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON document of a bias check (NaN and inf are ``null``)."""
    return {
        "strategy": report.strategy,
        "failed": report.failed,
        "findings": [
            {"check": f.check, "severity": f.severity, "message": f.message}
            for f in report.findings
        ],
        "details": json_value(dict(report.details)),
        "extra": json_value(dict(extra or {})),
    }


def _title(payload: Mapping[str, Any]) -> str:
    verdict = "FAILED" if payload["failed"] else "passed"
    return f"Bias check of {payload['strategy']}: {verdict}"


_FINDINGS_HEADER = ("check", "severity", "finding")


def _finding_rows(payload: Mapping[str, Any]) -> list[list[str]]:
    return [[f["check"], f["severity"], f["message"]] for f in payload["findings"]]


def bias_markdown(payload: Mapping[str, Any]) -> str:
    """The Markdown report of a ``bias_payload`` document."""
    table = markdown_table(_FINDINGS_HEADER, _finding_rows(payload))
    return f"# {_title(payload)}\n\n{table}\n"


def _detail_tables(details: Mapping[str, Any]) -> list[ReportTable]:
    checks = details.get("look_ahead", [])
    look = [
        [c["cut"], c["perturbation"], markdown_cell(c.get("changed")),
         markdown_cell(c.get("first_changed_date")), markdown_cell(c.get("error"))]
        for c in checks
    ]  # fmt: skip
    tables: list[ReportTable] = [
        ("Look-ahead perturbations", ["cut", "perturbation", "changed", "first changed", "error"],
         look),
    ]  # fmt: skip
    runs = details.get("survivorship", {}).get("runs", {})
    if runs:
        keys = list(next(iter(runs.values())))
        rows = [[name, *(markdown_cell(run.get(k)) for k in keys)] for name, run in runs.items()]
        tables.append(("Survivorship runs (walk-forward)", ["universe", *keys], rows))
    overfitting = details.get("overfitting")
    if overfitting:
        rows = [[k, markdown_cell(v)] for k, v in overfitting.items()]
        tables.append(("Overfitting: deflated Sharpe ratio and PBO", ["item", "value"], rows))
    return tables


def _logit_figure(logits: FloatArray) -> str:
    def draw(axes: Any) -> None:
        axes.hist(logits[np.isfinite(logits)], bins=40, color="tab:blue", alpha=0.7)
        axes.axvline(0.0, color="red", linewidth=1.0)
        axes.set_xlabel("logit of the in-sample best trial's out-of-sample rank")

    return png_figure(draw, title="CSCV logits (PBO = share at or left of the red line)")


def bias_html(payload: Mapping[str, Any], report: BiasReport) -> str:
    """The HTML report: findings, look-ahead perturbations, survivorship runs, DSR/PBO
    numbers and, when a study was checked, the histogram of the CSCV logits."""
    figures = []
    if report.pbo_logits is not None and report.pbo_logits.size:
        figures.append(("PBO logit distribution", _logit_figure(report.pbo_logits)))
    tables = [
        ("Findings", _FINDINGS_HEADER, _finding_rows(payload)),
        *_detail_tables(payload["details"]),
    ]
    return html_page(_title(payload), figures=figures, tables=tables)


def write_bias_report(
    report: BiasReport, out_dir: Path, *, extra: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], list[Path]]:
    """Write ``bias_check.json``, ``bias_check.md`` and ``bias_check.html``; return the JSON
    document and the paths."""
    payload = bias_payload(report, extra=extra)
    html_text = lambda: bias_html(payload, report)  # noqa: E731
    return payload, report_files(out_dir, "bias_check", payload, bias_markdown(payload), html_text)
