"""A/B tests: two configs of one strategy on identical data and folds, and whether B is better.

``ab_test(panel, strategy, config_a, config_b, folds)`` walks both variants forward over the
same folds (:func:`harvester.research.walk_forward.walk_forward`) and compares them:

- each side's overall metrics (of its stitched out-of-sample equity) and B − A per metric;
- on the *paired* stitched out-of-sample daily returns (same dates for both sides): the
  paired block-bootstrap interval of Sharpe(B) − Sharpe(A)
  (:func:`~harvester.research.statistics.bootstrap_sharpe_difference`) and the
  Jobson–Korkie–Memmel p-value (:func:`~harvester.research.statistics.sharpe_difference_test`);
- the share of folds whose Sharpe ratio is higher for B than for A (ties count for neither);
- where the strategy's details hold a ``conviction`` array (Panic's Bayesian conviction),
  the Pearson correlation, for each side, of the conviction at every closed trade's
  entry-decision bar (the bar before the entry fill with ``execution.fill = next_open``,
  the entry bar with ``close``) with the trade's return; NaN when there is no conviction
  or fewer than three trades with one;
- the verdict of :func:`~harvester.research.statistics.verdict`: "B significantly better",
  "B significantly worse" or "no significant difference".

Reports (:func:`write_ab_report`): ``ab_test.json`` (:func:`ab_payload`), ``ab_test.md`` and
``ab_test.html`` (both variants' stitched out-of-sample equity curves and the bootstrap
distribution of Sharpe(B) − Sharpe(A) with its confidence interval marked).

Variants are built with :func:`layer_config` (a JSON layer, e.g. from ``--a FILE``, merged
on the base config) and :func:`toggle_config` (B = A with one boolean flipped).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from harvester.analytics.metrics import infer_periods_per_year
from harvester.config.layers import Layer, check_keys, merge, read_json_layer
from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError
from harvester.core.types import FloatArray
from harvester.data.panel import Panel
from harvester.research.folds import Fold
from harvester.research.per_fold import ProgressCallback, counting
from harvester.research.report import (
    equity_figure,
    html_page,
    json_value,
    markdown_cell,
    markdown_table,
    png_figure,
    report_files,
)
from harvester.research.statistics import (
    BootstrapResult,
    SharpeDifferenceTest,
    bootstrap_sharpe_difference,
    sharpe_difference_test,
    verdict,
)
from harvester.research.walk_forward import (
    ChooseConfig,
    WalkForwardResult,
    keep_config,
    walk_forward,
)
from harvester.strategies.base import Strategy
from harvester.strategies.registry import STRATEGIES

__all__ = [
    "SUMMARY_KEYS",
    "ABResult",
    "ab_html",
    "ab_markdown",
    "ab_payload",
    "ab_test",
    "conviction_correlation",
    "layer_config",
    "oos_returns",
    "toggle_config",
    "write_ab_report",
]

_OPEN = "open"
SUMMARY_KEYS = (
    "total_return", "cagr", "sharpe", "sortino", "max_drawdown", "annual_volatility",
    "win_rate", "number_of_trades", "average_trade_return", "exposure",
)  # fmt: skip


# ------------------------------------------------------------------------------ variants


def layer_config(base: HarvesterConfig, layer: Mapping[str, Any] | Path) -> HarvesterConfig:
    """Return ``base`` with ``layer`` (a nested mapping or a config JSON file) merged on top.

    Raises
    ------
    ConfigError
        On an unreadable file, an unknown key or an invalid value (the message names it).
    """
    if isinstance(layer, Path):
        values = dict(read_json_layer(layer, source=str(layer)).values)
    else:
        values = dict(layer)
    source = str(layer) if isinstance(layer, Path) else "variant"
    check_keys(Layer(source, values), HarvesterConfig)
    try:
        return HarvesterConfig.model_validate(merge(base.model_dump(), values))
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"variant {layer}: key {where!r}: {first['msg']}") from None


def toggle_config(base: HarvesterConfig, key: str) -> HarvesterConfig:
    """Return ``base`` with the boolean at dotted ``key`` (e.g. ``bayesian.enabled``) flipped.

    Raises
    ------
    ConfigError
        If ``key`` does not name a boolean setting.
    """
    node: Any = base.model_dump()
    parts = key.split(".")
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(f"--toggle {key}: no such config key; e.g. bayesian.enabled")
        node = node[part]
    if not isinstance(node, bool):
        raise ConfigError(
            f"--toggle {key}: the value is {node!r}, not a boolean; use --a/--b config files"
        )
    nested: dict[str, Any] = {parts[-1]: not node}
    for part in reversed(parts[:-1]):
        nested = {part: nested}
    return layer_config(base, nested)


# ------------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class ABResult:
    """Both walk-forwards and the statistics comparing them (B − A everywhere)."""

    strategy: str
    a: WalkForwardResult
    b: WalkForwardResult
    differences: Mapping[str, float]
    bootstrap: BootstrapResult
    test: SharpeDifferenceTest
    folds_b_better: float
    conviction: Mapping[str, float]
    verdict: str
    n_observations: int

    @property
    def sharpe_difference(self) -> float:
        """Annualised Sharpe(B) − Sharpe(A) of the paired out-of-sample returns."""
        return self.bootstrap.difference


def oos_returns(result: WalkForwardResult) -> pd.Series:
    """Daily returns of the stitched out-of-sample equity (the first bar dropped)."""
    returns: pd.Series = result.equity.pct_change().iloc[1:].rename("return")
    return returns


def _differences(a: Mapping[str, float], b: Mapping[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key in a:
        if key in b:
            va, vb = float(a[key]), float(b[key])
            same = va == vb or (math.isnan(va) and math.isnan(vb))
            out[key] = 0.0 if same else vb - va  # equal values, NaN too, differ by 0
    return out


def _fold_share(a: WalkForwardResult, b: WalkForwardResult) -> float:
    sharpe_a = [float(f.metrics["sharpe"]) for f in a.folds]
    sharpe_b = [float(f.metrics["sharpe"]) for f in b.folds]
    wins = sum(1 for x, y in zip(sharpe_a, sharpe_b, strict=True) if np.isfinite(y) and not y <= x)
    return wins / len(sharpe_a) if sharpe_a else math.nan


def conviction_correlation(
    panel: Panel, strategy: Strategy, config: HarvesterConfig, result: WalkForwardResult
) -> float:
    """Pearson correlation of conviction at each closed trade's entry-decision bar with the
    trade's return; NaN without a ``conviction`` detail or with fewer than three such trades.

    The strategy is causal, so its details on the whole panel equal, at every bar, those it
    produced on each fold's history.
    """
    configured = strategy.configure(config)
    details = strategy.generate(panel, configured).details
    if "conviction" not in details:
        return math.nan
    conviction: FloatArray = np.asarray(details["conviction"], dtype=np.float64)
    trades = result.trades()
    closed = trades[trades["exit_reason"] != _OPEN]
    if closed.empty:
        return math.nan
    lag = 1 if configured.execution.fill == "next_open" else 0
    rows = panel.index.get_indexer(pd.DatetimeIndex(closed["entry_time"])) - lag
    cols = np.array([panel.symbols.index(s) for s in closed["symbol"]], dtype=np.int64)
    ok = rows >= 0
    values = conviction[rows[ok], cols[ok]]
    outcome = closed["return"].to_numpy(dtype=np.float64)[ok]
    finite = np.isfinite(values) & np.isfinite(outcome)
    if finite.sum() < 3 or np.ptp(values[finite]) == 0 or np.ptp(outcome[finite]) == 0:
        return math.nan
    return float(np.corrcoef(values[finite], outcome[finite])[0, 1])


def ab_test(
    panel: Panel,
    strategy: str | Strategy,
    config_a: HarvesterConfig,
    config_b: HarvesterConfig,
    folds: tuple[Fold, ...],
    *,
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
    plan: Mapping[str, object] | None = None,
    on_progress: ProgressCallback | None = None,
) -> ABResult:
    """Walk variants A and B of ``strategy`` forward over the same ``folds`` of ``panel``
    and compare them (see the module docstring). ``on_progress(done, total)`` hears of
    every fold of both runs (``total`` = 2 × folds).

    Raises
    ------
    ConfigError
        On an unknown strategy or a bad fold plan (as ``walk_forward``).
    DataError
        If the out-of-sample returns have fewer than three bars.
    """
    resolved = STRATEGIES[strategy] if isinstance(strategy, str) else strategy
    total = 2 * len(folds)

    def hook(offset: int) -> ChooseConfig:
        if on_progress is None:
            return keep_config
        return counting(total, lambda done, _: on_progress(offset + done, total))

    a = walk_forward(panel, resolved, config_a, folds, plan=plan, choose_config=hook(0))
    b = walk_forward(panel, resolved, config_b, folds, plan=plan, choose_config=hook(len(folds)))
    if on_progress is not None:
        on_progress(total, total)
    ra, rb = oos_returns(a), oos_returns(b)
    periods = infer_periods_per_year(panel.index)
    boot = bootstrap_sharpe_difference(
        ra.to_numpy(), rb.to_numpy(), n_boot=n_boot, seed=seed, alpha=alpha,
        periods_per_year=periods,
    )  # fmt: skip
    test = sharpe_difference_test(ra.to_numpy(), rb.to_numpy())
    conviction = {
        "a": conviction_correlation(panel, resolved, config_a, a),
        "b": conviction_correlation(panel, resolved, config_b, b),
    }
    return ABResult(
        strategy=resolved.name,
        a=a,
        b=b,
        differences=_differences(a.metrics, b.metrics),
        bootstrap=boot,
        test=test,
        folds_b_better=_fold_share(a, b),
        conviction=conviction,
        verdict=verdict(test.p_value, boot.ci, alpha),
        n_observations=int(ra.size),
    )


# ------------------------------------------------------------------------------- reports


def ab_payload(result: ABResult, *, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON document of an A/B test (stable keys; NaN and inf are ``null``)."""
    boot, test = result.bootstrap, result.test
    return {
        "strategy": result.strategy,
        "verdict": result.verdict,
        "data_fingerprint": result.a.data_fingerprint,
        "config_hash": {"a": result.a.config_hash, "b": result.b.config_hash},
        "plan": {k: json_value(v) for k, v in result.a.plan.items()},
        "folds": len(result.a.folds),
        "n_observations": result.n_observations,
        "metrics": {
            "a": {k: json_value(v) for k, v in result.a.metrics.items()},
            "b": {k: json_value(v) for k, v in result.b.metrics.items()},
            "difference": {k: json_value(v) for k, v in result.differences.items()},
        },
        "sharpe_difference": {
            "difference": json_value(boot.difference),
            "ci": [json_value(boot.ci[0]), json_value(boot.ci[1])],
            "standard_error": json_value(boot.standard_error),
            "bootstrap": {
                "draws": int(boot.draws.size),
                "block": boot.block,
                "method": boot.method,
            },
            "z": json_value(test.z),
            "p_value": json_value(test.p_value),
            "correlation": json_value(test.correlation),
        },
        "folds_b_better": json_value(result.folds_b_better),
        "conviction_correlation": {k: json_value(v) for k, v in result.conviction.items()},
        "extra": {k: json_value(v) for k, v in (extra or {}).items()},
    }


def _notes(payload: Mapping[str, Any]) -> list[str]:
    sd = payload["sharpe_difference"]
    low, high = (markdown_cell(v) for v in sd["ci"])
    conviction = payload["conviction_correlation"]
    return [
        f"folds: {payload['folds']}, paired out-of-sample bars: {payload['n_observations']}",
        f"Sharpe(B) − Sharpe(A): {markdown_cell(sd['difference'])} "
        f"(95% paired bootstrap CI {low} .. {high})",
        f"Jobson–Korkie–Memmel: z = {markdown_cell(sd['z'])}, p = {markdown_cell(sd['p_value'])}",
        f"share of folds where B's Sharpe beats A's: {markdown_cell(payload['folds_b_better'])}",
        "conviction vs trade return correlation: "
        f"A {markdown_cell(conviction['a'])}, B {markdown_cell(conviction['b'])}",
    ]


def _metrics_rows(payload: Mapping[str, Any]) -> list[list[str]]:
    metrics = payload["metrics"]
    return [
        [key, markdown_cell(metrics["a"][key]), markdown_cell(metrics["b"][key]),
         markdown_cell(metrics["difference"].get(key))]
        for key in SUMMARY_KEYS
        if key in metrics["a"]
    ]  # fmt: skip


_METRICS_HEADER = ("metric", "A", "B", "B − A")


def _title(payload: Mapping[str, Any]) -> str:
    return f"A/B test of {payload['strategy']}: {payload['verdict']}"


def ab_markdown(payload: Mapping[str, Any]) -> str:
    """The Markdown report of an ``ab_payload`` document."""
    lines = [f"# {_title(payload)}", "", *(f"- {n}" for n in _notes(payload)), ""]
    lines.append(markdown_table(_METRICS_HEADER, _metrics_rows(payload)))
    return "\n".join(lines) + "\n"


def _bootstrap_figure(boot: BootstrapResult) -> str:
    def draw(axes: Any) -> None:
        draws = boot.draws[np.isfinite(boot.draws)]
        axes.hist(draws, bins=50, color="tab:blue", alpha=0.7)
        low, high = boot.ci
        for edge in (low, high):
            if math.isfinite(edge):
                axes.axvline(edge, color="red", linestyle="--", linewidth=1.0)
        axes.axvline(boot.difference, color="black", linewidth=1.2)
        axes.axvline(0.0, color="grey", linewidth=0.8)
        axes.set_xlabel("Sharpe(B) − Sharpe(A)")

    return png_figure(
        draw, title="Bootstrap distribution of Sharpe(B) − Sharpe(A) (red: CI, black: observed)"
    )


def ab_html(payload: Mapping[str, Any], result: ABResult) -> str:
    """The HTML report: both equity curves, the bootstrap distribution, the metrics table."""
    equity_title = "Stitched out-of-sample equity of A and B"
    figures = [
        (equity_title, equity_figure({"A": result.a.equity, "B": result.b.equity},
                                     title=equity_title)),
        ("Bootstrap distribution of the Sharpe difference", _bootstrap_figure(result.bootstrap)),
    ]  # fmt: skip
    tables = [("Metrics (out of sample)", _METRICS_HEADER, _metrics_rows(payload))]
    return html_page(_title(payload), notes=_notes(payload), figures=figures, tables=tables)


def write_ab_report(
    result: ABResult, out_dir: Path, *, extra: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], list[Path]]:
    """Write ``ab_test.json``, ``ab_test.md`` and ``ab_test.html``; return the JSON
    document and the paths."""
    payload = ab_payload(result, extra=extra)
    html_text = lambda: ab_html(payload, result)  # noqa: E731
    return payload, report_files(out_dir, "ab_test", payload, ab_markdown(payload), html_text)
