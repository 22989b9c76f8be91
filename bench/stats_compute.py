"""Throughput of stats-compute: the pure computation, and the real process over HTTP.

    python -m bench.stats_compute [--events 10000] [--accounts 200] [--calls 2000]

1. In process, what stats-compute runs for one batch of ``--events``: validate + de-dup +
   the increments sent to stats-ingest (per file and per account, per UTC day, with their
   event ids) as JSON + the summary from ``--accounts`` account rows.
2. A real ``stats-compute`` process (started here on a free port, stopped by pid) with a local
   server standing in for the gateway (account-stats, and stats-ingest answering "stored"):
   ``--calls`` one-event requests from 16 threads, each one increments call, one
   account-stats read and one summary call, as every batch costs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from devstack.process import free_port, interrupt_on_sigterm, stop_pid, wait_until
from fileserver.stats import compute

ROOT = Path(__file__).resolve().parent.parent


def make_events(count: int, accounts: int) -> list[dict]:
    start = datetime(2026, 11, 25, tzinfo=UTC)
    return [{"event_id": uuid.uuid4().hex, "file_id": f"f{i % 50}",
             "account_id": f"a{i % accounts}", "bytes": 10**6 + i,
             "at": compute.format_utc(start + timedelta(milliseconds=i))} for i in range(count)]


def bench_pure(events: list[dict], accounts: int) -> float:
    rows = [{"account_id": f"a{i}", "bytes_today": 0, "daily_limit_bytes": 10**11}
            for i in range(accounts)]
    target = compute.CapacityTarget(1_000_000, 500, 10**11)
    started = time.perf_counter()
    unique, _ = compute.dedupe(compute.parse_batch(events))
    json.dumps({"increments": compute.batch_increments(unique)})
    json.dumps({"summary": compute.summary(rows, datetime.now(UTC), target)})
    return time.perf_counter() - started


def stand_in(accounts: int) -> ThreadingHTTPServer:
    rows = json.dumps({"items": [{"account_id": f"a{i}", "bytes_today": 0,
                                  "daily_limit_bytes": 10**11} for i in range(accounts)],
                       "total": accounts}).encode()

    class Gateway(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, data: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            self._send(rows)

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            files = body.get("increments", {}).get("files", [])
            self._send(json.dumps({"applied": sum(f["downloads"] for f in files),
                                   "duplicates": 0, "expired": 0}).encode())

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def start_function(gateway: str, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "GATEWAY_URL": gateway, "FILESERVER_ADMIN_TOKEN": "bench-token"}
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "fileserver.runtime.serve",
                                 "functions/stats-compute", "--port", str(port)], cwd=ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: requests.get(f"{url}/healthz", timeout=1).ok, 30)
    return proc, url


def bench_process(events: list[dict], accounts: int) -> tuple[float, list[float]]:
    """Calls per second and per-call latencies of one-event requests to a real process."""
    server = stand_in(accounts)
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_function(f"http://127.0.0.1:{server.server_port}",
                                   Path(tmp) / "stats-compute.log")
        local = threading.local()

        def call(event: dict) -> float:
            if not hasattr(local, "session"):
                local.session = requests.Session()
            started = time.perf_counter()
            local.session.post(url, json={"events": [event]}, timeout=10).raise_for_status()
            return time.perf_counter() - started

        try:
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=16) as pool:
                latencies = list(pool.map(call, events))
            elapsed = time.perf_counter() - started
        finally:
            stop_pid(proc.pid)
            proc.wait()
            server.shutdown()
            server.server_close()
    return len(events) / elapsed, latencies


def main(argv: list[str] | None = None) -> None:
    interrupt_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--calls", type=int, default=2_000)
    args = parser.parse_args(argv)
    events = make_events(args.events, args.accounts)
    seconds = bench_pure(events, args.accounts)
    print(f"pure compute: {args.events} events x {args.accounts} accounts in {seconds:.3f} s "
          f"({args.events / seconds:,.0f} events/s)")
    rate, latencies = bench_process(make_events(args.calls, args.accounts), args.accounts)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    print(f"stats-compute process, one event per call, 16 threads: {rate:,.0f} calls/s, "
          f"latency p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
