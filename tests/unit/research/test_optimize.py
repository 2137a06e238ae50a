"""Search spaces, and Optuna studies judged on the walk-forward's out-of-sample result."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

from harvester.config.loader import ConfigRequest, load_config
from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError
from harvester.data.panel import Panel
from harvester.research.folds import Fold, plan_folds
from harvester.research.objective import make_objective
from harvester.research.optimize import (
    OptimizeResult,
    optimize,
    storage_url,
)
from harvester.research.optimize_report import write_optimize_report
from harvester.research.spaces import (
    DEFAULT_SPACES,
    Param,
    apply_params,
    grid_space,
    overrides,
    parse_param,
    parse_space,
)
from harvester.research.walk_forward import walk_forward
from harvester.strategies.registry import STRATEGIES
from harvester.testing import SyntheticParams, generate_market

# --- spaces --------------------------------------------------------------------------------


def test_parse_param_kinds() -> None:
    assert parse_param("strategies.composer.entry_threshold=0.1:0.6") == Param(
        "strategies.composer.entry_threshold", "float", 0.1, 0.6
    )
    assert parse_param("strategies.consensus.min_sources=1:4") == Param(
        "strategies.consensus.min_sources", "int", 1, 4
    )
    assert parse_param("composer.temperature=0.25:4:log").kind == "log"
    stepped = parse_param("strategies.composer.momentum_lookback=10:60:10")
    assert stepped.kind == "int" and stepped.grid() == [10, 20, 30, 40, 50, 60]
    rally = parse_param("strategies.rally.named_config=baseline,aggressive")
    assert rally.choices == ("baseline", "aggressive")
    assert parse_param("strategies.panic.contrarian=true,false").choices == (True, False)
    assert parse_param("signals.panic_threshold=2:4:0.5").grid() == [2.0, 2.5, 3.0, 3.5, 4.0]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "strategies.composer.entry_treshold=0.1:0.5",
            "unknown key.*did you mean 'entry_threshold'",
        ),
        ("strategies.composer.entry_threshold", "expected PATH=LOW:HIGH"),
        ("strategies.composer.entry_threshold=0.5:0.1", "needs low <= high"),
        ("strategies.composer.entry_threshold=a:1", "'a' is not a number"),
        ("composer.temperature=0:4:log", "log range needs low > 0"),
    ],
)
def test_parse_param_errors_are_one_line(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_param(spec)
    assert "\n" not in str(info.value)


def test_parse_space_rejects_a_repeated_key() -> None:
    with pytest.raises(ConfigError, match=r"more than once for composer\.temperature"):
        parse_space(["composer.temperature=1:2", "composer.temperature=2:3"])


def test_default_spaces_name_real_keys_and_grid() -> None:
    for strategy, space in DEFAULT_SPACES.items():
        defaults = {p.path: p.grid()[0] for p in space}
        apply_params(HarvesterConfig(), defaults)  # every path exists and its low end is valid
        assert all(len(values) >= 2 for values in grid_space(space).values()), strategy


def test_apply_params_sets_and_validates() -> None:
    config = apply_params(
        HarvesterConfig(),
        {"strategies.composer.entry_threshold": 0.5, "composer.temperature": 2.0,
         "strategies.consensus.min_sources": 3},
    )  # fmt: skip
    assert config.strategies.composer.entry_threshold == 0.5
    assert config.composer.temperature == 2.0 and config.strategies.consensus.min_sources == 3
    assert overrides({"composer.temperature": 2.0, "strategies.composer.w_trend_momentum": 1}) == {
        "composer": {"temperature": 2.0}, "strategies": {"composer": {"w_trend_momentum": 1}}
    }  # fmt: skip


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"strategies.composer.entry_threshold": 1.5}, "key 'strategies.composer.entry_threshold'"),
        ({"composer.temperature": -1.0}, "key 'composer.temperature': Input should be greater"),
        (
            {"strategies.composer.entry_threshold": 0.2, "strategies.composer.exit_threshold": 0.3},
            "key 'strategies.composer': .*exit_threshold must be below entry_threshold",
        ),
        ({"strategies.composer.nope": 1}, "unknown key 'strategies.composer.nope'"),
    ],
)
def test_apply_params_rejects_invalid_values(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        apply_params(HarvesterConfig(), values)
    assert "\n" not in str(info.value)


# --- studies -------------------------------------------------------------------------------


@cache
def _panel() -> Panel:
    return generate_market(SyntheticParams(symbols=3, years=2, seed=5)).panel


def _folds() -> tuple[Fold, ...]:
    return plan_folds(_panel().shape[0], train_len=126, test_len=126, purge=5)[:2]


def _study(seed: int = 7, **kwargs: object) -> OptimizeResult:
    options: dict[str, object] = {
        "space": DEFAULT_SPACES["composer"], "objective": make_objective("sharpe"),
        "n_trials": 8, "folds": _folds(), "seed": seed, **kwargs,
    }  # fmt: skip
    return optimize(_panel(), "composer", HarvesterConfig(), **options)  # type: ignore[arg-type]


@cache
def _seeded() -> OptimizeResult:
    return _study()


def test_study_is_reproducible_and_best_is_the_max() -> None:
    first, again = _seeded(), _study()
    assert len(first.trials) == 8 and len(first.completed) == 8
    assert first.best is not None and again.best is not None
    assert first.best.params == again.best.params and first.best.value == again.best.value
    values = [t.value for t in first.completed if t.value is not None]
    assert first.best.value == max(values)
    assert first.top(3)[0].number == first.best.number
    other = _study(seed=8)
    assert [t.params for t in other.trials] != [t.params for t in first.trials]


def test_trial_returns_matrix_and_metrics_are_recorded() -> None:
    result = _seeded()
    matrix = result.trial_returns
    assert list(matrix.columns) == [str(t.number) for t in result.completed]
    assert isinstance(matrix.index, pd.DatetimeIndex) and len(matrix) == 2 * 126 - 1
    assert result.best is not None
    best_returns = matrix[str(result.best.number)]
    equity = (1.0 + best_returns).cumprod()
    assert equity.iloc[-1] - 1.0 == pytest.approx(result.best.metrics["total_return"], rel=1e-9)
    table = result.trials_table()
    assert len(table) == 8 and {"sharpe", "strategies.composer.entry_threshold"} <= set(table)


def test_best_config_reproduces_the_best_value(tmp_path: Path) -> None:
    result = _seeded()
    written = write_optimize_report(result, tmp_path, extra={"data": "synthetic"})
    assert sorted(p.name for p in written) == sorted(
        [
            "best_config.json",
            "trials.csv",
            "trial_returns.parquet",
            "optimize.json",
            "optimize.md",
            "optimize.html",
        ]
    )
    document = json.loads((tmp_path / "best_config.json").read_text())
    assert set(document) == {"composer", "strategies"} and set(document["strategies"]) == {
        "composer"
    }
    resolved = load_config(ConfigRequest(base_file=tmp_path / "best_config.json"), environ={})
    rerun = walk_forward(_panel(), "composer", resolved.config, _folds())
    assert result.best is not None
    assert rerun.metrics["sharpe"] == pytest.approx(result.best.value, rel=1e-12)
    payload = json.loads((tmp_path / "optimize.json").read_text())
    assert payload["best"]["number"] == result.best.number
    assert payload["trials"] == {"total": 8, "complete": 8, "pruned": 0, "fail": 0}
    assert len(payload["top"]) == 5
    parquet = pd.read_parquet(tmp_path / "trial_returns.parquet")
    pd.testing.assert_frame_equal(parquet, result.trial_returns, check_freq=False)


def test_invalid_trials_are_pruned_with_the_reason() -> None:
    space = (
        Param("strategies.composer.entry_threshold", "float", 0.1, 0.3),
        Param("strategies.composer.exit_threshold", "float", 0.15, 0.5),
    )
    result = _study(space=space, n_trials=6, seed=1)
    pruned = [t for t in result.trials if t.state == "pruned"]
    assert pruned and all(
        "exit_threshold must be below entry_threshold" in str(t.error) for t in pruned
    )
    assert all(str(t.number) not in result.trial_returns for t in pruned)


def _refuse_high_thresholds(config: HarvesterConfig) -> HarvesterConfig:
    if config.strategies.composer.entry_threshold > 0.4:
        raise ConfigError("entry_threshold above 0.4 is refused by this strategy")
    return config


def test_a_config_refused_during_the_walk_forward_prunes_only_that_trial() -> None:
    # The refusal comes from the strategy's configure step inside the trial's walk-forward,
    # after apply_params accepted the values: the trial is pruned, the study goes on.
    picky = replace(STRATEGIES["composer"], name="picky", configure=_refuse_high_thresholds)
    space = (Param("strategies.composer.entry_threshold", "float", 0.2, 0.6),)
    result = optimize(
        _panel(), picky, HarvesterConfig(), space=space, objective=make_objective("sharpe"),
        n_trials=8, folds=_folds(), seed=3,
    )  # fmt: skip
    high = [t for t in result.trials if t.params["strategies.composer.entry_threshold"] > 0.4]
    low = [t for t in result.trials if t.params["strategies.composer.entry_threshold"] <= 0.4]
    assert high and low and len(result.trials) == 8
    assert all(t.state == "pruned" and "refused by this strategy" in str(t.error) for t in high)
    assert all(t.state == "complete" for t in low)


@pytest.mark.parametrize("batch", [1, 2, 5])
def test_grid_sampler_and_composite_objective(batch: int) -> None:
    # Batches are asked ahead of the results; a grid still tries each point once.
    space = (Param("strategies.composer.entry_threshold", "float", 0.2, 0.5, step=0.15),)
    result = _study(
        space=space, sampler="grid", n_trials=10, objective=make_objective("composite"),
        batch=batch,
    )  # fmt: skip
    tried = sorted(t.params["strategies.composer.entry_threshold"] for t in result.trials)
    assert tried == pytest.approx([0.2, 0.35, 0.5])  # the grid stops the study when done


def test_sqlite_study_accumulates_and_refuses_another_strategy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    first = _study(n_trials=3, storage=url, study_name="s")
    second = _study(n_trials=2, storage=url, study_name="s", seed=9)
    assert len(first.trials) == 3 and len(second.trials) == 5
    assert second.trial_returns.shape[1] == 5
    with pytest.raises(ConfigError, match="was run with objective 'sharpe'"):
        _study(n_trials=1, storage=url, study_name="s", objective=make_objective("cagr"))


def test_storage_url_picks_an_installed_postgres_driver() -> None:
    assert storage_url("sqlite:///x.db") == "sqlite:///x.db"
    assert storage_url("postgresql://u@h/db").endswith("://u@h/db")
    assert storage_url("postgresql://u@h/db").startswith("postgresql")


@pytest.mark.postgres
def test_postgres_study_is_shared_by_two_optimize_calls(postgres_url: str) -> None:
    import sqlalchemy

    schema = f"harvester_optuna_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(storage_url(postgres_url))
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    url = f"{postgres_url}?options=-csearch_path%3D{schema}"
    name = f"shared-{uuid.uuid4().hex[:8]}"
    try:
        first = _study(n_trials=3, storage=url, study_name=name, seed=1)
        second = _study(n_trials=2, storage=url, study_name=name, seed=2)
        assert len(first.trials) == 3 and len(second.trials) == 5
        assert [t.number for t in second.trials] == [0, 1, 2, 3, 4]
        assert second.trial_returns.shape == (2 * 126 - 1, 5)
        assert second.storage.startswith("postgresql") and schema in second.storage
        with engine.connect() as connection:
            tables = connection.execute(
                sqlalchemy.text("SELECT count(*) FROM information_schema.tables "
                                "WHERE table_schema = :s AND table_name = 'trials'"),
                {"s": schema},
            ).scalar()  # fmt: skip
        assert tables == 1
    finally:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()
