"""stats-compute as a real process, with a small local server standing in for the gateway.

The stand-in plays the Downloader's `account-stats` (paged) and `stats-ingest` (increments
stored all or nothing: a batch naming an event id stored before is refused whole, naming it)
and records every request it gets, so the test checks exactly what stats-compute sends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from devstack.process import free_port, stop_pid, wait_until

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "stats-test-token"
GB = 10**9
ACCOUNTS = [{"account_id": f"a{i:03d}", "bytes_today": GB if i == 0 else 0,
             "daily_limit_bytes": 100 * GB} for i in range(600)]


class GatewayStandIn(BaseHTTPRequestHandler):
    received: list[dict] = []
    pages: list[dict] = []
    stored: set[str] = set()  # event ids stats-ingest has stored
    ingest_failures = 0  # answer 503 to this many stats-ingest calls first

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        url = urlparse(self.path)
        query = {k: int(v[0]) for k, v in parse_qs(url.query).items()}
        type(self).pages.append({"path": url.path, **query,
                                 "auth": self.headers.get("Authorization")})
        items = ACCOUNTS[query["offset"]:query["offset"] + query["limit"]]
        self._answer(200, {"items": items, "total": len(ACCOUNTS), "limit": query["limit"],
                           "offset": query["offset"]})

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append({"path": self.path, "body": body,
                                     "auth": self.headers.get("Authorization")})
        if type(self).ingest_failures > 0:
            type(self).ingest_failures -= 1
            self._answer(503, {"error": {"code": "service_unavailable"}})
            return
        self._answer(200, ingest(body, type(self).stored))


def ingest(body: dict, stored: set[str]) -> dict:
    """stats-ingest's answer: store every id of the increments, or refuse the known ones."""
    ids = sent_ids(body)
    known = sorted(set(ids) & stored)
    if known:
        return {"applied": 0, "duplicates": len(known), "expired": 0,
                "refused": {"duplicates": known, "expired": []}}
    stored.update(ids)
    return {"applied": len(ids), "duplicates": 0, "expired": 0}


def sent_ids(body: dict) -> list[str]:
    files = body.get("increments", {}).get("files", [])
    return sorted(e for f in files for d in f["days"] for e in d["event_ids"])


@pytest.fixture(scope="module")
def gateway() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), GatewayStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def stats_compute(gateway: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("stats") / "stats-compute.log"
    env = {**os.environ, "GATEWAY_URL": gateway, "FILESERVER_ADMIN_TOKEN": TOKEN,
           "TARGET_MONTHLY_USERS": "1000000", "TARGET_MB_PER_USER": "500"}
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "fileserver.runtime.serve",
                                 "functions/stats-compute", "--port", str(port)], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{url}/healthz", timeout=1).ok, 30,
                   lambda: log.read_text() if proc.poll() is not None else None)
        yield url
    finally:
        stop_pid(proc.pid)
        proc.wait()


def event(event_id: str, at: str, size: int = 1000, account: str = "a000") -> dict:
    return {"event_id": event_id, "file_id": "f1", "account_id": account, "bytes": size, "at": at}


def test_a_batch_reaches_stats_ingest_bucketed_deduplicated_and_summarized(stats_compute):
    GatewayStandIn.received.clear()
    GatewayStandIn.pages.clear()
    batch = [event("e1", "2026-11-24T23:59:59.500Z"), event("e2", "2026-11-25T00:00:00Z"),
             event("e1", "2026-11-24T23:59:59.500Z"),
             event("e3", "2026-11-25T08:00:00Z", 5, "gone")]
    response = requests.post(stats_compute, json={"events": batch}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["duplicates_in_batch"] == 1
    stored, refresh = GatewayStandIn.received  # the increments, then the summary after them
    assert stored["path"] == "/function/stats-ingest"
    assert stored["auth"] == f"Bearer {TOKEN}"
    # e1 twice in the batch counts once, on the UTC day of its `at`.
    assert stored["body"] == {"increments": {
        "files": [{"file_id": "f1", "downloads": 3, "bytes": 2005, "days": [
            {"day": "2026-11-24", "downloads": 1, "bytes": 1000, "event_ids": ["e1"]},
            {"day": "2026-11-25", "downloads": 2, "bytes": 1005,
             "event_ids": ["e2", "e3"]}]}],
        "accounts": [
            {"account_id": "a000", "downloads": 2, "bytes": 2000, "days": [
                {"day": "2026-11-24", "downloads": 1, "bytes": 1000, "event_ids": ["e1"]},
                {"day": "2026-11-25", "downloads": 1, "bytes": 1000, "event_ids": ["e2"]}]},
            {"account_id": "gone", "downloads": 1, "bytes": 5, "days": [
                {"day": "2026-11-25", "downloads": 1, "bytes": 5, "event_ids": ["e3"]}]}]}}
    assert list(refresh["body"]) == ["summary"]
    summary = refresh["body"]["summary"]
    assert summary["balance"]["accounts"] == 600  # both pages of account-stats were read
    assert summary["capacity"]["accounts_needed_target"] == 165
    assert [(p["offset"], p["limit"]) for p in GatewayStandIn.pages] == [(0, 500), (500, 500)]
    assert all(p["path"] == "/function/account-stats" for p in GatewayStandIn.pages)


def test_a_batch_overlapping_a_stored_one_is_resent_without_the_known_events(stats_compute):
    GatewayStandIn.received.clear()
    batch = [event("k1", "2026-11-25T03:00:00Z"), event("e2", "2026-11-25T00:00:00Z"),
             event("k2", "2026-11-25T03:00:01Z", 7)]  # e2 was stored by the test above
    response = requests.post(stats_compute, json={"events": batch}, timeout=10)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["applied"], answer["duplicates_at_ingest"]) == (2, 1)
    refused, stored, _summary = GatewayStandIn.received
    assert sent_ids(refused["body"]) == ["e2", "k1", "k2"]
    assert stored["body"]["increments"]["files"] == [
        {"file_id": "f1", "downloads": 2, "bytes": 1007, "days": [
            {"day": "2026-11-25", "downloads": 2, "bytes": 1007, "event_ids": ["k1", "k2"]}]}]


def test_invalid_events_get_a_json_400_and_nothing_is_sent(stats_compute):
    GatewayStandIn.received.clear()
    response = requests.post(stats_compute, json={"events": [event("e1", "2026-11-25T10:00:00")]},
                             timeout=10)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_request"
    assert "timezone" in error["details"]["invalid"][0]["problem"]
    assert requests.post(stats_compute, data="x", timeout=10).status_code == 415
    assert GatewayStandIn.received == []


def test_a_brief_downloader_outage_is_retried(stats_compute):
    GatewayStandIn.received.clear()
    GatewayStandIn.ingest_failures = 2
    response = requests.post(stats_compute, json={"events": [event("r1", "2026-11-25T01:00Z")]},
                             timeout=10)
    assert response.status_code == 200, response.text
    assert len(GatewayStandIn.received) == 4  # two 503s, then applied, then the summary


def test_a_downloader_that_stays_down_is_a_502(stats_compute):
    GatewayStandIn.received.clear()
    GatewayStandIn.ingest_failures = 10
    try:
        response = requests.post(stats_compute, json={"events": [event("e9", "2026-11-25T01:00Z")]},
                                 timeout=10)
    finally:
        GatewayStandIn.ingest_failures = 0
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"
    assert len(GatewayStandIn.received) == 4  # first try + 3 retries


def test_stats_metrics_are_exported(stats_compute):
    requests.post(stats_compute, json={"events": [event("m1", "2026-11-25T02:00:00Z")]},
                  timeout=10).raise_for_status()
    text = requests.get(f"{stats_compute}/_/metrics", timeout=5).text
    assert "fileserver_stats_events_computed_total" in text
    assert 'fileserver_stats_events_received_total{outcome="duplicate"} 1.0' in text
    assert "fileserver_stats_lag_seconds_count" in text
