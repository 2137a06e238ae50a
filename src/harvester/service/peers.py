"""Read other harvester processes' ``/metrics`` (as the spec's service reads its sources).

Each peer is fetched with a short timeout; a peer that is down, slow, answers an error or
sends text that is not Prometheus exposition is reported ``up=False`` with the reason, never
raised: the service keeps serving its own data. Only ``harvester_*`` samples are kept
(``*_created`` timestamps are dropped: they say when a series was born, not a value).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["PEER_TIMEOUT_SECONDS", "PeerSample", "PeerStatus", "fetch_peer", "parse_samples"]

PEER_TIMEOUT_SECONDS = 2.0
_PREFIX = "harvester_"


@dataclass(frozen=True, slots=True)
class PeerSample:
    """One sample of a peer's exposition."""

    name: str
    labels: dict[str, str]
    value: float

    def to_dict(self) -> dict[str, Any]:
        value = self.value if math.isfinite(self.value) else None
        return {"name": self.name, "labels": self.labels, "value": value}


@dataclass(frozen=True, slots=True)
class PeerStatus:
    """A peer at the last refresh: whether it answered, and its ``harvester_*`` samples."""

    url: str
    up: bool
    error: str | None = None
    samples: list[PeerSample] = field(default_factory=list)

    def value(self, name: str) -> float | None:
        """The first sample called ``name`` (a metric without labels), or None."""
        return next((s.value for s in self.samples if s.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": "up" if self.up else "unavailable",
            "error": self.error,
            "metrics": [s.to_dict() for s in self.samples],
        }


def parse_samples(text: str) -> list[PeerSample]:
    """The ``harvester_*`` samples of a Prometheus text exposition."""
    return [
        PeerSample(sample.name, dict(sample.labels), float(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith(_PREFIX) and not sample.name.endswith("_created")
    ]


def fetch_peer(client: httpx.Client, url: str) -> PeerStatus:
    """GET ``url`` (a peer's ``/metrics``) and parse it; any failure marks the peer down."""
    try:
        response = client.get(url, timeout=PEER_TIMEOUT_SECONDS)
        response.raise_for_status()
        return PeerStatus(url, up=True, samples=parse_samples(response.text))
    except httpx.HTTPError as error:
        return PeerStatus(url, up=False, error=f"{type(error).__name__}: {error}")
    except ValueError as error:  # the parser's complaint about text that is not exposition
        return PeerStatus(url, up=False, error=f"not Prometheus text: {error}")
