"""The fileserver Drive client (google-api-python-client) against the real emulator process."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
import requests
from prometheus_client import REGISTRY

from emulators.drive.server import DriveEmulator
from fileserver.drive.client import DriveClient
from fileserver.drive.errors import DriveFatalError, DriveNotFound, DriveQuotaExceeded

from .conftest import set_faults, usage

MB = 1024 * 1024


class ForwardOnlyStream:
    """A body that can only be read forward (no seek, no tell)."""

    def __init__(self, data: bytes) -> None:
        self._body = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._body.read(size)


def retries(method: str) -> float:
    return REGISTRY.get_sample_value("fileserver_drive_api_retries_total",
                                     {"method": method}) or 0.0


def test_30mb_upload_in_5mb_chunks_resumes_after_a_dropped_connection(
        emulator: DriveEmulator, make_client) -> None:
    client, key = make_client()
    client.chunk_size = 5 * MB
    data = os.urandom(30 * MB)
    set_faults(emulator, key["client_email"],
               [{"method": "files.upload", "error": "drop", "times": 1, "rate": 1.0}])
    before = retries("files.upload")
    stream = ForwardOnlyStream(data)  # like a GridFS or HTTP body: read() only
    uploaded = client.upload(stream, len(data), "big.bin", "application/octet-stream",
                             {"fileserver_id": "big"})
    assert uploaded.md5 == hashlib.md5(data).hexdigest()
    assert uploaded.size == len(data)
    assert retries("files.upload") == before + 1
    faults = requests.get(f"{emulator.url}_emulator/accounts/{key['client_email']}/faults",
                          timeout=10).json()
    assert faults["rules"][0]["times"] == 0  # the drop really happened
    assert usage(emulator, key["client_email"])["uploaded_bytes"] == len(data)


def test_share_copy_into_second_account_and_public_link(make_client) -> None:
    owner, _ = make_client()
    other, other_key = make_client()
    data = os.urandom(700 * 1024)
    original = owner.upload(io.BytesIO(data), len(data), "a.bin", "application/octet-stream",
                            {"fileserver_id": "f-1"})
    with pytest.raises(DriveNotFound):
        other.copy(original.id, "a.bin", {"fileserver_id": "f-1"})
    owner.share_with(original.id, other_key["client_email"])
    replica = other.copy(original.id, "a.bin", {"fileserver_id": "f-1"})
    assert replica.id != original.id and replica.md5 == original.md5
    assert other.find_by_fileserver_id("f-1") == [replica]
    assert owner.find_by_fileserver_id("f-1") == [original]
    url = other.download_url(replica.id)
    assert requests.get(url, timeout=10).status_code == 404  # not public yet
    other.share_public(replica.id)
    body = requests.get(url, timeout=30)
    assert body.status_code == 200 and body.content == data
    part = requests.get(url, headers={"Range": "bytes=100-199"}, timeout=10)
    assert part.status_code == 206 and part.content == data[100:200]


def test_daily_download_quota_of_the_owner_and_next_utc_day(emulator: DriveEmulator,
                                                            make_client) -> None:
    client, key = make_client(daily_download_limit_bytes=1 * MB)
    data = os.urandom(400 * 1024)
    uploaded = client.upload(io.BytesIO(data), len(data), "q.bin", "application/octet-stream", {})
    client.share_public(uploaded.id)
    url = client.download_url(uploaded.id)
    for _ in range(3):  # 0, 400 KB, 800 KB already used: still under 1 MB
        assert requests.get(url, timeout=10).content == data
    refused = requests.get(url, timeout=10)
    assert refused.status_code == 403  # a public link answers Google's HTML quota page
    assert "Too many users have viewed or downloaded this file" in refused.text
    day = usage(emulator, key["client_email"])["utc_day"]
    requests.put(f"{emulator.url}_emulator/clock", json={"offset_seconds": 86400}, timeout=10)
    try:
        assert usage(emulator, key["client_email"])["utc_day"] != day
        again = requests.get(url, timeout=10)
    finally:
        requests.put(f"{emulator.url}_emulator/clock", json={"offset_seconds": 0}, timeout=10)
    assert again.status_code == 200 and again.content == data


def test_every_operation_completes_under_30_percent_injected_errors(
        emulator: DriveEmulator, make_client) -> None:
    owner, owner_key = make_client()
    other, other_key = make_client()
    rules = [{"method": "*", "error": kind, "rate": 0.075}
             for kind in ("rateLimitExceeded", "userRateLimitExceeded", "500", "503")]
    rules.append({"method": "*", "error": "429", "rate": 0.05, "retry_after": 0})
    for key in (owner_key, other_key):
        set_faults(emulator, key["client_email"], rules)
    before = sum(retries(m) for m in ("files.upload", "files.copy", "permissions.create",
                                      "files.list", "files.get", "files.update", "files.delete"))
    data = os.urandom(2 * MB)
    original = _exercise(owner, other, other_key, data)
    after = sum(retries(m) for m in ("files.upload", "files.copy", "permissions.create",
                                     "files.list", "files.get", "files.update", "files.delete"))
    assert after > before  # errors were injected and retried
    assert original.md5 == hashlib.md5(data).hexdigest()


def _exercise(owner: DriveClient, other: DriveClient, other_key: dict, data: bytes):
    original = owner.upload(io.BytesIO(data), len(data), "r.bin", "application/octet-stream",
                            {"fileserver_id": "r"})
    owner.share_with(original.id, other_key["client_email"])
    replica = other.copy(original.id, "r.bin", {"fileserver_id": "r"})
    other.share_public(replica.id)
    assert other.get(replica.id).md5 == original.md5
    assert other.find_by_fileserver_id("r") == [replica]
    assert owner.rename(original.id, "renamed.bin").name == "renamed.bin"
    assert [f.id for f in other.list_files(page_size=1)] == [replica.id]
    assert other.about()["email"] == other_key["client_email"]
    other.delete(replica.id)
    with pytest.raises(DriveNotFound):
        other.get(replica.id)
    return original


def test_fatal_errors_are_not_retried(make_client) -> None:
    client, _ = make_client()
    before_get, before_update = retries("files.get"), retries("files.update")
    with pytest.raises(DriveNotFound):
        client.get("1doesNotExist")
    uploaded = client.upload(io.BytesIO(b"x" * 10), 10, "t.txt", "text/plain", {})
    with pytest.raises(DriveFatalError) as bad:
        client.rename(uploaded.id, "")
    assert bad.value.status == 400
    assert (retries("files.get"), retries("files.update")) == (before_get, before_update)


def test_a_stream_shorter_than_declared_is_fatal_and_leaves_no_file(make_client) -> None:
    client, _ = make_client()
    with pytest.raises(DriveFatalError):
        client.upload(ForwardOnlyStream(b"z" * 1000), 5000, "short", "text/plain", {})
    assert client.list_files() == []


def test_storage_quota_is_a_distinct_error(make_client) -> None:
    client, _ = make_client(storage_limit_bytes=1000)
    with pytest.raises(DriveQuotaExceeded) as full:
        client.upload(io.BytesIO(b"y" * 2000), 2000, "big", "application/octet-stream", {})
    assert full.value.reason == "storageQuotaExceeded"


def test_head_on_the_public_link_is_not_metered(emulator: DriveEmulator, make_client) -> None:
    client, key = make_client()
    uploaded = client.upload(io.BytesIO(b"h" * 5000), 5000, "h.bin", "text/plain", {})
    client.share_public(uploaded.id)
    head = requests.head(client.download_url(uploaded.id), allow_redirects=True, timeout=10)
    assert head.status_code == 200 and head.headers["Content-Length"] == "5000"
    assert usage(emulator, key["client_email"])["downloaded_today_bytes"] == 0
    requests.get(client.download_url(uploaded.id), timeout=10)
    assert usage(emulator, key["client_email"])["downloaded_today_bytes"] == 5000


def test_client_refreshes_its_token_across_a_clock_jump(emulator: DriveEmulator,
                                                        make_client) -> None:
    client, key = make_client()
    assert client.about()["email"] == key["client_email"]
    requests.put(f"{emulator.url}_emulator/clock", json={"offset_seconds": 86400}, timeout=10)
    try:
        assert client.about()["email"] == key["client_email"]  # 401, refresh, retry
    finally:
        requests.put(f"{emulator.url}_emulator/clock", json={"offset_seconds": 0}, timeout=10)
