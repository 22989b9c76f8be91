"""The download redirector with real download clients (curl, wget, aria2c from Debian; skipped
where absent) against the Drive emulator, with a lowered virus-scan threshold so a small file
plays a large one; and 1,000 redirects from 16 clients booked and counted exactly as get-url.
The 150 MB version through the whole stack is tests/integration/cli/test_redirector_stack.py."""

from __future__ import annotations

import hashlib
import io
import os
import random
import subprocess
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import requests

from devstack.process import free_port, wait_until
from emulators.drive.server import DriveEmulator
from fileserver.drive.client import DriveClient
from fileserver.drive.retry import RetryPolicy
from tests.conftest import need
from tests.integration.downloader.test_get_url_processes import check_reports, relayed

THRESHOLD = 200_000
DATA = os.urandom(600_000)  # above THRESHOLD: the bare /uc link answers the warning page
SHA = hashlib.sha256(DATA).hexdigest()
NS = {"m": "urn:ietf:params:xml:ns:metalink"}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("redirector")
    server = DriveEmulator(base / "data", free_port(), base / "e.log",
                           scan_warning_bytes=THRESHOLD)
    server.start(timeout=30)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def replicas(emulator: DriveEmulator) -> list[dict]:
    """Three accounts, each owning a public copy of DATA: ``[{email, drive_id, url}]``."""
    env = {"DRIVE_LARGE_FILE_BYTES": str(THRESHOLD),
           "DRIVE_USERCONTENT_ROOT": emulator.usercontent_url}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        patch.delenv("DRIVE_WEB_ROOT", raising=False)
        policy = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)
        keys = [emulator.create_account(legacy=True) for _ in range(3)]  # own files
        clients = [DriveClient(key, emulator.url, policy=policy) for key in keys]
        source = clients[0].upload(io.BytesIO(DATA), len(DATA), "data.bin", "text/plain", {})
        found = []
        for key, client in zip(keys, clients, strict=True):
            if client is not clients[0]:
                clients[0].share_with(source.id, key["client_email"])
            copy = source if client is clients[0] else client.copy(source.id, "data.bin", {})
            client.share_public(copy.id)
            found.append({"email": key["client_email"], "drive_id": copy.id,
                          "url": client.download_url(copy.id, len(DATA))})
    return found


@pytest.fixture()
def download(replicas: list[dict], database_url: str, async_gateway, admin,
             start_function: Callable[..., str]) -> str:
    env = {"POSTGRES_URL": database_url, "GATEWAY_URL": async_gateway.url}
    sync = start_function("downloader-sync", env)
    for i, replica in enumerate(replicas):
        account = {"email": replica["email"], "daily_limit_bytes": 10**12, "active": True,
                   "version": 1}
        assert requests.put(f"{sync}/accounts/a{i}", json=account, headers=admin).ok
    body = {"name": "data.bin", "size": len(DATA), "md5": hashlib.md5(DATA).hexdigest(),  # noqa: S324
            "sha256": SHA, "version": 1}
    assert requests.put(f"{sync}/files/f1", json=body, headers=admin).ok
    for i, replica in enumerate(replicas):
        put = {"drive_file_id": replica["drive_id"], "url": replica["url"], "version": 1}
        assert requests.put(f"{sync}/replicas/f1/a{i}", json=put, headers=admin).ok
    return start_function("download", env)


def test_curl_and_wget_save_the_file_where_the_bare_uc_link_saves_html(
        emulator: DriveEmulator, replicas: list[dict], download: str, tmp_path: Path) -> None:
    curl, wget = need("curl"), need("wget")
    bare = f"{emulator.url}uc?id={replicas[0]['drive_id']}&export=download"
    page = subprocess.run([curl, "-sSL", bare], capture_output=True, check=True).stdout
    assert b"Google Drive can't scan this file for viruses" in page and DATA not in page
    saved = tmp_path / "curl.bin"
    subprocess.run([curl, "-sSL", "-o", str(saved), f"{download}/f1/data.bin"], check=True)
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == SHA
    subprocess.run([wget, "-q", f"{download}/f1/data.bin"], cwd=tmp_path, check=True)
    assert hashlib.sha256((tmp_path / "data.bin").read_bytes()).hexdigest() == SHA


def test_wget_c_resumes_a_download_cut_at_half(download: str, tmp_path: Path) -> None:
    wget = need("wget")
    target = tmp_path / "data.bin"
    target.write_bytes(DATA[: len(DATA) // 2])
    subprocess.run([wget, "-q", "-c", f"{download}/f1/data.bin"], cwd=tmp_path, check=True)
    assert target.read_bytes() == DATA


def test_aria2c_fails_over_to_another_holder_and_verifies_the_hash(
        emulator: DriveEmulator, replicas: list[dict], download: str, tmp_path: Path) -> None:
    aria2c = need("aria2c")
    metalink = requests.get(f"{download}/f1/data.bin", params={"metalink": ""}, timeout=10)
    entry = ET.fromstring(metalink.content).find("m:file", NS)
    first = entry.find("m:url[@priority='1']", NS).text
    refusing = next(r for r in replicas if r["url"] == first)
    faults = f"{emulator.url}_emulator/accounts/{refusing['email']}/faults"
    rule = {"method": "uc.download", "error": "rateLimitExceeded", "times": 100}
    requests.put(faults, json={"rules": [rule]}, timeout=10).raise_for_status()
    try:
        (tmp_path / "good.meta4").write_bytes(metalink.content)
        ok = subprocess.run([aria2c, "--metalink-file", "good.meta4", "--max-tries=1",
                             "--retry-wait=0", "--split=1", "--file-allocation=none", "-q"],
                            cwd=tmp_path, capture_output=True, timeout=120)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert (tmp_path / "data.bin").read_bytes() == DATA
        left = requests.get(faults, timeout=10).json()["rules"][0]["times"]
        assert left < 100  # the first-priority replica was asked, and refused
        # aria2c checks the sha-256: a Metalink with a wrong one fails the download.
        wrong = metalink.content.replace(SHA.encode(), b"0" * 64)
        (tmp_path / "bad").mkdir()
        (tmp_path / "bad" / "bad.meta4").write_bytes(wrong)
        bad = subprocess.run([aria2c, "--metalink-file", "bad.meta4", "--max-tries=1",
                              "--file-allocation=none", "-q"], cwd=tmp_path / "bad",
                             capture_output=True, timeout=120)
        assert bad.returncode != 0
        # Given the redirector's ?metalink URL itself, aria2c reads the Metalink it answers.
        (tmp_path / "url").mkdir()
        # (mem: the Metalink is not saved, it would take the file's own name.)
        by_url = subprocess.run([aria2c, "--follow-metalink=mem", "--split=1", "--max-tries=1",
                                 "--file-allocation=none", "-q",
                                 f"{download}/f1/data.bin?metalink"],
                                cwd=tmp_path / "url", capture_output=True, timeout=120)
        assert by_url.returncode == 0, by_url.stdout + by_url.stderr
        assert (tmp_path / "url" / "data.bin").read_bytes() == DATA
    finally:
        requests.put(faults, json={"rules": []}, timeout=10)


def test_1000_redirects_from_16_clients_book_and_count_like_get_url(
        database_url: str, async_gateway, admin, start_function: Callable[..., str]) -> None:
    env = {"POSTGRES_URL": database_url, "GATEWAY_URL": async_gateway.url,
           "OUTBOX_IDLE_MS": "200"}
    sync, download = start_function("downloader-sync", env), start_function("download", env)
    # The balancer keeps accounts within about a file size of each other, and 16 concurrent
    # clients can each add one: 5 accounts and 1-5 MB files keep that drift well under 5% of
    # what 1,000 calls put on each account (get-url's own test: 10,000 calls, 10 accounts).
    accounts = [f"acc{i:02d}" for i in range(5)]
    rng = random.Random(3)
    sizes = {f"f{i:02d}": rng.randint(1_000_000, 5_000_000) for i in range(20)}
    with requests.Session() as session:
        session.headers.update(admin)
        for account in accounts:
            session.put(f"{sync}/accounts/{account}", json={
                "email": f"{account}@x.test", "daily_limit_bytes": 10**12, "active": True,
                "version": 1}).raise_for_status()
        for file_id, size in sizes.items():
            session.put(f"{sync}/files/{file_id}", json={
                "name": f"{file_id}.bin", "size": size, "version": 1}).raise_for_status()
            for account in accounts:
                session.put(f"{sync}/replicas/{file_id}/{account}", json={
                    "drive_file_id": f"{file_id}-{account}", "version": 1,
                    "url": f"http://drive.test/uc?id={file_id}-{account}"}).raise_for_status()
    for _ in range(20):  # HEAD books nothing
        assert requests.head(f"{download}/f00", allow_redirects=False).status_code == 302
    responses = redirect_many(download, list(sizes), 1000, sizes)
    handed = Counter()
    for r in responses:
        handed[r["account_id"]] += r["size"]
    assert set(handed) == set(accounts)
    spread = max(handed.values()) / min(handed.values())
    print(f"\n1,000 redirects from 16 clients: bytes per account max/min {spread:.3f}")
    assert spread <= 1.05
    wait_until(lambda: len(relayed(async_gateway)) >= len(responses), 60)
    events = relayed(async_gateway)
    assert len(events) == len(responses) == 1000
    assert Counter(e["account_id"] for e in events) == Counter(r["account_id"] for r in responses)
    check_reports(env, admin, start_function, events, responses)


def redirect_many(download: str, file_ids: list[str], calls: int,
                  sizes: dict[str, int]) -> list[dict]:
    local = threading.local()
    plan = [random.Random(i).choice(file_ids) for i in range(calls)]

    def call(file_id: str) -> dict:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        answer = local.session.get(f"{download}/{file_id}", allow_redirects=False, timeout=30)
        assert answer.status_code == 302, answer.text
        account = answer.headers["X-Account-Id"]
        assert answer.headers["Location"] == f"http://drive.test/uc?id={file_id}-{account}"
        return {"file_id": file_id, "account_id": account, "size": sizes[file_id]}

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(call, plan))
