"""Executors: order, progress, errors, and walk-forward results that do not depend on them.

One real ``distributed.LocalCluster`` (2 worker processes) and one local process pool serve
the whole module; tasks are library functions (``operator.neg``, ``int``, ``plan_folds``)
so they import in worker processes without the test modules.
"""

from __future__ import annotations

import operator
import os
import pickle
from collections.abc import Iterator
from functools import cache, partial

import numpy as np
import pandas as pd
import pytest
from distributed import LocalCluster

from harvester.config.models import HarvesterConfig
from harvester.core.errors import ConfigError
from harvester.data.panel import Panel
from harvester.research import executors
from harvester.research.executors import Executor, open_executor
from harvester.research.folds import plan_folds
from harvester.research.objective import make_objective
from harvester.research.optimize import OptimizeResult, optimize
from harvester.research.spaces import Param
from harvester.research.walk_forward import WalkForwardResult, walk_forward
from harvester.testing import SyntheticParams, generate_market


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as running:
        yield running


@pytest.fixture(scope="module")
def local_pool() -> Iterator[Executor]:
    with open_executor("local:2") as executor:
        yield executor


@pytest.fixture(scope="module")
def dask_executor(cluster: LocalCluster) -> Iterator[Executor]:
    with open_executor(f"dask://{cluster.scheduler_address.removeprefix('tcp://')}") as ex:
        yield ex


@pytest.fixture(params=["serial", "local", "dask"])
def executor(
    request: pytest.FixtureRequest, local_pool: Executor, dask_executor: Executor
) -> Iterator[Executor]:
    if request.param == "serial":
        with open_executor("serial") as serial:
            yield serial
    else:
        yield local_pool if request.param == "local" else dask_executor


def test_names_and_worker_counts(local_pool: Executor, dask_executor: Executor) -> None:
    assert (local_pool.name, local_pool.workers) == ("local:2", 2)
    assert dask_executor.name.startswith("dask://127.0.0.1:")
    assert dask_executor.workers == 2  # 2 worker processes × 1 thread
    with open_executor("serial") as serial:
        assert (serial.name, serial.workers) == ("serial", 1)
    with open_executor("local", workers=3) as local:
        assert (local.name, local.workers) == ("local:3", 3)


def test_map_keeps_the_order_of_the_items_and_reports_progress(executor: Executor) -> None:
    items = list(range(23))
    calls: list[tuple[int, int]] = []
    result = executor.map(operator.neg, items, progress=lambda d, t: calls.append((d, t)))
    assert result == [-i for i in items]
    assert calls == [(done, 23) for done in range(1, 24)]
    assert executor.map(operator.neg, []) == []


def test_a_task_error_reaches_the_caller_with_its_type(executor: Executor) -> None:
    with pytest.raises(ValueError, match="invalid literal"):
        executor.map(int, ["1", "2", "x", "4"])
    folds = partial(plan_folds, train_len=10, test_len=5)
    with pytest.raises(ConfigError, match="bars"):
        executor.map(folds, [100, 3])
    assert executor.map(int, ["7"]) == [7]  # the executor is still usable


@pytest.mark.parametrize("spec", ["", "threads", "local:x", "local:", "dask:/h:1", "dask://h"])
def test_a_bad_spec_lists_the_valid_forms(spec: str) -> None:
    with pytest.raises(ConfigError, match="serial, local, local:N, dask-local or dask://"):
        open_executor(spec).__enter__()


def test_zero_workers_is_refused() -> None:
    with pytest.raises(ConfigError, match="at least 1 worker"), open_executor("local:0"):
        pass


def test_an_unreachable_scheduler_is_a_one_line_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT_S", 0.5)
    with pytest.raises(ConfigError, match=r"cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        open_executor("dask://127.0.0.1:9").__enter__()


def test_dask_missing_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "distributed", None)
    with pytest.raises(ConfigError, match=r'pip install "harvester\[dask\]"'):
        open_executor("dask-local").__enter__()


# -- walk-forward through every executor ------------------------------------------------


@cache
def _panel() -> Panel:
    return generate_market(SyntheticParams(symbols=3, years=3, seed=5)).panel


@cache
def _walk(executor: Executor | None) -> WalkForwardResult:
    panel = _panel()
    folds = plan_folds(panel.shape[0], train_len=252, test_len=126, purge=5)
    return walk_forward(panel, "composer", HarvesterConfig(), folds, executor=executor)


def test_a_panel_survives_pickling() -> None:
    panel = _panel()
    rebuilt = pickle.loads(pickle.dumps(panel))
    assert rebuilt.fingerprint() == panel.fingerprint()
    assert rebuilt.symbols == panel.symbols and rebuilt.meta == panel.meta


@pytest.mark.parametrize("name", ["local_pool", "dask_executor"])
def test_walk_forward_is_identical_inline_in_local_processes_and_on_a_dask_cluster(
    name: str, request: pytest.FixtureRequest
) -> None:
    executor: Executor = request.getfixturevalue(name)
    inline = _walk(None)
    assert len(inline.folds) == 4  # 3 years ≈ 756 sessions: (756 - 252) // 126
    assert inline.metrics["number_of_trades"] > 0
    calls: list[int] = []
    panel = _panel()
    folds = plan_folds(panel.shape[0], train_len=252, test_len=126, purge=5)
    other = walk_forward(
        panel, "composer", HarvesterConfig(), folds, executor=executor,
        progress=lambda done, total: calls.append(done),
    )  # fmt: skip
    assert calls == [1, 2, 3, 4]
    pd.testing.assert_frame_equal(other.fold_table(), inline.fold_table(), check_exact=True)
    pd.testing.assert_series_equal(other.equity, inline.equity, check_exact=True)
    pd.testing.assert_frame_equal(other.trades(), inline.trades(), check_exact=True)
    assert dict(other.metrics) == pytest.approx(dict(inline.metrics), rel=0, abs=0, nan_ok=True)
    assert other.data_fingerprint == inline.data_fingerprint


def test_a_shared_value_reaches_every_task_once_sent(executor: Executor) -> None:
    # operator.getitem(value, item): every task reads the one shared list.
    value = [10 * i for i in range(50)]
    shared = executor.share(value)
    calls: list[tuple[int, int]] = []
    items = [3, 0, 49, 7]
    got = executor.map_shared(
        operator.getitem, shared, items, progress=lambda d, t: calls.append((d, t))
    )
    assert got == [30, 0, 490, 70]
    assert calls == [(done, 4) for done in range(1, 5)]
    assert executor.map_shared(operator.getitem, shared, [1]) == [10]  # reused, one item


def test_submitted_tasks_are_collected_later_in_any_order(executor: Executor) -> None:
    # The optimiser starts batch k+1 before collecting batch k.
    shared = executor.share([10 * i for i in range(5)])
    first = executor.submit_shared(operator.getitem, shared, [1, 2, 4])
    second = executor.submit_shared(operator.getitem, shared, [3, 0])
    assert second.result() == [30, 0]
    assert first.result() == [10, 20, 40]
    dropped = executor.submit_shared(operator.getitem, shared, [9])  # would raise IndexError
    dropped.cancel()


def test_an_optimisation_is_the_same_study_on_every_executor(executor: Executor) -> None:
    # Trials are asked two at a time whatever runs them: with one seed, one study.
    panel = _panel()
    folds = plan_folds(panel.shape[0], train_len=252, test_len=126, purge=5)
    space = (
        Param("strategies.composer.entry_threshold", "float", 0.15, 0.6),
        Param("strategies.composer.momentum_lookback", "int", 15, 40, step=5),
    )

    def run(runner: Executor | None) -> OptimizeResult:
        return optimize(
            panel, "composer", HarvesterConfig(), space=space, objective=make_objective("sharpe"),
            n_trials=4, folds=folds, seed=3, executor=runner, batch=2,
        )  # fmt: skip

    inline, other = run(None), run(executor)
    assert [t.params for t in other.trials] == [t.params for t in inline.trials]
    assert [t.value for t in other.trials] == [t.value for t in inline.trials]
    pd.testing.assert_frame_equal(other.trial_returns, inline.trial_returns)
    assert len(inline.completed) >= 1


def test_an_unpickled_panel_hands_out_its_own_arrays() -> None:
    # Functions that take np.asarray(x, dtype=np.float64) must get x itself back, or the
    # shared-results memo misses on every trial in a worker process.
    panel = pickle.loads(pickle.dumps(_panel(), protocol=pickle.HIGHEST_PROTOCOL))
    close = panel.array("close")
    assert np.asarray(close, dtype=np.float64) is close


def test_tasks_on_one_worker_see_the_one_shared_object(executor: Executor) -> None:
    # operator.iadd appends to the shared list in place and returns it: were the value rebuilt
    # for every task (Dask rebuilds lists and dataclasses it finds in task arguments), each
    # task would see only its own item.
    empty: list[int] = []
    shared = executor.share(empty)
    lengths = [
        len(seen) for seen in executor.map_shared(operator.iadd, shared, [[i] for i in range(6)])
    ]
    assert max(lengths) >= 2


def test_shared_and_mapped_arrays_arrive_aligned(executor: Executor) -> None:
    # Dask rebuilds out-of-band numpy buffers at arbitrary offsets of its receive frames;
    # unaligned arrays put numpy and numba on slow paths (trials ran ~25 % slower). The
    # array interface, read where the task runs, gives the buffer's address there.
    shared = executor.share(np.arange(2_000.0).reshape(40, 50))
    seen = executor.map_shared(getattr, shared, ["__array_interface__"] * 2)
    items = [np.arange(1_000.0), np.ones((30, 20))]
    seen += executor.map(operator.attrgetter("__array_interface__"), items)
    assert [interface["data"][0] % 8 for interface in seen] == [0, 0, 0, 0]


def test_dask_local_workers_keep_the_adaptive_malloc_thresholds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Dask's nanny sets MALLOC_TRIM_THRESHOLD_, which turns off glibc's adaptive mmap
    # threshold (large temporaries page-fault anew on every use); dask-local leaves it unset.
    # The nanny also writes it into its own process's environment: this module's cluster
    # did, so remove it here as in a fresh process.
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with open_executor("dask-local", workers=1) as pool:
        assert pool.map(os.environ.get, ["MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS"]) == [
            None,
            "1",
        ]
