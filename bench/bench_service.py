"""Benchmark: ``harvester serve`` over a journal of 100,000 trades.

A SQLite store in a temp folder gets 100,000 seeded synthetic trades (100 symbols × 3 regimes
× 5 exit types, ``load_service.seed_store``), a year of equity and five open positions. The
real ``harvester serve`` runs on it in a subprocess (loopback, ``--refresh-seconds`` R), and:

1. ``/report`` at 100 requests/s, paced on a fixed schedule (4 client threads) for
   ``--seconds``: latency p50/p99, counted from each request's scheduled time (so a stall
   counts for every request it delays) — target p99 ≤ 50 ms;
2. a Prometheus scrape of ``/metrics`` (sequential, 300 scrapes): target p99 ≤ 10 ms;
3. memory: RSS of the service process after the runs — target < 100 MB (the process that
   serves: the refresh runs in a child process, whose RSS is printed beside it);
4. CPU between updates: CPU time of the service process (user + system) with no requests,
   from the end of a background refresh (seen in ``harvester_refresh_duration_seconds``) over
   half the refresh interval — target < 5 %; and the average over an idle window of
   ``--idle-seconds``, background refreshes included (the refresh child's CPU printed apart).

Run: ``.venv/bin/python bench/bench_service.py [--trades 100000] [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import math
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

from _machine import machine_line, versions_line
from load_service import EndpointStats, seed_store, serve

REPORT_RATE = 100.0
TARGET_REPORT_P99_MS = 50.0
TARGET_SCRAPE_MS = 10.0
TARGET_RSS_MB = 100.0
TARGET_CPU_PCT = 5.0


def _paced_worker(url: str, times: list[float], stats: EndpointStats) -> None:
    with httpx.Client(base_url=url, timeout=10.0) as client:
        for at in times:
            delay = at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            response = client.get("/report")
            # from the scheduled instant: a stall also delays the requests queued behind it
            stats.latencies.append(time.perf_counter() - at)
            if response.status_code != 200:
                stats.errors.append(f"HTTP {response.status_code}")


def paced_report(url: str, seconds: float, threads: int = 4) -> tuple[EndpointStats, float]:
    """``/report`` at REPORT_RATE requests/s; the stats and the achieved rate."""
    start = time.perf_counter() + 0.2
    schedule = [start + i / REPORT_RATE for i in range(int(seconds * REPORT_RATE))]
    stats = EndpointStats()
    workers = [
        threading.Thread(target=_paced_worker, args=(url, schedule[k::threads], stats))
        for k in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return stats, len(stats.latencies) / (time.perf_counter() - start)


def scrapes(url: str, n: int = 300) -> tuple[EndpointStats, int]:
    """``n`` sequential scrapes of ``/metrics``; the stats and the exposition's size in bytes."""
    stats = EndpointStats()
    size = 0
    with httpx.Client(base_url=url, timeout=10.0) as client:
        for _ in range(n):
            started = time.perf_counter()
            response = client.get("/metrics")
            stats.latencies.append(time.perf_counter() - started)
            size = len(response.content)
            if response.status_code != 200:
                stats.errors.append(f"HTTP {response.status_code}")
    return stats, size


def refresh_totals(url: str) -> tuple[float, float]:
    """(seconds spent refreshing, number of refreshes) from the service's own histogram."""
    text = httpx.get(url + "/metrics", timeout=10.0).text
    total = re.search(r"^harvester_refresh_duration_seconds_sum (\S+)$", text, re.M)
    count = re.search(r"^harvester_refresh_duration_seconds_count (\S+)$", text, re.M)
    assert total and count, "harvester_refresh_duration_seconds missing from /metrics"
    return float(total.group(1)), float(count.group(1))


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def refresh_child(process: psutil.Process) -> psutil.Process | None:
    """The service's refresh process (``multiprocessing`` spawn), if it has one."""
    # spawn_main: not the resource tracker that multiprocessing also starts
    children = [c for c in process.children() if "spawn_main" in " ".join(c.cmdline())]
    return children[-1] if children else None


def cpu_between_updates(url: str, process: psutil.Process, refresh_seconds: float) -> float:
    """CPU % of the service from the end of a background refresh over half the interval."""
    _, count = refresh_totals(url)
    while refresh_totals(url)[1] == count:  # wait (at 0.2 s polls) for the next refresh to end
        time.sleep(0.2)
    cpu0, wall0 = _cpu(process), time.perf_counter()
    time.sleep(refresh_seconds / 2)
    return 100 * (_cpu(process) - cpu0) / (time.perf_counter() - wall0)


def idle_cpu(
    url: str, process: psutil.Process, seconds: float, child: psutil.Process | None
) -> tuple[float, float, float]:
    """(CPU %, refreshes, the refresh children's CPU %) over an idle window, refreshes
    included: the kept child's (``--keep``), or that of the children ended in it."""
    _, count0 = refresh_totals(url)
    cpu0, wall0 = _cpu(process), time.perf_counter()
    child0 = _cpu(child) if child is not None else _ended_children_cpu(process)
    time.sleep(seconds)
    wall = time.perf_counter() - wall0
    child1 = _cpu(child) if child is not None else _ended_children_cpu(process)
    return (
        100 * (_cpu(process) - cpu0) / wall,
        refresh_totals(url)[1] - count0,
        (100 * (child1 - child0) / wall),
    )


def _ended_children_cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.children_user + times.children_system)


def import_rss_mb(module: str) -> float:
    """RSS of a fresh interpreter after ``import module`` (the floor under the service)."""
    code = f"import {module}, psutil; print(psutil.Process().memory_info().rss)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout) / 2**20


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "NOT MET"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="paced /report run")
    parser.add_argument("--refresh-seconds", type=float, default=10.0)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument(
        "--keep", action="store_true", help="harvester serve --keep-refresh-process"
    )
    args = parser.parse_args()
    print(machine_line())
    print(versions_line("fastapi", "uvicorn", "pandas", "prometheus-client", "sqlalchemy"))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in psutil.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="harvester-bench-service-") as name:
        db = Path(name) / "bench.db"
        started = time.perf_counter()
        seed_store(db, n_trades=args.trades)
        print(f"setup: {args.trades} trades written in {time.perf_counter() - started:.1f} s "
              f"(untimed); refresh every {args.refresh_seconds:g} s")  # fmt: skip
        with serve(db, refresh_seconds=args.refresh_seconds, keep=args.keep) as (url, pid):
            process = psutil.Process(pid)
            spent, count = refresh_totals(url)
            print(f"refresh (read + analytics + metrics): {spent / count:.2f} s each")
            report, rate = paced_report(url, args.seconds)
            scrape, size = scrapes(url)
            rss_mb = process.memory_info().rss / 2**20
            child = refresh_child(process) if args.keep else None  # else: none between
            child_mb = child.memory_info().rss / 2**20 if child is not None else math.nan
            between = cpu_between_updates(url, process, args.refresh_seconds)
            overall, refreshes, child_cpu = idle_cpu(url, process, args.idle_seconds, child)
        errors = len(report.errors) + len(scrape.errors)
    p99, s99 = report.quantile_ms(0.99), scrape.quantile_ms(0.99)
    rows = [
        (f"/report p99 at {rate:.0f} req/s", f"≤ {TARGET_REPORT_P99_MS:g} ms",
         f"{p99:.1f} ms (p50 {report.quantile_ms(0.5):.1f})", p99 <= TARGET_REPORT_P99_MS),
        (f"/metrics scrape p99 ({size / 1024:.0f} KiB)", f"≤ {TARGET_SCRAPE_MS:g} ms",
         f"{s99:.1f} ms (p50 {scrape.quantile_ms(0.5):.1f}, p95 {scrape.quantile_ms(0.95):.1f})",
         s99 <= TARGET_SCRAPE_MS),
        ("service RSS", f"< {TARGET_RSS_MB:g} MB",
         f"{rss_mb:.0f} MB (+ refresh child {child_mb:.0f} MB)" if child is not None
         else f"{rss_mb:.0f} MB (no refresh process between refreshes)",
         rss_mb + (child_mb if child is not None else 0.0) < TARGET_RSS_MB),
        ("CPU between updates", f"< {TARGET_CPU_PCT:g} %",
         f"{between:.2f} % ({overall:.1f} % with {refreshes:.0f} refreshes "
         f"in {args.idle_seconds:g} s; child {child_cpu:.1f} %)", between < TARGET_CPU_PCT),
    ]  # fmt: skip
    print(f"{'measure':34s} {'target':>10s}  {'measured':44s} verdict")
    for label, target, measured, ok in rows:
        print(f"{label:34s} {target:>10s}  {measured:44s} {_verdict(ok)}")
    print(f"errors: {errors}")
    floors = ", ".join(f"{m} {import_rss_mb(m):.0f} MB"
                       for m in ("pandas", "harvester.service.api",
                                 "harvester.service.refresh", "harvester.cli.main"))  # fmt: skip
    print(f"RSS after import alone: {floors}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in psutil.getloadavg())}")


if __name__ == "__main__":
    main()
