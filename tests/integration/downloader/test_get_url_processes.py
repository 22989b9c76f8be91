"""get-url and its neighbours as real function processes over HTTP on a real PostgreSQL.

10 accounts, 50 files of 1 KB..20 MB, 10,000 get-url calls (16 concurrent clients): every
account used, bytes per account within 5%, no account over its limit, and consecutive calls
for one file rotate through its accounts in order. The download events relayed from the
outbox are then ingested through stats-ingest, and the reports must equal the ground truth
counted from the get-url responses, exactly.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests

from devstack.process import free_port, wait_until
from fileserver.downloader.db import Database
from fileserver.downloader.repository import OutboxRepository
from tests.integration.downloader.stats_payload import body

ACCOUNTS = [f"acc{i:02d}" for i in range(10)]
LIMIT = 15 * 10**9
CALLS = 10_000
CLIENTS = 16


def seed(sync: str, admin: dict[str, str], sizes: dict[str, int]) -> None:
    session = requests.Session()
    session.headers.update(admin)
    for account in ACCOUNTS:
        body = {"email": f"{account}@x.test", "daily_limit_bytes": LIMIT, "active": True,
                "version": 1}
        assert session.put(f"{sync}/accounts/{account}", json=body).json()["applied"]
    for file_id, size in sizes.items():
        body = {"name": f"{file_id}.bin", "size": size, "md5": "0" * 32, "version": 1}
        assert session.put(f"{sync}/files/{file_id}", json=body).json()["applied"]
        for account in ACCOUNTS:
            replica = {"drive_file_id": f"{file_id}-{account}", "version": 1,
                       "url": f"http://drive.test/uc?id={file_id}-{account}&export=download"}
            assert session.put(f"{sync}/replicas/{file_id}/{account}", json=replica).ok


def hammer(get_url: str, file_ids: list[str], calls: int) -> list[dict]:
    local = threading.local()
    rng = random.Random(11)
    plan = [rng.choice(file_ids) for _ in range(calls)]

    def call(file_id: str) -> dict:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        response = local.session.get(f"{get_url}/", params={"id": file_id}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(call, plan))


def test_balanced_get_url_and_exact_reports(database_url: str, async_gateway, admin,
                                             start_function: Callable[..., str]) -> None:
    env = {"POSTGRES_URL": database_url, "GATEWAY_URL": async_gateway.url,
           "OUTBOX_IDLE_MS": "200"}
    sync, get_url = start_function("downloader-sync", env), start_function("get-url", env)
    rng = random.Random(5)
    sizes = {f"f{i:02d}": rng.randint(1_000, 20_000_000) for i in range(50)}
    sizes["f00"], sizes["f01"] = 1_000, 20_000_000
    seed(sync, admin, sizes)

    sequential = [requests.get(f"{get_url}/", params={"id": "f07"}).json() for _ in range(20)]
    assert [r["account_id"] for r in sequential] == ACCOUNTS * 2
    assert sequential[3]["url"] == "http://drive.test/uc?id=f07-acc03&export=download"

    started = time.perf_counter()
    responses = sequential + hammer(get_url, list(sizes), CALLS - len(sequential))
    elapsed = time.perf_counter() - started
    print(f"\n{CALLS} get-url calls, {CLIENTS} clients: {CALLS / elapsed:.0f} req/s")

    handed = Counter()
    for r in responses:
        assert r["size"] == sizes[r["file_id"]]
        handed[r["account_id"]] += r["size"]
    assert set(handed) == set(ACCOUNTS)
    assert max(handed.values()) / min(handed.values()) <= 1.05
    assert max(handed.values()) <= LIMIT

    wait_until(lambda: len(relayed(async_gateway)) >= CALLS, 60)
    events = relayed(async_gateway)
    assert sorted(e["event_id"] for e in events) == sorted(r["event_id"] for r in responses)
    check_reports(env, admin, start_function, events, responses)
    # Once ingested, the get-url process's relay purges every event from its outbox.
    outbox = OutboxRepository(Database(database_url, pool_size=1))
    wait_until(lambda: outbox.pending() == 0, 30)
    outbox.db.close()


def relayed(server) -> list[dict]:
    with server.lock:
        return [e for batch in server.batches for e in batch["body"]["events"]]


def check_reports(env: dict[str, str], admin: dict[str, str], start_function: Callable[..., str],
                  events: list[dict], responses: list[dict]) -> None:
    ingest = start_function("stats-ingest", env)
    files, accounts = start_function("file-stats", env), start_function("account-stats", env)
    for start in range(0, len(events), 2500):  # the increments stats-compute would send
        batch = body(events[start:start + 2500])
        assert requests.post(f"{ingest}/", json=batch, headers=admin).json()["duplicates"] == 0
    again = requests.post(f"{ingest}/", json=body(events[:100]), headers=admin).json()
    assert (again["applied"], again["duplicates"], len(again["refused"]["duplicates"])) == (
        0, 100, 100)

    truth: dict[str, dict[str, list[int]]] = {"file_id": defaultdict(lambda: [0, 0]),
                                              "account_id": defaultdict(lambda: [0, 0])}
    for r in responses:
        for key in truth:
            truth[key][r[key]][0] += 1
            truth[key][r[key]][1] += r["size"]
    for url, key in ((files, "file_id"), (accounts, "account_id")):
        rows = requests.get(f"{url}/", params={"limit": 500}).json()["items"]
        got = {row[key]: [row["downloads"], row["bytes_total"]] for row in rows if row["downloads"]}
        assert got == dict(truth[key])
        assert all(row["bytes_today"] == row["bytes_total"] for row in rows)


def test_http_errors(database_url: str, async_gateway, admin,
                     start_function: Callable[..., str]) -> None:
    env = {"POSTGRES_URL": database_url, "GATEWAY_URL": async_gateway.url}
    sync, get_url = start_function("downloader-sync", env), start_function("get-url", env)
    files = f"{sync}/files/f1"
    assert requests.put(files, json={"name": "a", "size": 5, "version": 1}).status_code == 401
    put = requests.put(files, json={"name": "a", "size": 5, "version": 1}, headers=admin)
    assert put.json() == {"applied": True, "file_id": "f1"}
    stale = requests.put(files, json={"name": "b", "size": 5, "version": 1}, headers=admin)
    assert stale.json()["applied"] is False
    bad = requests.put(files, json={"name": "a", "size": -5, "version": 2}, headers=admin)
    assert bad.status_code == 400 and "size" in bad.json()["error"]["message"]
    assert requests.get(f"{get_url}/").status_code == 400
    assert requests.get(f"{get_url}/", params={"id": "nope"}).status_code == 404
    conflict = requests.get(f"{get_url}/", params={"id": "f1"})
    assert conflict.status_code == 409
    assert conflict.json()["error"]["details"] == {"status": "replicating"}
    account = {"email": "a@x.test", "daily_limit_bytes": 7, "active": True, "version": 1}
    requests.put(f"{sync}/accounts/a1", json=account, headers=admin)
    replica = {"drive_file_id": "d1", "url": "http://drive.test/uc?id=d1", "version": 1}
    requests.put(f"{sync}/replicas/f1/a1", json=replica, headers=admin)
    assert requests.get(f"{get_url}/", params={"id": "f1"}).json()["account_id"] == "a1"
    full = requests.get(f"{get_url}/", params={"id": "f1"})
    assert full.status_code == 503 and 0 < int(full.headers["Retry-After"]) <= 86400
    listed = requests.get(f"{sync}/replicas", params={"file_id": "f1"}, headers=admin).json()
    assert [r["account_id"] for r in listed["items"]] == ["a1"]
    metrics = requests.get(f"{get_url}/_/metrics").text
    assert 'fileserver_download_urls_total{account_id="a1"} 1.0' in metrics
    assert 'fileserver_account_daily_limit_share{account_id="a1"}' in metrics
    gone = requests.delete(f"{sync}/files/f1", params={"version": 2}, headers=admin)
    assert gone.json()["applied"] is True
    assert requests.get(f"{get_url}/", params={"id": "f1"}).status_code == 404


def test_database_outage_is_a_clear_503(async_gateway, start_function: Callable[..., str]) -> None:
    closed = f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/nothing"
    get_url = start_function("get-url", {"POSTGRES_URL": closed, "GATEWAY_URL": async_gateway.url})
    response = requests.get(f"{get_url}/", params={"id": "f1"}, timeout=30)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "database_unavailable"
    assert "password" not in response.text and "127.0.0.1" not in response.text
