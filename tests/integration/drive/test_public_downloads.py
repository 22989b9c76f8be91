"""The emulator's public download links as Google serves them, through real HTTP clients
(curl and wget from Debian; skipped where absent): /uc redirects to the usercontent host,
the virus-scan warning above the threshold until confirm=t, Range/resume, and the per-file
"Too many users" quota page."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devstack.process import free_port
from emulators.drive.server import DriveEmulator
from fileserver.drive.client import DriveClient
from fileserver.drive.retry import RetryPolicy
from tests.conftest import need

THRESHOLD = 100_000  # lowered from Google's 100 MB so the default run stays fast
QUICK = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)
BIG = bytes(range(256)) * 1000  # 256,000 bytes: above THRESHOLD


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DriveEmulator]:
    base = tmp_path_factory.mktemp("public")
    server = DriveEmulator(base / "data", free_port(), base / "e.log",
                           scan_warning_bytes=THRESHOLD, file_download_quota=3)
    server.start(timeout=30)
    yield server
    server.stop()


@pytest.fixture()
def client(emulator: DriveEmulator, monkeypatch: pytest.MonkeyPatch) -> DriveClient:
    monkeypatch.setenv("DRIVE_LARGE_FILE_BYTES", str(THRESHOLD))
    monkeypatch.setenv("DRIVE_USERCONTENT_ROOT", emulator.usercontent_url)
    monkeypatch.delenv("DRIVE_WEB_ROOT", raising=False)
    return DriveClient(emulator.create_account(legacy=True), emulator.url, policy=QUICK)


def public(client: DriveClient, data: bytes, name: str = "f.bin") -> str:
    uploaded = client.upload(io.BytesIO(data), len(data), name, "application/octet-stream", {})
    client.share_public(uploaded.id)
    return uploaded.id


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([need("curl"), "-sS", *args], capture_output=True, timeout=60)


def test_uc_redirects_to_the_usercontent_host(emulator: DriveEmulator, client: DriveClient):
    file_id = public(client, b"small" * 10)
    hop = requests.get(client.download_url(file_id, 50), allow_redirects=False, timeout=10)
    assert hop.status_code == 303
    assert hop.headers["Location"] == \
        f"{emulator.usercontent_url}download?id={file_id}&export=download"
    assert curl("-L", client.download_url(file_id, 50)).stdout == b"small" * 10
    # The usercontent host serves downloads only, like drive.usercontent.google.com.
    assert requests.get(f"{emulator.usercontent_url}drive/v3/about", timeout=10).status_code \
        == 404


def test_bare_uc_link_saves_the_warning_page_and_the_confirm_link_saves_the_file(
        emulator: DriveEmulator, client: DriveClient, tmp_path: Path):
    file_id = public(client, BIG, "big file.bin")
    bare = f"{emulator.url}uc?id={file_id}&export=download"
    page = curl("-L", bare).stdout.decode()
    assert "Google Drive can't scan this file for viruses" in page
    form = re.search(r'<form id="download-form" action="([^"]+)" method="get">', page)
    assert form and form.group(1) == f"{emulator.usercontent_url}download"
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))
    assert fields["id"] == file_id and fields["confirm"] == "t"
    assert re.fullmatch(r"[0-9a-f-]{36}", fields["uuid"])
    # A browser submitting the form gets the file.
    assert requests.get(form.group(1), params=fields, timeout=10).content == BIG
    link = client.download_url(file_id, len(BIG))
    assert link == f"{emulator.usercontent_url}download?id={file_id}&export=download&confirm=t"
    assert hashlib.sha256(curl("-L", link).stdout).digest() == hashlib.sha256(BIG).digest()
    wget = need("wget")
    subprocess.run([wget, "-q", "-O", str(tmp_path / "w.bin"), link], check=True, timeout=60)
    assert (tmp_path / "w.bin").read_bytes() == BIG


def test_range_answers_206_and_wget_resumes(emulator: DriveEmulator, client: DriveClient,
                                            tmp_path: Path):
    file_id = public(client, BIG)
    link = client.download_url(file_id, len(BIG))
    part = requests.get(link, headers={"Range": "bytes=1000-1999"}, timeout=10)
    assert part.status_code == 206 and part.content == BIG[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(BIG)}"
    target = tmp_path / "resumed.bin"
    target.write_bytes(BIG[: len(BIG) // 2])
    subprocess.run([need("wget"), "-q", "-c", "-O", str(target), link], check=True, timeout=60)
    assert target.read_bytes() == BIG


def test_per_file_quota_answers_googles_403_page(emulator: DriveEmulator, client: DriveClient):
    file_id = public(client, b"q" * 100)
    link = client.download_url(file_id, 100)
    for _ in range(3):  # --file-download-quota 3
        assert requests.get(link, timeout=10).content == b"q" * 100
    resumed = requests.get(link, headers={"Range": "bytes=50-"}, timeout=10)
    assert resumed.status_code == 403  # the limit is reached: resumes are refused too
    refused = subprocess.run([need("curl"), "-sSL", "-w", "%{http_code}", link],
                             capture_output=True, timeout=60)
    assert refused.stdout.endswith(b"403")
    assert b"Too many users have viewed or downloaded this file recently" in refused.stdout
    state = requests.get(f"{emulator.url}_emulator/files/{file_id}/download-quota",
                         timeout=10).json()
    assert state["blocked"] is True and state["downloads_today"] == 3
    clock = requests.get(f"{emulator.url}_emulator/clock", timeout=10).json()
    requests.put(f"{emulator.url}_emulator/clock",
                 json={"offset_seconds": clock["offset_seconds"] + 86400}, timeout=10)
    assert requests.get(link, timeout=10).status_code == 200  # the next UTC day


def test_admin_blocks_one_file_of_one_account(emulator: DriveEmulator, client: DriveClient):
    blocked, other = public(client, b"b" * 10), public(client, b"o" * 10)
    admin = f"{emulator.url}_emulator/files/{blocked}/download-quota"
    answer = requests.put(admin, json={"blocked": True, "hours": 2}, timeout=10).json()
    assert answer["blocked"] is True and answer["blocked_until"]
    page = requests.get(client.download_url(blocked, 10), timeout=10)
    assert page.status_code == 403 and page.headers["Content-Type"].startswith("text/html")
    assert "Quota exceeded" in page.text
    assert requests.get(client.download_url(other, 10), timeout=10).status_code == 200
    # The API keeps its JSON shape; only the public link answers the page.
    assert requests.put(admin, json={"blocked": False}, timeout=10).json()["blocked"] is False
    assert requests.get(client.download_url(blocked, 10), timeout=10).content == b"b" * 10
    assert requests.put(admin, json={"blocked": "yes"}, timeout=10).status_code == 400
    assert requests.put(f"{emulator.url}_emulator/files/nope/download-quota",
                        json={"blocked": True}, timeout=10).status_code == 404


def test_owner_out_of_daily_quota_gets_the_page_on_the_public_link(emulator: DriveEmulator):
    key = emulator.create_account(legacy=True, daily_download_limit_bytes=10)
    client = DriveClient(key, emulator.url, policy=QUICK)
    file_id = public(client, b"d" * 10)
    assert requests.get(client.download_url(file_id, 10), timeout=10).status_code == 200
    page = requests.get(client.download_url(file_id, 10), timeout=10)
    assert page.status_code == 403 and "Too many users" in page.text
