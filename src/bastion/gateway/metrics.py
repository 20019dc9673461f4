"""Prometheus metrics of one gateway process, served at ``/metrics`` (``metrics:read``).

- ``bastion_gateway_request_seconds{model,outcome}``: latency histogram
- ``bastion_gateway_refusals_total{guard,code}``: refusals by guard and reason
- ``bastion_gateway_flags_total{guard,code}``: requests let through but flagged
- ``bastion_gateway_in_flight``: requests being handled now
- ``process_resident_memory_bytes`` and the rest of the standard process collector
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

# From 0.5 ms: the gateway's own overhead is well under a millisecond.
_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class GatewayMetrics:
    """The collectors, on a registry of their own (not the global default)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.latency = Histogram(
            "bastion_gateway_request_seconds",
            "Time from request to response, by model and outcome.",
            ("model", "outcome"),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.refusals = Counter(
            "bastion_gateway_refusals_total",
            "Requests refused, by guard and reason code.",
            ("guard", "code"),
            registry=self.registry,
        )
        self.flags = Counter(
            "bastion_gateway_flags_total",
            "Requests answered but flagged, by guard and reason code.",
            ("guard", "code"),
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "bastion_gateway_in_flight", "Requests being handled now.", registry=self.registry
        )
        ProcessCollector(registry=self.registry)

    def render(self) -> bytes:
        """The exposition text."""
        return generate_latest(self.registry)
