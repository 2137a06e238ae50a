"""The refresh in a child process, so the serving process stays small and never stalls.

:class:`ChildRefresher` starts one long-lived child (multiprocessing ``spawn``: a fresh
interpreter, nothing inherited from the threads of the server) that imports pandas,
SQLAlchemy and the analytics once and then answers each refresh request — a time, sent over
a pipe — with a :class:`~harvester.service.published.Published`. The serving process only
unpickles bytes: it never imports the heavy libraries, and the CPU-bound refresh no longer
holds its GIL while requests wait.

A child that dies, hangs past ``timeout`` or fails raises :class:`RefreshFailed` in the
caller and is discarded; the next refresh starts a new one. With ``keep_alive=False`` every
refresh starts a child and ends it after its answer (``harvester serve``'s default): between
refreshes only the serving process's memory remains, at the price of the child's start-up
(its imports, ~2 s of CPU) on every refresh.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from dataclasses import dataclass, replace
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from harvester.service.published import Published, TradeRows
from harvester.service.state import ServiceSettings

__all__ = ["CHILD_TIMEOUT_SECONDS", "ChildRefresher", "RefreshFailed"]

CHILD_TIMEOUT_SECONDS = 300.0  # a refresh of 100k trades takes ~2 s; past this it is stuck
_JOIN_SECONDS = 5.0
_CHILD_NICENESS = 10


class RefreshFailed(RuntimeError):
    """The refresh did not produce a result (the message says why)."""


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {' '.join(str(error).split())[:300]}"


@dataclass(frozen=True, slots=True)
class _SameTrades:
    """A refresh whose trades are those of the previous answer (not sent again)."""

    published: Published


_NO_TRADES = TradeRows.build(())


def _serve_refreshes(conn: Connection, settings: ServiceSettings) -> None:
    """The child's main loop: one :class:`Published` (or a failure text) per request."""
    # Ctrl-C in the terminal reaches the whole process group: the parent decides; the
    # child ends when the parent closes the pipe or terminates it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Below the serving process in the CPU queue: on a busy machine a refresh waits, a
    # request does not (the refresh's seconds of pandas would otherwise share a core).
    os.nice(_CHILD_NICENESS)
    try:
        from harvester.service.refresh import Refresher

        refresher = Refresher(settings)
        sent: TradeRows | None = None
        while True:
            published = refresher.refresh(conn.recv())
            if published.trades is sent:  # unchanged: spare the pipe and the parent ~10 MB
                conn.send(_SameTrades(replace(published, trades=_NO_TRADES)))
            else:
                conn.send(published)
                sent = published.trades
    except EOFError:  # the parent closed the pipe: done
        return
    except Exception as error:  # report it as this request's answer, then let a new child try
        conn.send(_describe(error))


class ChildRefresher:
    """Refreshes in a child process (see the module docstring); one caller at a time."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        timeout: float = CHILD_TIMEOUT_SECONDS,
        keep_alive: bool = True,
    ) -> None:
        self.settings = settings
        self.timeout = timeout
        self.keep_alive = keep_alive  # False: a child per refresh, ended after its answer
        self._context = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._trades = _NO_TRADES  # the child's last trades sent

    @property
    def pid(self) -> int | None:
        """The child's process id while one runs."""
        return self._process.pid if self._process is not None else None

    def _start(self) -> Connection:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=_serve_refreshes, args=(theirs, self.settings),
            name="harvester-serve-refresh", daemon=True,
        )  # fmt: skip
        process.start()
        theirs.close()  # only the child holds its end: its death is EOF here
        self._process, self._conn = process, ours
        return ours

    def _answer(self, conn: Connection, now: datetime) -> Any:
        conn.send(now)
        if not conn.poll(self.timeout):
            raise RefreshFailed(f"the refresh process gave no answer in {self.timeout:g} s")
        return conn.recv()

    def refresh(self, now: datetime) -> Published:
        """The child's refresh as of ``now``; :class:`RefreshFailed` when there is none."""
        try:
            answer = self._answer(self._conn or self._start(), now)
        except RefreshFailed:
            self.close()
            raise
        except Exception as error:  # no start, EOF or a broken pipe (it died), a garbled answer
            self.close()
            raise RefreshFailed(f"the refresh process ended ({_describe(error)})") from None
        if not self.keep_alive:
            self.close()  # between refreshes only the serving process's memory remains
        if isinstance(answer, _SameTrades):
            return replace(answer.published, trades=self._trades)
        if not isinstance(answer, Published):
            self.close()
            raise RefreshFailed(f"the refresh process failed: {answer}")
        self._trades = answer.trades
        return answer

    def close(self) -> None:
        """End the child (closing the pipe ends its loop; terminate if it does not)."""
        conn, process = self._conn, self._process
        self._conn = self._process = None
        if conn is not None:
            conn.close()
        if process is not None:
            process.join(_JOIN_SECONDS)
            if process.is_alive():
                process.terminate()
                process.join(_JOIN_SECONDS)
            process.close()
