"""Prometheus metrics shared by every function process (one registry per process)."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

REQUESTS = Counter(
    "fileserver_http_requests_total", "HTTP requests handled, by function, route and status",
    ["function", "route", "method", "status"],
)
LATENCY = Histogram(
    "fileserver_http_request_duration_seconds", "Time to handle a request",
    ["function", "route"], buckets=LATENCY_BUCKETS,
)
IN_FLIGHT = Gauge(
    "fileserver_http_requests_in_flight", "Requests being handled now", ["function"],
)

REQUEST_BODY_BYTES = Counter(
    "fileserver_http_request_body_bytes", "Request body bytes read from the socket "
    "(fileserver.runtime.server: every request of this process, refused ones too)",
)


def registry() -> CollectorRegistry:
    return REGISTRY
