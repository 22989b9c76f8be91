"""Prometheus metrics of the replicator, and a tiny /metrics + /healthz server."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

REPLICA_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
LAG_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600)


class ReplicatorMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        reg = self.registry
        self.files_by_status = Gauge("fileserver_files_by_status", "Files per status",
                                     ["status"], registry=reg)
        self.queue_depth = Gauge("fileserver_replication_queue_depth",
                                 "Jobs waiting for the replicator (consumer pending)", registry=reg)
        self.lag = Histogram("fileserver_replication_lag_seconds",
                             "Job requested_at to job done", buckets=LAG_BUCKETS, registry=reg)
        self.replicas_per_file = Histogram("fileserver_replicas_per_file",
                                           "Replicas of a file when it became uploaded",
                                           buckets=REPLICA_BUCKETS, registry=reg)
        self.jobs = Counter("fileserver_replication_jobs_total", "Jobs handled",
                            ["kind", "outcome"], registry=reg)
        self.bytes = Counter("fileserver_replication_bytes_total",
                             "Bytes placed on Drive, by how they got there", ["mode"], registry=reg)
        self.accounts_disabled = Counter(
            "fileserver_replication_accounts_disabled_total",
            "Accounts disabled because Google refused their key", registry=reg)
        self.account_conditions = Counter(
            "fileserver_replication_account_conditions_total",
            "Accounts set full (storageQuotaExceeded) or paused (rate limit, daily upload cap)",
            ["state"], registry=reg)
        self.accounts_by_state = Gauge("fileserver_accounts_by_state",
                                       "Drive accounts per state (active, full, paused, ...)",
                                       ["state"], registry=reg)
        self.reuploads = Counter(
            "fileserver_replication_reuploads_total",
            "Copies Drive refused, by what followed: a re-upload from the VPS (done) or none "
            "because REPLICATOR_MAX_REUPLOADS_PER_FILE was reached (refused)",
            ["outcome"], registry=reg)
        self.account_outcomes = Counter(
            "fileserver_replication_account_outcomes_total",
            "Per-account outcomes of replication (done, full, paused, refused, failed)",
            ["outcome"], registry=reg)
        self.repairs = Counter("fileserver_reconcile_repairs_total", "Drift repaired",
                               ["action"], registry=reg)
        self.reconcile_seconds = Gauge("fileserver_reconcile_pass_seconds",
                                       "Duration of the last completed reconciliation pass",
                                       registry=reg)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def serve_metrics(metrics: ReplicatorMetrics, port: int,
                  healthy: Callable[[], bool]) -> ThreadingHTTPServer:
    """Serve ``/metrics`` and ``/healthz`` on 0.0.0.0:``port`` in a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path.startswith("/metrics"):
                self._answer(200, metrics.render(), CONTENT_TYPE_LATEST)
            elif self.path.startswith("/healthz"):
                ok = healthy()
                body = b'{"status": "ok"}' if ok else b'{"status": "unhealthy"}'
                self._answer(200 if ok else 503, body, "application/json")
            else:
                self._answer(404, b'{"error": {"code": "not_found"}}', "application/json")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
