"""Per-client limits live: two get-url processes behind the real local gateway and
queue-worker, the default limits, the whole Stats chain.

One client (X-Forwarded-For 203.0.113.7, as a reverse proxy in front of the gateway writes
it) calls get-url 5,000 times for one file, spread over both processes: one booking, every
other answer the same link or 429 with Retry-After. A second client meanwhile gets its URLs
normally. Stats counts one download per client.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from devstack.nats import NatsServer
from devstack.process import free_port, stop_pid, wait_until
from fileserver.downloader.db import Database
from tests.integration.downloader.test_stats_chain import start_gateway

CALLS = 5_000
SIZE = 500_000_000  # 500 MB: the seed's monthly download per user
ALICE, BOB = "203.0.113.7", "198.51.100.9"
FUNCTIONS = ("downloader-sync", "stats-compute", "stats-ingest", "file-stats")


def seed(sync: str, admin: dict[str, str]) -> None:
    assert requests.put(f"{sync}/files/big", json={"name": "big.bin", "size": SIZE,
                                                   "version": 1}, headers=admin).ok
    for a in ("a0", "a1", "a2", "a3"):
        body = {"email": f"{a}@x.test", "daily_limit_bytes": 10**11, "active": True, "version": 1}
        assert requests.put(f"{sync}/accounts/{a}", json=body, headers=admin).ok
        replica = {"drive_file_id": f"big-{a}", "url": f"http://d.test/big-{a}", "version": 1}
        assert requests.put(f"{sync}/replicas/big/{a}", json=replica, headers=admin).ok


def hammer(gateway: str, client: str) -> Callable[[int], tuple[int, str | None, str | None]]:
    """One call of ``client`` (through get-url or its second process, by parity)."""
    local = threading.local()

    def call(i: int) -> tuple[int, str | None, str | None]:
        session = local.__dict__.setdefault("session", requests.Session())
        name = "get-url" if i % 2 else "get-url-2"
        got = session.get(f"{gateway}/function/{name}", params={"id": "big"},
                          headers={"X-Forwarded-For": client}, timeout=30)
        if got.status_code == 200:
            return 200, got.json()["url"], None
        assert got.json()["error"]["code"] == "too_many_requests", got.text
        return got.status_code, None, got.headers.get("Retry-After")

    return call


def test_one_client_5000_calls_books_once_and_another_client_is_served(
        database_url: str, nats_server: NatsServer, admin: dict[str, str], tmp_path: Path,
        start_function: Callable[..., str]) -> None:
    port = free_port()
    gateway = f"http://127.0.0.1:{port}"
    env = {"POSTGRES_URL": database_url, "GATEWAY_URL": gateway, "OUTBOX_IDLE_MS": "200"}
    functions = {name: start_function(name, env, threads=8) for name in FUNCTIONS}
    functions["get-url"] = start_function("get-url", env, threads=8)
    functions["get-url-2"] = start_function("get-url", env, threads=8)
    procs = start_gateway(port, functions, nats_server.url, tmp_path)
    try:
        seed(f"{gateway}/function/downloader-sync", admin)
        bob = hammer(gateway, BOB)
        bob_answers = []
        with ThreadPoolExecutor(8) as pool:
            alice = pool.map(hammer(gateway, ALICE), range(CALLS))
            for i in range(10):  # the second client, meanwhile, at a person's pace
                bob_answers.append(bob(i))
            answers = list(alice)
        statuses = Counter(status for status, _, _ in answers)
        assert set(statuses) == {200, 429} and statuses[200] >= 1, statuses
        assert len({url for _, url, _ in answers if url}) == 1  # always the same link
        assert all(int(retry) >= 1 for status, _, retry in answers if status == 429)
        assert [status for status, _, _ in bob_answers] == [200] * 10
        assert len({url for _, url, _ in bob_answers}) == 1
        db = Database(database_url, pool_size=1)
        booked = db.run("SELECT sum(bytes_today) AS b FROM account_usage")[0]["b"]
        db.close()
        assert booked == 2 * SIZE  # one booking per client and window

        def stats_count_one_download_per_client() -> bool:
            rows = requests.get(f"{gateway}/function/file-stats", timeout=5).json()["items"]
            return [(r["file_id"], r["downloads"], r["bytes_total"]) for r in rows] == [
                ("big", 2, 2 * SIZE)]

        limited = {"limited": 0.0, "repeated": 0.0}
        for name in ("get-url", "get-url-2"):
            for line in requests.get(f"{functions[name]}/_/metrics", timeout=5).text.splitlines():
                for outcome in limited:
                    if line.startswith(f'fileserver_client_limited_total{{outcome="{outcome}"}}'):
                        limited[outcome] += float(line.split()[-1])
        assert limited == {"limited": statuses[429], "repeated": statuses[200] - 1 + 9}
        wait_until(stats_count_one_download_per_client, 60)
        print(f"\n{CALLS} calls of one client: {dict(statuses)}")
    finally:
        for proc in reversed(procs):
            stop_pid(proc.pid)
            proc.wait()


def test_the_redirector_books_through_the_same_limits_as_get_url(
        database_url: str, async_gateway, admin, start_function: Callable[..., str]) -> None:
    env = {"POSTGRES_URL": database_url, "GATEWAY_URL": async_gateway.url,
           "CLIENT_BURST": "4", "CLIENT_RATE_PER_MINUTE": "1"}
    sync = start_function("downloader-sync", env)
    get_url, download = start_function("get-url", env), start_function("download", env)
    seed(sync, admin)
    alice = {"X-Forwarded-For": ALICE}
    first = requests.get(f"{get_url}/", params={"id": "big"}, headers=alice, timeout=10).json()
    redirects = [requests.get(f"{download}/big/big.bin", headers=alice, allow_redirects=False,
                              timeout=10) for _ in range(3)]
    assert [(r.status_code, r.headers["Location"]) for r in redirects] == [
        (302, first["url"])] * 3  # the window is shared: the same replica, nothing booked
    refused = requests.get(f"{download}/big", headers={**alice, "Accept": "text/html"},
                           allow_redirects=False, timeout=10)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "try again in" in refused.text  # a browser gets a readable page
    other = requests.get(f"{download}/big", headers={"X-Forwarded-For": BOB},
                         allow_redirects=False, timeout=10)
    assert other.status_code == 302 and other.headers["Location"] != first["url"]
    db = Database(database_url, pool_size=1)
    assert db.run("SELECT sum(bytes_today) AS b FROM account_usage")[0]["b"] == 2 * SIZE
    db.close()
