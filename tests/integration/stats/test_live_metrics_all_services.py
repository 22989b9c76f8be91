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
        key = requests.post(f"{emulator}/_emulator/accounts", json={}, timeout=10).json()
        requests.post(f"{gateway}/function/drive-accounts", headers=admin, timeout=30,
                      json={"name": "metrics", "key": key}).raise_for_status()
    stored = requests.post(f"{gateway}/function/upload-file", headers=admin, timeout=60,
                           params={"name": "metrics.bin"}, data=os.urandom(SIZE)).json()
    file_url = f"{gateway}/function/files/{stored['id']}"
    wait_until(lambda: requests.get(file_url, timeout=10).json()["status"] == "uploaded", 90)
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
    # The figures agree with the API: bytes stored and bytes handed out for this file.
    assert query(prometheus, series["uploader"]) >= SIZE

    def reported() -> int:
        rows = requests.get(f"{gateway}/function/account-stats", params={"limit": 500},
                            timeout=10).json()["items"]
        return sum(r["bytes_total"] for r in rows)

    def handed_out() -> float:
        return query(prometheus, "sum(fileserver_download_bytes_handed_out_total)")

    # Once stats have drained and Prometheus has scraped, both count the same bytes.
    wait_until(lambda: handed_out() == reported() >= 6 * SIZE, 90)
