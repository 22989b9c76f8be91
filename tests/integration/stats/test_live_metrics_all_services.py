"""Issue 8 on the live stack: after a real workload (accounts, an upload, replication,
download URLs, stats), Prometheus holds non-zero series from the Uploader, the replicator,
the Downloader and Stats, and their figures agree with the API."""

from __future__ import annotations

import os

import pytest
import requests

from devstack.process import wait_until

SIZE = 300_000


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest):
    return request.getfixturevalue("live_stack")


def query(prometheus: str, expr: str) -> float:
    body = requests.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert body["status"] == "success", body
    return sum(float(r["value"][1]) for r in body["data"]["result"])


def test_every_service_exports_series_that_agree_with_the_api(stack):
    prometheus = stack.info()["components"].get("prometheus", {}).get("url")
    if not prometheus:
        pytest.skip("the live stack runs without Prometheus (no prometheus binary)")
    gateway = stack.gateway_url
    admin = {"Authorization": f"Bearer {stack.admin_token}"}
    emulator = stack.component("drive-emulator")["url"]
    for _ in range(2):
        key = requests.post(f"{emulator}/_emulator/accounts", json={"legacy": True},
                            timeout=10).json()
        requests.post(f"{gateway}/function/drive-accounts", headers=admin, timeout=30,
                      json={"name": "metrics", "key": key}).raise_for_status()
    stored = requests.post(f"{gateway}/function/upload-file", headers=admin, timeout=60,
                           params={"name": "metrics.bin"}, data=os.urandom(SIZE)).json()
    file_url = f"{gateway}/function/files/{stored['id']}"
    wait_until(lambda: requests.get(file_url, timeout=10).json()["status"] == "uploaded", 90)
    handed_out_expr = "sum(fileserver_download_bytes_handed_out_total)"
    # The session stack is shared: start from what get-url and download count right now.
    before = own_counter(stack, "fileserver_download_bytes_handed_out_total")
    for _ in range(6):
        requests.get(f"{gateway}/function/get-url", params={"id": stored["id"]},
                     timeout=10).raise_for_status()

    series = {
        "uploader": 'sum(fileserver_upload_bytes_total)',
        "replicator": 'sum(fileserver_replication_jobs_total{kind="replicate"})',
        "downloader": 'sum(fileserver_download_urls_total)',
        "stats": 'sum(fileserver_stats_events_computed_total)',
    }
    wait_until(lambda: all(query(prometheus, expr) > 0 for expr in series.values()), 90)
    assert query(prometheus, series["uploader"]) >= SIZE

    def reported() -> int:
        return requests.get(f"{gateway}/function/file-stats/{stored['id']}",
                            timeout=10).json()["bytes_total"]

    # Once stats have drained and Prometheus has scraped, both count this file's six URLs.
    wait_until(lambda: reported() == 6 * SIZE, 90)
    wait_until(lambda: query(prometheus, handed_out_expr) == before + 6 * SIZE, 90)


def own_counter(stack, name: str) -> float:
    """A counter as the processes that book downloads export it (no scrape in between):
    get-url and the download redirector, which books through the same service."""
    total = 0.0
    for function in ("get-url", "download"):
        text = requests.get(stack.component(function)["url"] + "/_/metrics", timeout=10).text
        total += sum(float(line.split()[-1]) for line in text.splitlines()
                     if line.startswith(name + " ") or line.startswith(name + "{"))
    return total
