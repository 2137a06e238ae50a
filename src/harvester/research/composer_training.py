"""Composer "Level 2": the regime weights tuned per asset class, judged out of sample.

The Composer spec's second level searches the softmax logits ``w_<regime>_<strategy>`` of
``strategies.composer`` and the blend ``composer.temperature`` separately for each asset
class (crypto, ETF, equity), because what works for Bitcoin need not work for SPY.
:func:`train_composer`

1. groups the panel's symbols by asset class (``panel.meta[symbol].asset_class``: detected
   from the symbol or given by the data's metadata);
2. for every class with symbols, runs one Optuna study with
   :func:`~harvester.research.optimize.optimize` on that class's **sub-panel only** (same
   bars, same folds), over :func:`composer_weight_space` of the class: the logits of the
   strategies eligible for it (crypto: momentum, mean reversion, breakout; ETF: no
   breakout; equity: no mean reversion — an ineligible strategy's logit cannot change the
   blend) and the temperature; every trial is scored on the walk-forward's stitched
   out-of-sample metrics (default objective: the spec's composite score);
3. keeps each class's best trial.

Each class's study gets its own sampler seed, :func:`class_seed`: the run's ``seed`` plus
the class's index in the fixed order of :data:`~harvester.domain.asset_class.ASSET_CLASSES`
(crypto 0, etf 1, equity 2). The seed of a class is thus the same in every run with the same
``seed`` (whichever classes are trained), and two classes whose spaces have the same number
of parameters (ETF and equity) do not draw the same trial values.

:func:`write_training_report` writes, per trained class, ``composer_<class>.json`` — the
best trial's keys as a nested config document: ``--config composer_etf.json`` (with the
same profile and ``--set`` flags as the training run) reproduces the trial when run on
that class's symbols — and ``trials_<class>.csv``; for the whole run ``composer_weights.json``
(the JSON report, stable keys: :data:`PAYLOAD_KEYS`, i.e. ``strategy``, ``objective{}``,
``plan{}``, ``data_fingerprint``, ``classes{<class>: {symbols, study, storage, seed, space,
trials{}, best{}, config_file}}``, ``skipped[]``, ``extra{}``), ``train_composer.md`` and
``train_composer.html`` (per class: the optimisation history — every trial's objective and
the running best — and a heatmap of the best regime × strategy logits, then the tables).

The config system has no per-asset-class section for ``strategies.composer``, so the weights
of each class live in their own file; a run over several classes picks the file per class.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError
from harvester.data.panel import Panel
from harvester.domain.asset_class import ASSET_CLASSES, AssetClass
from harvester.research.folds import Fold
from harvester.research.objective import Objective
from harvester.research.optimize import (
    SUMMARY_METRICS,
    OptimizeResult,
    SamplerName,
    TrialRecord,
    optimize,
)
from harvester.research.optimize_report import history_figure
from harvester.research.report import (
    Figure,
    ReportTable,
    html_page,
    json_value,
    markdown_cell,
    markdown_table,
    png_figure,
    write_text,
)
from harvester.research.spaces import Param, SearchSpace
from harvester.strategies._composer_blend import ASSET_CLASS_STRATEGIES, BASE_STRATEGIES

if TYPE_CHECKING:
    import optuna
    from matplotlib.axes import Axes

__all__ = [
    "PAYLOAD_KEYS",
    "REGIMES",
    "ClassTraining",
    "ClassTrialCallback",
    "ComposerTraining",
    "class_seed",
    "composer_weight_space",
    "group_by_asset_class",
    "train_composer",
    "training_html",
    "training_markdown",
    "training_payload",
    "write_training_report",
]

REGIMES: tuple[str, ...] = ("trend", "chop", "volatile", "neutral")
"""The rule regimes that own a row of Composer logits (``w_<regime>_<strategy>``)."""

WEIGHT_RANGE: tuple[float, float] = (-1.0, 3.0)
TEMPERATURE_RANGE: tuple[float, float] = (0.25, 4.0)

PAYLOAD_KEYS: tuple[str, ...] = (
    "strategy", "objective", "plan", "data_fingerprint", "classes", "skipped", "extra",
)  # fmt: skip
"""The top-level keys of ``composer_weights.json``, in order (stable)."""

ClassTrialCallback = Callable[[AssetClass, TrialRecord], None]
"""Called after every trial with the asset class whose study it belongs to."""


def composer_weight_space(
    asset_class: AssetClass,
    *,
    eligible: Sequence[str] = BASE_STRATEGIES,
    weights: tuple[float, float] = WEIGHT_RANGE,
    temperature: tuple[float, float] = TEMPERATURE_RANGE,
) -> SearchSpace:
    """The Level-2 space of ``asset_class``: a float logit per regime for each strategy
    eligible for the class (and in ``eligible``, i.e. ``composer.eligible_strategies``), and
    a log-scale temperature.

    Raises
    ------
    ConfigError
        When no strategy is eligible for the class.
    """
    allowed = [s for s in BASE_STRATEGIES if s in ASSET_CLASS_STRATEGIES[asset_class]]
    allowed = [s for s in allowed if s in eligible]
    if not allowed:
        raise ConfigError(
            f"train-composer: no strategy is eligible for asset class {asset_class} "
            "(check composer.eligible_strategies)"
        )
    low, high = weights
    logits = tuple(
        Param(f"strategies.composer.w_{regime}_{strategy}", "float", low, high)
        for regime in REGIMES
        for strategy in allowed
    )
    return (*logits, Param("composer.temperature", "log", *temperature))


def class_seed(seed: int | None, asset_class: AssetClass) -> int | None:
    """The sampler seed of ``asset_class``'s study: ``seed`` plus the class's index in
    :data:`~harvester.domain.asset_class.ASSET_CLASSES` (None stays None: unseeded)."""
    return None if seed is None else seed + ASSET_CLASSES.index(asset_class)


def group_by_asset_class(panel: Panel) -> dict[AssetClass, tuple[str, ...]]:
    """The panel's symbols per asset class, in panel order; classes without symbols left out."""
    groups: dict[AssetClass, tuple[str, ...]] = {}
    for asset_class in ASSET_CLASSES:
        members = tuple(s for s in panel.symbols if panel.meta[s].asset_class == asset_class)
        if members:
            groups[asset_class] = members
    return groups


@dataclass(frozen=True, slots=True)
class ClassTraining:
    """One asset class's study: the symbols it saw and its result."""

    asset_class: AssetClass
    symbols: tuple[str, ...]
    result: OptimizeResult

    @property
    def config_file(self) -> str:
        return f"composer_{self.asset_class}.json"

    def best_document(self) -> dict[str, Any]:
        """The best trial's keys as a nested config document (empty when none completed)."""
        return self.result.best_overrides()


@dataclass(frozen=True, slots=True)
class ComposerTraining:
    """A finished Level-2 training: one study per asset class with symbols."""

    classes: tuple[ClassTraining, ...]
    skipped: tuple[AssetClass, ...]
    objective: Objective
    data_fingerprint: str
    plan: Mapping[str, object]

    def by_class(self) -> dict[AssetClass, ClassTraining]:
        return {c.asset_class: c for c in self.classes}


def train_composer(
    panel: Panel,
    config: HarvesterConfig,
    *,
    objective: Objective,
    n_trials: int,
    folds: tuple[Fold, ...],
    classes: Sequence[str] | None = None,
    sampler: SamplerName = "tpe",
    seed: int | None = 0,
    storage: str | optuna.storages.BaseStorage | None = None,
    study_prefix: str | None = None,
    plan: Mapping[str, object] | None = None,
    on_trial: ClassTrialCallback | None = None,
) -> ComposerTraining:
    """Tune Composer's regime logits and temperature per asset class (module docstring).

    ``classes`` limits the run to those classes (default: every class with symbols); a
    named class without symbols is an error. Each class's sampler is seeded with
    :func:`class_seed` of ``seed``. With ``study_prefix`` each class's study is
    ``<prefix>-<class>`` in ``storage`` (resumable); without it, fresh names.

    Raises
    ------
    ConfigError
        On an unknown class, a requested class with no symbols in the data, or anything
        :func:`~harvester.research.optimize.optimize` rejects.
    """
    groups = group_by_asset_class(panel)
    wanted = _wanted(classes, groups)
    trained = []
    for asset_class in wanted:
        symbols = groups[asset_class]

        def report(record: TrialRecord, asset_class: AssetClass = asset_class) -> None:
            if on_trial is not None:
                on_trial(asset_class, record)

        result = optimize(
            panel.select(symbols), "composer", config,
            space=composer_weight_space(
                asset_class, eligible=config.composer.eligible_strategies
            ),
            objective=objective, n_trials=n_trials, folds=folds, sampler=sampler,
            seed=class_seed(seed, asset_class),
            storage=storage,
            study_name=None if study_prefix is None else f"{study_prefix}-{asset_class}",
            plan=plan, on_trial=report,
        )  # fmt: skip
        trained.append(ClassTraining(asset_class, symbols, result))
    return ComposerTraining(
        classes=tuple(trained),
        skipped=tuple(c for c in ASSET_CLASSES if c not in wanted),
        objective=objective,
        data_fingerprint=panel.fingerprint(),
        plan=dict(plan or {}),
    )


def _wanted(
    classes: Sequence[str] | None, groups: Mapping[AssetClass, tuple[str, ...]]
) -> list[AssetClass]:
    if classes is None:
        if not groups:
            raise ConfigError("train-composer: the data has no symbols")
        return list(groups)
    wanted: list[AssetClass] = []
    for name in classes:
        match = next((c for c in ASSET_CLASSES if c == name), None)
        if match is None:
            raise ConfigError(
                f"unknown asset class {name!r}; choose from {', '.join(ASSET_CLASSES)}"
            )
        if match not in groups:
            found = ", ".join(f"{c} ({len(s)})" for c, s in groups.items()) or "none"
            raise ConfigError(
                f"asset class {match} has no symbols in the data (classes found: {found})"
            )
        if match not in wanted:
            wanted.append(match)
    return wanted


# --- reports -------------------------------------------------------------------------------


def _class_json(trained: ClassTraining) -> dict[str, Any]:
    result = trained.result
    counts = {s: sum(t.state == s for t in result.trials) for s in ("complete", "pruned", "fail")}
    best = result.best
    best_doc = None
    if best is not None:
        best_doc = {
            "number": best.number, "value": best.value, "params": dict(best.params),
            "overrides": trained.best_document(), "metrics": dict(best.metrics),
        }  # fmt: skip
    document: dict[str, Any] = json_value(
        {
            "symbols": list(trained.symbols),
            "study": result.study_name,
            "storage": result.storage,
            "seed": result.seed,
            "space": [p.describe() for p in result.space],
            "trials": {"total": len(result.trials), **counts},
            "best": best_doc,
            "config_file": trained.config_file if best is not None else None,
        }
    )
    return document


def training_payload(
    training: ComposerTraining, *, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The ``composer_weights.json`` document (module docstring for its keys)."""
    return {
        "strategy": "composer",
        "objective": training.objective.describe(),
        "plan": json_value(dict(training.plan)),
        "data_fingerprint": training.data_fingerprint,
        "classes": {c.asset_class: _class_json(c) for c in training.classes},
        "skipped": list(training.skipped),
        "extra": json_value(dict(extra or {})),
    }


def _summary_table(payload: Mapping[str, Any]) -> ReportTable:
    header = ["class", "symbols", "trials", "seed", "best trial", "value", *SUMMARY_METRICS,
              "config"]  # fmt: skip
    rows = []
    for name, doc in payload["classes"].items():
        best = doc["best"] or {}
        metrics = best.get("metrics", {})
        rows.append([
            name, str(len(doc["symbols"])), str(doc["trials"]["total"]), markdown_cell(doc["seed"]),
            markdown_cell(best.get("number")), markdown_cell(best.get("value")),
            *(markdown_cell(metrics.get(k)) for k in SUMMARY_METRICS),
            f"`{doc['config_file']}`" if doc["config_file"] else "-",
        ])  # fmt: skip
    return ("Best out-of-sample result per asset class", header, rows)


def _weights(params: Mapping[str, Any]) -> tuple[list[str], list[list[float]]]:
    """The best logits as a regime × strategy grid: the strategies searched, one row per
    regime (NaN where a strategy has no logit)."""
    key = "strategies.composer.w_{}_{}"
    strategies: list[str] = [
        s for s in BASE_STRATEGIES if any(key.format(r, s) in params for r in REGIMES)
    ]
    grid = [[float(params.get(key.format(r, s), math.nan)) for s in strategies] for r in REGIMES]
    return strategies, grid


def _weights_table(name: str, params: Mapping[str, Any]) -> ReportTable:
    strategies, grid = _weights(params)
    rows = [
        [regime, *(markdown_cell(v) for v in row)]
        for regime, row in zip(REGIMES, grid, strict=True)
    ]
    temperature = markdown_cell(params.get("composer.temperature"))
    title = f"{name}: best regime × strategy logits (temperature {temperature})"
    return (title, ["regime", *strategies], rows)


def _weights_figure(name: str, params: Mapping[str, Any]) -> str:
    strategies, grid = _weights(params)

    def draw(axes: Axes) -> None:
        image = axes.imshow(grid, cmap="RdYlGn", aspect="auto")
        axes.set_xticks(range(len(strategies)), strategies)
        axes.set_yticks(range(len(REGIMES)), REGIMES)
        for i, row in enumerate(grid):
            for j, value in enumerate(row):
                axes.text(j, i, markdown_cell(value), ha="center", va="center")
        axes.figure.colorbar(image, ax=axes, label="logit")

    return png_figure(draw, title=f"{name}: best Composer logits (regime × strategy)")


def training_markdown(payload: Mapping[str, Any]) -> str:
    """``train_composer.md``: per class, the best out-of-sample result and its weights."""
    objective = payload["objective"]
    name, header, rows = _summary_table(payload)
    lines = [
        f"# Composer Level-2 weights per asset class: {objective['name']} "
        f"({objective['direction']}), out of sample",
        "",
        f"- plan: {', '.join(f'{k} {v}' for k, v in payload['plan'].items()) or '-'}",
        f"- not trained (no symbols or not asked for): {', '.join(payload['skipped']) or '-'}",
        "",
        markdown_table(header, rows),
    ]
    for name, doc in payload["classes"].items():
        lines += ["", f"## {name}: {', '.join(doc['symbols'])}", ""]
        if doc["best"] is None:
            lines.append("No trial completed.")
            continue
        lines += ["| parameter | best value |", "| --- | --- |"]
        lines += [f"| {k} | {markdown_cell(v)} |" for k, v in doc["best"]["params"].items()]
    return "\n".join(lines) + "\n"


def training_html(payload: Mapping[str, Any], training: ComposerTraining) -> str:
    """``train_composer.html``: per class, the optimisation history (every trial's objective
    and the running best) and a heatmap of the best regime × strategy logits; then the
    summary table and each class's logits table."""
    objective = payload["objective"]
    notes = [
        f"plan: {', '.join(f'{k} {v}' for k, v in payload['plan'].items()) or '-'}",
        f"not trained (no symbols or not asked for): {', '.join(payload['skipped']) or '-'}",
        "each class's sampler seed is the run's seed plus the class's index "
        f"({', '.join(ASSET_CLASSES)})",
    ]
    figures: list[Figure] = []
    tables = [_summary_table(payload)]
    for trained in training.classes:
        name = trained.asset_class
        if trained.result.completed:
            figures.append((f"{name}: optimisation history", history_figure(trained.result)))
        best = payload["classes"][name]["best"]
        if best is not None:
            figures.append((f"{name}: best weights", _weights_figure(name, best["params"])))
            tables.append(_weights_table(name, best["params"]))
    title = (
        f"Composer Level-2 weights per asset class: {objective['name']} "
        f"({objective['direction']}), out of sample"
    )
    return html_page(title, notes=notes, figures=figures, tables=tables)


def write_training_report(
    training: ComposerTraining, out_dir: Path, *, extra: Mapping[str, Any] | None = None
) -> list[Path]:
    """Write ``composer_<class>.json`` and ``trials_<class>.csv`` per trained class, then
    ``composer_weights.json``, ``train_composer.md`` and ``train_composer.html``; return the
    paths."""
    written: list[Path] = []
    for trained in training.classes:
        if trained.result.best is not None:
            document = json.dumps(trained.best_document(), indent=2) + "\n"
            written.append(write_text(out_dir / trained.config_file, document))
        table = trained.result.trials_table().to_csv(index=False)
        written.append(write_text(out_dir / f"trials_{trained.asset_class}.csv", table))
    payload = training_payload(training, extra=extra)
    written.append(
        write_text(out_dir / "composer_weights.json", json.dumps(payload, indent=2) + "\n")
    )
    written.append(write_text(out_dir / "train_composer.md", training_markdown(payload)))
    html_text = training_html(payload, training)
    written.append(write_text(out_dir / "train_composer.html", html_text))
    return written
