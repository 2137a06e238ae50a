"""What every benchmark prints about the machine it ran on."""

from __future__ import annotations

import contextlib
import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

__all__ = ["cpu_model", "machine_line", "versions_line"]


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo, or the platform's processor string."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine_line() -> str:
    """Return CPU, core counts, OS and Python version on one line."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    return (
        f"machine: {cpu_model()}, {os.cpu_count()} cores ({usable} usable), "
        f"{platform.system()} {platform.machine()}, Python {platform.python_version()}"
    )


def versions_line(*packages: str) -> str:
    """Return ``name version`` for each installed package (``not installed`` otherwise)."""
    parts = []
    for name in packages:
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} not installed")
    return "libraries: " + ", ".join(parts)
