"""The read-only HTTP service of ``harvester serve``: monitoring, JSON API and dashboard.

See ``docs/monitoring.md``. :mod:`~harvester.service.metrics` holds the ``harvester_*``
Prometheus metrics for any process that exposes them.
"""

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
