"""Load test: ``harvester serve``'s ``/metrics`` and ``/report`` hammered on loopback.

Without ``--url`` it writes a journal of ``--trades`` synthetic trades (seeded) to a SQLite
store in a temp folder and starts ``harvester serve`` on it (a subprocess on a free loopback
port); with ``--url`` it loads a service that is already running. ``--threads`` clients (one
keep-alive connection each) request the endpoints in turn, back to back, for ``--seconds``.
Prints, per endpoint, requests, errors (any non-200 or transport error), requests/s and
p50/p99 latency; exits 1 on any error.

Run: ``.venv/bin/python bench/load_service.py [--seconds 30] [--threads 4] [--trades 10000]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import insert

from harvester.store.database import open_store
from harvester.store.models import EquitySnapshotRow, PositionRow, TradeRow

ENDPOINTS = ("/metrics", "/report")
ACCOUNT = "paper"
REGIMES = ("trend", "chop", "volatile")
EXITS = ("take_profit", "stop_loss", "time_stop", "trailing_stop", "partial_25")


@dataclass
class EndpointStats:
    """Latencies (seconds) and errors of one endpoint."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def quantile_ms(self, q: float) -> float:
        return float(np.quantile(self.latencies, q)) * 1e3 if self.latencies else float("nan")


def _trade_rows(n_trades: int, n_symbols: int, seed: int) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    per_symbol = -(-n_trades // n_symbols)
    start = date(2015, 1, 2)
    rows: list[dict[str, object]] = []
    for i in range(n_trades):
        symbol, k = divmod(i, per_symbol)
        entry_price = float(rng.uniform(20, 500))
        ret = float(rng.normal(0.004, 0.03))
        mfe, mae = (
            max(ret, 0.0) + float(rng.exponential(0.01)),
            min(ret, 0.0) - float(rng.exponential(0.01)),
        )
        qty = float(rng.integers(1, 100))
        held = int(rng.integers(1, 15))
        entry = start + timedelta(days=k)
        rows.append({
            "account": ACCOUNT, "strategy": "default", "symbol": f"S{symbol:03d}", "side": 1,
            "entry_date": entry, "entry_price": entry_price, "exit_seq": 0,
            "exit_date": entry + timedelta(days=held), "exit_price": entry_price * (1 + ret),
            "qty": qty, "pnl": qty * entry_price * ret, "trade_return": ret,
            "exit_reason": EXITS[int(rng.integers(len(EXITS)))], "bars_held": held,
            "regime": REGIMES[int(rng.integers(len(REGIMES)))], "mfe": mfe, "mae": mae,
        })  # fmt: skip
    return rows


def seed_store(path: Path, *, n_trades: int, n_symbols: int = 100, seed: int = 9) -> None:
    """A SQLite store at ``path`` with a journal of ``n_trades`` trades, a year of equity
    snapshots and five open positions (all seeded, account ``paper``)."""
    store = open_store(f"sqlite:///{path}", environ={})
    days = [date(2023, 1, 2) + timedelta(days=i) for i in range(365)]
    equity = 100_000 * np.cumprod(1 + np.random.default_rng(seed).normal(4e-4, 0.01, len(days)))
    opened = datetime(2023, 12, 31, 21, 0, tzinfo=UTC)
    with store.session() as session:
        session.execute(insert(TradeRow), _trade_rows(n_trades, n_symbols, seed))
        session.execute(insert(EquitySnapshotRow), [
            {"account": ACCOUNT, "date": d, "equity": float(e), "cash": float(e), "exposure": 0.0,
             "unrealised_pnl": 0.0, "n_signals": 0, "n_positions": 5}
            for d, e in zip(days, equity, strict=True)
        ])  # fmt: skip
        session.execute(insert(PositionRow), [
            {"account": ACCOUNT, "strategy": "default", "symbol": f"S{i:03d}", "side": 1,
             "qty": 10.0, "avg_price": 100.0, "opened_at": opened, "updated_at": opened}
            for i in range(5)
        ])  # fmt: skip
    store.close()


def free_port() -> int:
    """A loopback port that was free a moment ago (the service binds it right after)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"harvester serve exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/health", timeout=5.0).status_code == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout} s")


@contextlib.contextmanager
def serve(
    db_path: Path, *, refresh_seconds: float = 30.0, keep: bool = False
) -> Iterator[tuple[str, int]]:
    """``harvester serve [--keep-refresh-process]`` on ``db_path`` in a subprocess: yields
    (base URL, pid)."""
    port = free_port()
    env = {**os.environ, "HARVESTER_DATABASE_URL": f"sqlite:///{db_path}",
           "HARVESTER_HOME": str(db_path.parent / "home")}  # fmt: skip
    env.pop("HARVESTER_REDIS_URL", None)
    command = [str(Path(sys.executable).parent / "harvester"), "serve", "--port", str(port),
               "--refresh-seconds", str(refresh_seconds)]  # fmt: skip
    command += ["--keep-refresh-process"] if keep else []
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def _client_loop(
    url: str, endpoints: Sequence[str], stop_at: float, stats: dict[str, EndpointStats]
) -> None:
    local = {e: EndpointStats() for e in endpoints}
    with httpx.Client(base_url=url, timeout=10.0) as client:
        i = 0
        while time.perf_counter() < stop_at:
            endpoint = endpoints[i % len(endpoints)]
            i += 1
            started = time.perf_counter()
            try:
                response = client.get(endpoint)
                ok = response.status_code == 200 and bool(response.content)
                error = None if ok else f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            local[endpoint].latencies.append(time.perf_counter() - started)
            if error is not None:
                local[endpoint].errors.append(error)
    for endpoint, mine in local.items():  # list.extend is atomic under the GIL
        stats[endpoint].latencies.extend(mine.latencies)
        stats[endpoint].errors.extend(mine.errors)


def run_load(
    url: str, *, seconds: float, threads: int = 4, endpoints: Sequence[str] = ENDPOINTS
) -> dict[str, EndpointStats]:
    """``threads`` clients requesting ``endpoints`` in turn for ``seconds``; stats per endpoint."""
    stats = {e: EndpointStats() for e in endpoints}
    stop_at = time.perf_counter() + seconds
    workers = [
        threading.Thread(target=_client_loop, args=(url, endpoints, stop_at, stats))
        for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return stats


def print_stats(stats: dict[str, EndpointStats], seconds: float) -> int:
    """One line per endpoint; the number of errors."""
    total_errors = 0
    for endpoint, s in stats.items():
        total_errors += len(s.errors)
        print(f"{endpoint:10s} requests {len(s.latencies):7d}  errors {len(s.errors):3d}  "
              f"{len(s.latencies) / seconds:8.1f} req/s  p50 {s.quantile_ms(0.5):7.2f} ms  "
              f"p99 {s.quantile_ms(0.99):7.2f} ms")  # fmt: skip
        for message in sorted(set(s.errors))[:5]:
            print(f"    error: {message}")
    return total_errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--trades", type=int, default=10_000)
    parser.add_argument("--url", help="a running service (default: start one)")
    args = parser.parse_args()
    from _machine import machine_line

    print(machine_line())
    print(f"load: {args.threads} client threads, {args.seconds:g} s, endpoints {ENDPOINTS}")
    if args.url:
        errors = print_stats(run_load(args.url, seconds=args.seconds, threads=args.threads),
                             args.seconds)  # fmt: skip
    else:
        with tempfile.TemporaryDirectory(prefix="harvester-load-") as name:
            db = Path(name) / "load.db"
            seed_store(db, n_trades=args.trades)
            with serve(db) as (url, _):
                print(f"service: {url} over {args.trades} trades")
                stats = run_load(url, seconds=args.seconds, threads=args.threads)
            errors = print_stats(stats, args.seconds)
    print("PASS: no errors" if errors == 0 else f"FAILED: {errors} error(s)")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
