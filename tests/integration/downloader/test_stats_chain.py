"""The whole download-statistics chain through the real local gateway and queue-worker.

get-url (outbox relay) → gateway ``/async-function/stats-compute`` → JetStream → queue-worker
→ stats-compute (computes the increments) → gateway ``/function/stats-ingest`` (stores them)
→ PostgreSQL → file-stats/account-stats. Once the queue drains, the reports equal the counts
taken from the get-url responses, and Stats computed every event exactly once.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from devstack.nats import NatsServer
from devstack.process import free_port, stop_pid, wait_until

ROOT = Path(__file__).resolve().parents[3]
FUNCTIONS = ("downloader-sync", "get-url", "stats-compute", "stats-ingest", "file-stats",
             "account-stats")


def start_gateway(port: int, functions: dict[str, str], nats_url: str,
                  tmp: Path) -> list[subprocess.Popen[bytes]]:
    registry = tmp / "functions.json"
    registry.write_text(json.dumps(functions))
    gateway_url = f"http://127.0.0.1:{port}"
    with open(tmp / "gateway.log", "ab") as log:
        procs = [subprocess.Popen(
            [sys.executable, "-m", "devstack.gateway", "--port", str(port), "--functions",
             str(registry), "--nats-url", nats_url], cwd=ROOT, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)]
        wait_until(lambda: requests.get(f"{gateway_url}/healthz", timeout=1).ok, 30)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "devstack.queue_worker", "--nats-url", nats_url, "--gateway",
             gateway_url], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True))
    return procs


def seed(gateway: str, admin: dict[str, str]) -> dict[str, int]:
    sync = f"{gateway}/function/downloader-sync"
    sizes = {f"f{i}": 1_000 * (i + 1) for i in range(5)}
    for a in ("a0", "a1", "a2"):
        body = {"email": f"{a}@x.test", "daily_limit_bytes": 10**12, "active": True, "version": 1}
        assert requests.put(f"{sync}/accounts/{a}", json=body, headers=admin).ok
        for file_id, size in sizes.items():
            body = {"name": file_id, "size": size, "version": 1}
            assert requests.put(f"{sync}/files/{file_id}", json=body, headers=admin).ok
            replica = {"drive_file_id": f"{file_id}{a}", "url": f"http://d.test/{file_id}{a}",
                       "version": 1}
            assert requests.put(f"{sync}/replicas/{file_id}/{a}", json=replica,
                                headers=admin).ok
    return sizes


def test_reports_equal_the_responses_after_the_queue_drains(
        database_url: str, nats_server: NatsServer, admin: dict[str, str], tmp_path: Path,
        start_function: Callable[..., str]) -> None:
    port = free_port()
    gateway = f"http://127.0.0.1:{port}"
    env = {"POSTGRES_URL": database_url, "GATEWAY_URL": gateway, "OUTBOX_IDLE_MS": "200"}
    functions = {name: start_function(name, env, threads=8) for name in FUNCTIONS}
    procs = start_gateway(port, functions, nats_server.url, tmp_path)
    try:
        sizes = seed(gateway, admin)
        plan = [f"f{i % 5}" for i in range(300)]
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda f: requests.get(
                f"{gateway}/function/get-url", params={"id": f}, timeout=30).json(), plan))
        files, accounts = Counter(), Counter()
        for answer in answers:
            files[answer["file_id"]] += answer["size"]
            accounts[answer["account_id"]] += answer["size"]
        assert sum(files.values()) == sum(sizes[f] for f in plan)

        def reports_match() -> bool:
            f_rows = requests.get(f"{gateway}/function/file-stats", timeout=5).json()["items"]
            a_rows = requests.get(f"{gateway}/function/account-stats", timeout=5).json()["items"]
            return ({r["file_id"]: r["bytes_total"] for r in f_rows} == dict(files)
                    and {r["account_id"]: r["bytes_total"] for r in a_rows} == dict(accounts)
                    and sum(r["downloads"] for r in f_rows) == len(plan))

        wait_until(reports_match, 60)
        metrics = requests.get(f"{functions['stats-compute']}/_/metrics", timeout=5).text
        computed = re.search(r"^fileserver_stats_events_computed_total (\S+)$", metrics, re.M)
        assert computed is not None and float(computed.group(1)) == len(plan)
    finally:
        for proc in reversed(procs):
            stop_pid(proc.pid)
            proc.wait()
