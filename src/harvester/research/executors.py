"""Executors: run many independent tasks (symbols, folds) serially, in local processes or on
a Dask cluster, behind one small interface.

Specs (``harvester backtest-universe --executor SPEC``)::

    serial            every task inline, in this process
    local             a pool of local processes, one per CPU (``--workers N`` to change)
    local:N           a pool of N local processes
    dask-local        start a Dask ``LocalCluster`` (``--workers`` processes, default 2) for the run
    dask://HOST:PORT  use a running Dask scheduler (``tcp://HOST:PORT`` works too)

**Determinism.** The same inputs give the same outputs whichever executor runs them: every
task is a pure function of its (pickled) arguments — no shared state, no randomness that is
not seeded by the arguments — and :meth:`Executor.map` returns the results in the order of
its items, however the tasks were scheduled and whenever they finished. Process pools and
Dask workers compute with the same code and the same floating-point operations as the
serial path, so results are bit-identical, not merely close.

The function handed to ``map`` must be picklable: a module-level function, or a
:func:`functools.partial` / frozen dataclass of one. It travels with every task, so keep
what it binds small; :class:`PortablePanel` carries a :class:`~harvester.data.panel.Panel`
across the process boundary. An exception raised by a task is re-raised in the caller
with its original type (the project's errors pickle), and the remaining tasks are cancelled.
Progress (``progress(done, total)``) is reported in the caller's process as tasks finish.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np
import pandas as pd

from harvester.core.errors import ConfigError
from harvester.data.panel import Panel, SymbolMeta

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "EXECUTOR_SPECS",
    "DaskExecutor",
    "Executor",
    "LocalExecutor",
    "PortablePanel",
    "SerialExecutor",
    "open_executor",
]

T = TypeVar("T")
R = TypeVar("R")

EXECUTOR_SPECS = "serial, local, local:N, dask-local or dask://HOST:PORT"
"""The valid ``--executor`` forms, as error messages list them."""

CONNECT_TIMEOUT_S = 5.0
"""How long to wait for a ``dask://`` scheduler before giving up."""

_ProgressFn = Callable[[int, int], None]
_LOCAL = re.compile(r"local(?::(\d+))?")
_REMOTE = re.compile(r"(?:dask|tcp)://([^/:\s]+):(\d+)")


class Executor(Protocol):
    """Maps a picklable function over items; results come back in the order of the items."""

    name: str
    workers: int

    def map(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        *,
        progress: _ProgressFn | None = None,
    ) -> list[R]: ...


def _inline(fn: Callable[[T], R], items: Sequence[T], progress: _ProgressFn | None) -> list[R]:
    results: list[R] = []
    for item in items:
        results.append(fn(item))
        if progress is not None:
            progress(len(results), len(items))
    return results


class SerialExecutor:
    """Every task inline, in order, in this process."""

    def __init__(self) -> None:
        self.name = "serial"
        self.workers = 1

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], *, progress: _ProgressFn | None = None
    ) -> list[R]:
        return _inline(fn, items, progress)


class LocalExecutor:
    """A pool of ``workers`` local processes (spawned, so safe with numba and threads).

    The pool starts on the first ``map`` that needs it; one worker or one item runs inline.
    """

    def __init__(self, workers: int) -> None:
        self.name = f"local:{workers}"
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], *, progress: _ProgressFn | None = None
    ) -> list[R]:
        if self.workers == 1 or len(items) <= 1:
            return _inline(fn, items, progress)
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
        futures = [self._pool.submit(fn, item) for item in items]
        try:
            for done, future in enumerate(as_completed(futures), start=1):
                future.result()  # re-raise a task's exception at once
                if progress is not None:
                    progress(done, len(items))
        finally:
            for future in futures:
                future.cancel()
        return [future.result() for future in futures]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor:
    """Tasks on a Dask cluster through a ``distributed.Client``."""

    def __init__(self, name: str, client: Client) -> None:
        self.name = name
        self.client: Any = client  # distributed is only partly typed
        info = client.scheduler_info()
        workers: Mapping[str, Mapping[str, Any]] = info.get("workers", {})
        self.workers = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], *, progress: _ProgressFn | None = None
    ) -> list[R]:
        if not items:
            return []
        # pure=False: no hashing of the arguments (they may be large); each item is one task.
        futures = self.client.map(fn, list(items), pure=False)
        try:
            for done, future in enumerate(_dask().as_completed(futures), start=1):
                future.result()  # re-raise a task's exception with its original type
                if progress is not None:
                    progress(done, len(items))
            results: list[R] = self.client.gather(futures)
        finally:
            self.client.cancel(futures)
        return results


@dataclass(frozen=True, slots=True)
class PortablePanel:
    """A :class:`Panel` in a form that pickles; :meth:`panel` rebuilds an equal one."""

    index: pd.DatetimeIndex
    symbols: tuple[str, ...]
    fields: dict[str, np.ndarray[Any, np.dtype[np.float64]]]
    aux: dict[str, np.ndarray[Any, np.dtype[np.float64]]]
    meta: dict[str, SymbolMeta]

    @classmethod
    def of(cls, panel: Panel) -> PortablePanel:
        return cls(
            panel.index, panel.symbols, dict(panel.fields), dict(panel.aux), dict(panel.meta)
        )

    def panel(self) -> Panel:
        return Panel(self.index, self.symbols, self.fields, self.aux, self.meta)


def _dask() -> Any:
    try:
        import distributed
    except ImportError:
        raise ConfigError(
            'the dask executors need Dask; install it with: pip install "harvester[dask]"'
        ) from None
    return distributed


@contextmanager
def _dask_local(workers: int | None) -> Iterator[Executor]:
    distributed = _dask()
    n = workers or 2
    with (
        distributed.LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield DaskExecutor("dask-local", client)


@contextmanager
def _dask_remote(host: str, port: str) -> Iterator[Executor]:
    distributed = _dask()
    address = f"tcp://{host}:{port}"
    try:
        client = distributed.Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        raise ConfigError(
            f"cannot reach the Dask scheduler at {address} within {CONNECT_TIMEOUT_S:g} s "
            f"({type(exc).__name__}); start it with `dask scheduler` or check HOST:PORT"
        ) from None
    with client:
        yield DaskExecutor(f"dask://{host}:{port}", client)


@contextmanager
def _local(workers: int) -> Iterator[Executor]:
    if workers < 1:
        raise ConfigError(f"an executor needs at least 1 worker; got {workers}")
    executor = LocalExecutor(workers)
    try:
        yield executor
    finally:
        executor.close()


@contextmanager
def open_executor(spec: str = "local", *, workers: int | None = None) -> Iterator[Executor]:
    """Open the executor ``spec`` names (see the module docstring); close it on exit.

    ``workers`` sets the process count of ``local`` and ``dask-local`` (``local:N`` wins).

    Raises
    ------
    ConfigError
        On a spec that is none of the valid forms, Dask not installed, or a ``dask://``
        scheduler that cannot be reached.
    """
    text = spec.strip().lower()
    local = _LOCAL.fullmatch(text)
    remote = _REMOTE.fullmatch(text)
    if text == "serial":
        yield SerialExecutor()
    elif local is not None:
        count = int(local.group(1)) if local.group(1) else (workers or os.cpu_count() or 1)
        with _local(count) as executor:
            yield executor
    elif text == "dask-local":
        with _dask_local(workers) as executor:
            yield executor
    elif remote is not None:
        with _dask_remote(remote.group(1), remote.group(2)) as executor:
            yield executor
    else:
        raise ConfigError(f"unknown executor {spec!r}; use {EXECUTOR_SPECS}")
