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
what it binds small (a :class:`~harvester.data.panel.Panel` pickles; cut it to what the task
needs). An exception raised by a task is re-raised in the caller
with its original type (the project's errors pickle), and the remaining tasks are cancelled.
Progress (``progress(done, total)``) is reported in the caller's process as tasks finish.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import pickle
import re
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from harvester.core.errors import ConfigError

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "EXECUTOR_SPECS",
    "DaskExecutor",
    "Executor",
    "LocalExecutor",
    "Pending",
    "SerialExecutor",
    "Shared",
    "open_executor",
]

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

EXECUTOR_SPECS = "serial, local, local:N, dask-local or dask://HOST:PORT"
"""The valid ``--executor`` forms, as error messages list them."""

CONNECT_TIMEOUT_S = 5.0
"""How long to wait for a ``dask://`` scheduler before giving up."""

_ProgressFn = Callable[[int, int], None]
_LOCAL = re.compile(r"local(?::(\d+))?")
_REMOTE = re.compile(r"(?:dask|tcp)://([^/:\s]+):(\d+)")


@dataclass(frozen=True, slots=True)
class Shared(Generic[S]):
    """A handle on a value sent once to every worker (:meth:`Executor.share`); tasks of
    :meth:`Executor.map_shared` receive the value itself. It pickles as a small key."""

    key: str


class Pending(Protocol[R]):
    """Tasks started by :meth:`Executor.submit_shared` that the caller collects later."""

    def result(self, progress: _ProgressFn | None = None) -> list[R]:
        """Wait for every task; the results in the order of the items."""
        ...

    def cancel(self) -> None:
        """Drop the tasks not started yet (their results are no longer wanted)."""
        ...


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

    def share(self, value: S) -> Shared[S]:
        """Send ``value`` (a panel, say) to the workers once, for many ``map_shared`` calls."""
        ...

    def map_shared(
        self,
        fn: Callable[[S, T], R],
        shared: Shared[S],
        items: Sequence[T],
        *,
        progress: _ProgressFn | None = None,
    ) -> list[R]:
        """``[fn(value, item) for item in items]``, ``value`` the shared one."""
        ...

    def submit_shared(
        self, fn: Callable[[S, T], R], shared: Shared[S], items: Sequence[T]
    ) -> Pending[R]:
        """Start ``map_shared`` and return at once, so the caller can prepare more work
        while these tasks run (the serial executor runs them when their result is asked)."""
        ...


class _Deferred(Generic[R]):
    """Pending work run inline when its result is asked for."""

    def __init__(self, fn: Callable[[Any], R], items: Sequence[Any]) -> None:
        self.fn, self.items = fn, items

    def result(self, progress: _ProgressFn | None = None) -> list[R]:
        return _inline(self.fn, self.items, progress)

    def cancel(self) -> None:
        self.items = []


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
        self._values: dict[str, Any] = {}

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], *, progress: _ProgressFn | None = None
    ) -> list[R]:
        return _inline(fn, items, progress)

    def share(self, value: S) -> Shared[S]:
        shared: Shared[S] = Shared(uuid.uuid4().hex)
        self._values[shared.key] = value
        return shared

    def map_shared(
        self,
        fn: Callable[[S, T], R],
        shared: Shared[S],
        items: Sequence[T],
        *,
        progress: _ProgressFn | None = None,
    ) -> list[R]:
        return self.submit_shared(fn, shared, items).result(progress)

    def submit_shared(
        self, fn: Callable[[S, T], R], shared: Shared[S], items: Sequence[T]
    ) -> Pending[R]:
        return _Deferred(functools.partial(fn, self._values[shared.key]), items)


def _one_thread_each() -> None:
    # The workers already use every core between them: cap the BLAS / OpenMP pools each
    # library would otherwise start per process (as Dask's nanny does for its workers).
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


# A local worker keeps the last shared value it loaded (one study or run at a time).
_LOADED: dict[str, Any] = {}
_LOADED_LOCK = threading.Lock()


def _load_shared(path: str) -> Any:
    with _LOADED_LOCK:
        if path not in _LOADED:
            _LOADED.clear()
            with Path(path).open("rb") as handle:
                _LOADED[path] = pickle.load(handle)  # our own file, just written
        return _LOADED[path]


def _call_shared(fn: Callable[[S, T], R], path: str, item: T) -> R:
    return fn(_load_shared(path), item)


class LocalExecutor:
    """A pool of ``workers`` local processes (spawned, so safe with numba and threads).

    The pool starts on the first ``map`` that needs it; one worker or one item runs inline.
    A shared value is pickled once to a temporary file that each worker reads once.
    """

    def __init__(self, workers: int) -> None:
        self.name = f"local:{workers}"
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._values: dict[str, Any] = {}

    def _submit_all(self, calls: Sequence[tuple[Callable[..., R], tuple[Any, ...]]]) -> _Futures[R]:
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_one_thread_each
            )
        return _Futures([self._pool.submit(fn, *args) for fn, args in calls])

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], *, progress: _ProgressFn | None = None
    ) -> list[R]:
        if self.workers == 1 or len(items) <= 1:
            return _inline(fn, items, progress)
        return self._submit_all([(fn, (item,)) for item in items]).result(progress)

    def share(self, value: S) -> Shared[S]:
        if self._folder is None:
            self._folder = tempfile.TemporaryDirectory(prefix="harvester-shared-")
        shared: Shared[S] = Shared(str(Path(self._folder.name) / f"{uuid.uuid4().hex}.pickle"))
        with Path(shared.key).open("wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        self._values[shared.key] = value
        return shared

    def map_shared(
        self,
        fn: Callable[[S, T], R],
        shared: Shared[S],
        items: Sequence[T],
        *,
        progress: _ProgressFn | None = None,
    ) -> list[R]:
        return self.submit_shared(fn, shared, items).result(progress)

    def submit_shared(
        self, fn: Callable[[S, T], R], shared: Shared[S], items: Sequence[T]
    ) -> Pending[R]:
        if self.workers == 1 or len(items) <= 1:
            return _Deferred(functools.partial(fn, self._values[shared.key]), items)
        return self._submit_all([(_call_shared, (fn, shared.key, item)) for item in items])

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None


class _Futures(Generic[R]):
    """Process-pool futures, collected in the order of their items."""

    def __init__(self, futures: list[Future[R]]) -> None:
        self.futures = futures

    def result(self, progress: _ProgressFn | None = None) -> list[R]:
        try:
            for done, future in enumerate(as_completed(self.futures), start=1):
                future.result()  # re-raise a task's exception at once
                if progress is not None:
                    progress(done, len(self.futures))
        finally:
            self.cancel()
        return [future.result() for future in self.futures]

    def cancel(self) -> None:
        for future in self.futures:
            future.cancel()


class DaskExecutor:
    """Tasks on a Dask cluster through a ``distributed.Client``; a shared value is scattered
    to every worker once and tasks receive it from the worker's memory."""

    def __init__(self, name: str, client: Client) -> None:
        self.name = name
        self.client: Any = client  # distributed is only partly typed
        info = client.scheduler_info()
        workers: Mapping[str, Mapping[str, Any]] = info.get("workers", {})
        self.workers = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
        self._futures: dict[str, Any] = {}

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], *, progress: _ProgressFn | None = None
    ) -> list[R]:
        if not items:
            return []
        # pure=False: no hashing of the arguments (they may be large); each item is one task,
        # boxed so that Dask does not rebuild it (see share).
        boxes = [_Box.packed(item) for item in items]
        futures = self.client.map(functools.partial(_call_unboxed, fn), boxes, pure=False)
        return _DaskFutures(self.client, futures).result(progress)

    def share(self, value: S) -> Shared[S]:
        shared: Shared[S] = Shared(uuid.uuid4().hex)
        # Boxed: Dask rebuilds dataclasses, dicts and tuples it finds in task arguments (a
        # Panel would be re-validated and copied for every task); a plain object it leaves.
        boxed = _Box.packed(value, shared.key)
        self._futures[shared.key] = self.client.scatter(boxed, broadcast=True, hash=False)
        return shared

    def map_shared(
        self,
        fn: Callable[[S, T], R],
        shared: Shared[S],
        items: Sequence[T],
        *,
        progress: _ProgressFn | None = None,
    ) -> list[R]:
        return self.submit_shared(fn, shared, items).result(progress)

    def submit_shared(
        self, fn: Callable[[S, T], R], shared: Shared[S], items: Sequence[T]
    ) -> Pending[R]:
        boxed = self._futures[shared.key]
        futures = [self.client.submit(_call_boxed, fn, boxed, item, pure=False) for item in items]
        return _DaskFutures(self.client, futures)


class _DaskFutures(Generic[R]):
    """Dask futures, collected in the order of their items."""

    def __init__(self, client: Any, futures: list[Any]) -> None:
        self.client, self.futures = client, futures

    def result(self, progress: _ProgressFn | None = None) -> list[R]:
        # Each result is fetched once, as its task finishes; the futures are dropped when
        # done (cancelling finished ones would cost a scheduler round trip per batch).
        results: dict[str, Any] = {}
        try:
            for done, future in enumerate(_dask().as_completed(self.futures), start=1):
                results[future.key] = future.result()  # a task's error, with its own type
                if progress is not None:
                    progress(done, len(self.futures))
        except BaseException:
            self.cancel()
            raise
        return [results[future.key] for future in self.futures]

    def cancel(self) -> None:
        if self.futures:
            self.client.cancel(self.futures)


class _Box:
    """A value Dask passes to tasks as it is (see :meth:`DaskExecutor.share`); a shared one
    carries its key.

    The value travels pickled *in-band*, as one bytes object. Dask would otherwise send its
    numpy buffers out-of-band and rebuild them at arbitrary offsets of its receive frames:
    unaligned arrays, on which numpy takes its slow paths and numba compiles unaligned
    variants. Unpickled on the worker, every array gets a fresh, aligned buffer.
    """

    __slots__ = ("key", "pickled")

    def __init__(self, pickled: bytes, key: str = "") -> None:
        self.pickled = pickled
        self.key = key

    @classmethod
    def packed(cls, value: object, key: str = "") -> _Box:
        return cls(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), key)

    @property
    def value(self) -> Any:
        return pickle.loads(self.pickled)


def _call_boxed(fn: Callable[[Any, T], R], boxed: _Box, item: T) -> R:
    # Dask may hand a worker a second copy of a shared value (replicas move between
    # workers); every task of the worker reads the first, so what tasks cache on it (the
    # feature memo) stays valid. One shared value at a time, as for local workers.
    with _LOADED_LOCK:  # a dask:// worker may run several tasks at once, in threads
        if boxed.key not in _LOADED:
            _LOADED.clear()
            _LOADED[boxed.key] = boxed.value
        value = _LOADED[boxed.key]
    return fn(value, item)


def _call_unboxed(fn: Callable[[Any], R], boxed: _Box) -> R:
    return fn(boxed.value)


def _dask() -> Any:
    try:
        import distributed
    except ImportError:
        raise ConfigError(
            'the dask executors need Dask; install it with: pip install "harvester[dask]"'
        ) from None
    return distributed


# Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536. Setting it turns off glibc's
# adaptive mmap threshold: every array over 128 KiB is then mapped and unmapped anew, and
# its pages fault in again on each use (3-4x the page faults, trials ~15 % slower). None
# leaves it unset, as in a local process.
_WORKER_ENVIRON = {"MALLOC_TRIM_THRESHOLD_": None}


@contextmanager
def _dask_local(workers: int | None) -> Iterator[Executor]:
    distributed = _dask()
    import dask

    n = workers or 2
    environ_key = "distributed.nanny.pre-spawn-environ"
    environ = {**dask.config.get(environ_key), **_WORKER_ENVIRON}
    with (
        dask.config.set({environ_key: environ}),
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
