"""tools.metrics_png against a real Prometheus scraping a real exporter of fileserver metrics."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from devstack.process import free_port, wait_until
from tests.integration.stats.conftest import prometheus_process

ROOT = Path(__file__).resolve().parents[3]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def fill_registry(registry: CollectorRegistry, stop: threading.Event) -> None:
    """Metric names and labels as the functions and the replicator export them."""
    requests_total = Counter("fileserver_http_requests_total", "", ["function", "route", "method",
                                                                     "status"], registry=registry)
    files = Gauge("fileserver_files_by_status", "", ["status"], registry=registry)
    share = Gauge("fileserver_account_daily_limit_share", "", ["account_id"], registry=registry)
    handed = Counter("fileserver_download_bytes_handed_out_total", "", ["account_id"],
                     registry=registry)
    lag = Histogram("fileserver_stats_lag_seconds", "", registry=registry)
    files.labels("uploaded").set(3)
    files.labels("replicating").set(1)
    while not stop.is_set():
        requests_total.labels("get-url", "/", "GET", "200").inc(20)
        requests_total.labels("get-url", "/", "GET", "503").inc(1)
        requests_total.labels("upload-file", "/", "POST", "202").inc(2)
        for account, size in (("acc-1", 1000), ("acc-2", 3000)):
            handed.labels(account).inc(size)
            share.labels(account).inc(size / 10**6)
        lag.observe(0.2)
        stop.wait(0.2)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("prometheus")
    registry, stop = CollectorRegistry(), threading.Event()
    exporter_port = free_port()
    server, thread = start_http_server(exporter_port, "127.0.0.1", registry=registry)
    writer = threading.Thread(target=fill_registry, args=(registry, stop), daemon=True)
    writer.start()
    config = ("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
              "scrape_configs:\n  - job_name: fake-fileserver\n"
              f"    static_configs: [{{targets: ['127.0.0.1:{exporter_port}']}}]\n")
    try:
        with prometheus_process(base, config) as url:
            wait_until(lambda: _has_rate(url), 60)
            yield url
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def _has_rate(url: str) -> bool:
    body = requests.get(f"{url}/api/v1/query", timeout=2, params={
        "query": "rate(fileserver_download_bytes_handed_out_total[1m])"}).json()
    return len(body["data"]["result"]) == 2


def test_every_panel_is_rendered_with_the_workloads_series(prometheus, tmp_path):
    time.sleep(1)  # one more scrape so every panel has two points
    out = Path(os.environ.get("METRICS_PNG_KEEP", tmp_path / "png"))
    result = subprocess.run(
        [sys.executable, "-m", "tools.metrics_png", "--prometheus", prometheus, "--out", str(out),
         "--since", "2m"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    counts = dict(line.rsplit(": ", 1) for line in result.stdout.splitlines())
    series = {Path(path).stem: int(text.split()[0]) for path, text in counts.items()}
    assert series == {"traffic": 2, "errors": 1, "replication": 2, "account_daily_use": 2,
                      "bytes_per_account": 2, "stats_lag": 1}
    for name in series:
        data = (out / f"{name}.png").read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000


def test_a_refused_query_is_reported_not_drawn(prometheus, tmp_path):
    from tools import metrics_png

    bad = metrics_png.Panel("bad", "bad", "sum(", "x", ())
    with pytest.raises(RuntimeError, match="bad"):
        metrics_png.query_range(prometheus, bad, time.time() - 60, time.time(), 1)
