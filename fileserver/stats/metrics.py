"""Prometheus metrics of the Stats service (same process registry as the runtime's)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

EVENTS_INGESTED = Counter(
    "fileserver_stats_events_received_total",
    "Download events received by stats-compute, by outcome (accepted, duplicate, invalid)",
    ["outcome"],
)
EVENTS_COMPUTED = Counter(
    "fileserver_stats_events_computed_total",
    "Distinct download events whose increments stats-ingest stored (refused ones excluded)",
)
DUPLICATES_DROPPED = Counter(
    "fileserver_stats_duplicates_dropped_total",
    "Events dropped as duplicates: within a batch here, across batches at the Downloader",
)
LAG = Histogram(
    "fileserver_stats_lag_seconds",
    "Time from a download event's `at` to its increments reaching stats-ingest",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600),
)
