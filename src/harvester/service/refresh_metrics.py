"""The refresh's own metrics, kept by the serving process (it counts every refresh).

``harvester_reports_generated_total``, ``harvester_last_update_timestamp_seconds`` and the
``harvester_refresh_duration_seconds`` histogram live here rather than in the refresh's
registry (:mod:`harvester.service.metrics`): a refresh process may be replaced (after a
crash, or after every refresh as ``harvester serve`` does by default), and a counter in it
would start again at 0. Only ``prometheus_client`` here: the serving process stays light.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["RefreshMetrics"]


@dataclass(frozen=True, slots=True)
class RefreshMetrics:
    """Refreshes counted, timed and stamped; :meth:`exposition` appends them to a scrape."""

    registry: CollectorRegistry
    reports: Counter
    last_update: Gauge
    duration: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> RefreshMetrics:
        reg = CollectorRegistry() if registry is None else registry
        return cls(
            registry=reg,
            reports=Counter("harvester_reports_generated", "Reports built.", registry=reg),
            last_update=Gauge(
                "harvester_last_update_timestamp_seconds",
                "Unix time of the last refresh.",
                registry=reg,
            ),
            duration=Histogram(
                "harvester_refresh_duration_seconds",
                "Time to refresh the snapshot.",
                registry=reg,
            ),
        )

    def refreshed(self, timestamp: float, seconds: float) -> None:
        """Count a successful refresh as of ``timestamp`` that took ``seconds``."""
        self.reports.inc()
        self.last_update.set(timestamp)
        self.duration.observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
