"""Universe runs give the same symbols, portfolio and files inline and on a Dask cluster
(a real ``dask-local`` ``LocalCluster``). The local process pool is compared with the
inline run by tests/integration/test_cli_backtest_universe.py, through the CLI.

Charts and per-symbol reports (matplotlib, ~95% of a small run's time, drawn by the tasks
on the workers) are switched off here; the CLI test draws them for real.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from harvester.app.context import AppContext, open_context
from harvester.app.portfolio import UniverseRun, run_universe
from harvester.config.loader import ConfigRequest
from harvester.research.executors import Executor, open_executor

DATA = "synthetic:symbols=5,years=2,seed=3"


def _context(cwd: Path) -> AppContext:
    request = ConfigRequest(assignments=("execution.fractional_shares=true",))
    ctx = open_context(request, environ=os.environ, cwd=cwd, log_to_console=False)
    return ctx.for_strategy("composer")


def _run(tmp_path: Path, name: str, executor: Executor | None) -> UniverseRun:
    calls: list[int] = []
    run = run_universe(
        _context(tmp_path), DATA, strategy="composer", out_dir=tmp_path / name,
        executor=executor, progress=lambda done, total: calls.append(done), charts=False,
        report=False,
    )  # fmt: skip
    assert calls == [1, 2, 3, 4, 5]
    return run


def test_universe_run_is_identical_inline_and_on_dask(tmp_path: Path) -> None:
    inline = _run(tmp_path, "inline", None)
    assert int(inline.symbols["trades"].sum()) > 0
    with open_executor("dask-local", workers=2) as dask:
        assert (dask.name, dask.workers) == ("dask-local", 2)
        on_dask = _run(tmp_path, "dask", dask)
    for other in (on_dask,):
        pd.testing.assert_frame_equal(other.symbols, inline.symbols, check_exact=True)
        pd.testing.assert_frame_equal(other.equity, inline.equity, check_exact=True)
        assert dict(other.metrics) == pytest.approx(dict(inline.metrics), rel=0, abs=0, nan_ok=True)
        for run, mine in zip(other.runs, inline.runs, strict=True):
            pd.testing.assert_frame_equal(run.result.trades, mine.result.trades, check_exact=True)
        names = sorted(p.relative_to(inline.out_dir) for p in inline.out_dir.rglob("*.*"))
        assert names == sorted(p.relative_to(other.out_dir) for p in other.out_dir.rglob("*.*"))
        assert not [name for name in names if name.suffix in (".png", ".html")]
        for name in names:
            written = (other.out_dir / name).read_bytes()
            assert written == (inline.out_dir / name).read_bytes(), name
