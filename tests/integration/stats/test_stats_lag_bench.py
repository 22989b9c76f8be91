"""bench.stats_lag end to end against a real stats-compute process.

A local server stands in for the gateway and plays a minimal Downloader: get-url hands out
URLs round-robin over three accounts and keeps each event in an outbox that a relay thread
sends to stats-compute in batches (as the Downloader's outbox relay does); stats-ingest
stores the increments Stats computed, all or nothing, refusing a batch that names a stored
event id; file-stats and account-stats serve the counts. The bench must converge exactly and
print its figures.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from devstack.process import free_port, stop_pid, wait_until

ROOT = Path(__file__).resolve().parents[3]


class MiniDownloader:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: set[str] = set()
        self.files: Counter[str] = Counter()
        self.accounts: Counter[str] = Counter()
        self.next_account = itertools.cycle(["a1", "a2", "a3"])
        self.outbox: list[dict] = []
        self.stop = threading.Event()
        self.stats_compute_url = ""

    def relay(self) -> None:
        """Send whatever the outbox holds as one batch, every 20 ms; keep it on failure."""
        session = requests.Session()
        while not self.stop.wait(0.02):
            with self.lock:
                batch, self.outbox = self.outbox, []
            if not batch:
                continue
            try:
                session.post(self.stats_compute_url, json={"events": batch},
                             timeout=10).raise_for_status()
            except requests.RequestException:
                with self.lock:
                    self.outbox = batch + self.outbox

    def hand_out(self, file_id: str) -> dict:
        with self.lock:
            account = next(self.next_account)
            event = {"event_id": uuid.uuid4().hex, "file_id": file_id, "account_id": account,
                     "bytes": 1000, "at": datetime.now(UTC).isoformat()}
            self.outbox.append(event)
        return {"url": "http://drive/uc", "file_id": file_id, "account_id": account,
                "name": "x", "size": 1000, "event_id": event["event_id"]}

    def ingest(self, body: dict) -> dict:
        """Store Stats' increments all or nothing; refuse a batch naming a stored event."""
        increments = body.get("increments", {"files": [], "accounts": []})
        ids = {e for f in increments["files"] for d in f["days"] for e in d["event_ids"]}
        with self.lock:
            known = sorted(ids & self.seen)
            if known:
                return {"applied": 0, "duplicates": len(known), "expired": 0,
                        "refused": {"duplicates": known, "expired": []}}
            self.seen.update(ids)
            for side, counts, key in (("files", self.files, "file_id"),
                                      ("accounts", self.accounts, "account_id")):
                for item in increments[side]:
                    counts[item[key]] += item["downloads"]
        return {"applied": len(ids), "duplicates": 0, "expired": 0}

    def account_rows(self) -> dict:
        with self.lock:
            items = [{"account_id": a, "downloads": self.accounts[a], "bytes_today": 0,
                      "daily_limit_bytes": 10**11} for a in ("a1", "a2", "a3")]
        return {"items": items, "total": 3}


def handler_for(mini: MiniDownloader) -> type[BaseHTTPRequestHandler]:
    class Gateway(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/function/files":
                self._answer(200, {"items": [{"id": "f1"}], "total": 1})
            elif url.path == "/function/get-url":
                self._answer(200, mini.hand_out(query["id"]))
            elif url.path == "/function/account-stats":
                self._answer(200, mini.account_rows())
            elif url.path.startswith("/function/file-stats/"):
                file_id = url.path.rsplit("/", 1)[1]
                with mini.lock:
                    count = mini.files[file_id]
                self._answer(200, {"file_id": file_id, "downloads": count})
            else:
                self._answer(404, {"error": {"code": "not_found"}})

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            self._answer(200, mini.ingest(body))

    return Gateway


@pytest.fixture
def mini_stack(tmp_path: Path) -> Iterator[str]:
    mini = MiniDownloader()
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler_for(mini))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    gateway = f"http://127.0.0.1:{server.server_port}"
    port = free_port()
    env = {**os.environ, "GATEWAY_URL": gateway, "FILESERVER_ADMIN_TOKEN": "t"}
    with open(tmp_path / "stats-compute.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "fileserver.runtime.serve",
                                 "functions/stats-compute", "--port", str(port)], cwd=ROOT,
                                env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    mini.stats_compute_url = f"http://127.0.0.1:{port}/"
    try:
        wait_until(lambda: requests.get(f"{mini.stats_compute_url}healthz", timeout=1).ok, 30)
        relay = threading.Thread(target=mini.relay, daemon=True)
        relay.start()
        yield gateway
    finally:
        mini.stop.set()
        stop_pid(proc.pid)
        proc.wait()
        server.shutdown()
        server.server_close()


def test_the_bench_converges_and_reports_the_lag(mini_stack):
    result = subprocess.run(
        [sys.executable, "-m", "bench.stats_lag", "--gateway", mini_stack, "--rate", "100",
         "--seconds", "2", "--settle", "30"], cwd=ROOT, capture_output=True, text=True,
        timeout=120, env={**os.environ, "FILESERVER_ADMIN_TOKEN": "t"})
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "file downloads: expected +200, reported +200" in result.stdout
    assert "per-account downloads match the responses: True" in result.stdout
    assert "stats lag over 200 URLs: p50" in result.stdout
