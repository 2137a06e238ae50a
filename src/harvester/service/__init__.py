"""The read-only HTTP service of ``harvester serve``: monitoring, JSON API and dashboard.

See ``docs/monitoring.md``. :mod:`~harvester.service.metrics` holds the ``harvester_*``
Prometheus metrics for any process that exposes them.

The names below are imported on first use: the serving process imports the app and the
state, never the metrics or the read-only store (they pull pandas and SQLAlchemy, which only
its refresh process needs).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harvester.service.api import create_app
    from harvester.service.metrics import HarvesterMetrics, build_metrics
    from harvester.service.readonly import open_readonly
    from harvester.service.state import ServiceSettings, ServiceState

__all__ = [
    "HarvesterMetrics",
    "ServiceSettings",
    "ServiceState",
    "build_metrics",
    "create_app",
    "open_readonly",
]

_HOMES = {
    "HarvesterMetrics": "metrics",
    "ServiceSettings": "state",
    "ServiceState": "state",
    "build_metrics": "metrics",
    "create_app": "api",
    "open_readonly": "readonly",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
