"""Durability across an emulator restart, concurrent clients, and the less-used API forms."""

from __future__ import annotations

import hashlib
import io
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from googleapiclient.http import MediaIoBaseUpload

from devstack.process import free_port
from emulators.drive.server import DriveEmulator
from fileserver.drive.client import DriveClient
from fileserver.drive.retry import RetryPolicy

QUICK = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)


def test_files_and_an_open_upload_session_survive_a_restart(tmp_path: Path) -> None:
    port = free_port()
    first = DriveEmulator(tmp_path / "data", port, tmp_path / "one.log")
    first.start(timeout=30)
    try:
        key = first.create_account(legacy=True)
        client = DriveClient(key, first.url, policy=QUICK)
        kept = client.upload(io.BytesIO(b"kept"), 4, "kept.txt", "text/plain", {})
        data = os.urandom(300 * 1024)
        session = _start_session(client, data)
    finally:
        first.stop()
    second = DriveEmulator(tmp_path / "data", port, tmp_path / "two.log")
    second.start(timeout=30)
    try:
        again = DriveClient(key, second.url, policy=QUICK)
        assert again.get(kept.id).md5 == hashlib.md5(b"kept").hexdigest()
        status = requests.put(session, headers={"Content-Range": f"bytes */{len(data)}"},
                              timeout=10)
        assert status.headers["Range"] == "bytes=0-262143"
        done = requests.put(session, data=data[262144:], timeout=10, headers={
            "Content-Range": f"bytes 262144-{len(data) - 1}/{len(data)}"})
        assert done.status_code == 200
        assert again.get(done.json()["id"]).md5 == hashlib.md5(data).hexdigest()
    finally:
        second.stop()


def _start_session(client: DriveClient, data: bytes) -> str:
    """Send the first 256 KiB of a resumable upload; answer the session URI."""
    media = MediaIoBaseUpload(io.BytesIO(data), "application/octet-stream",
                              chunksize=256 * 1024, resumable=True)
    request = client._api["files"].create(body={"name": "half.bin"}, media_body=media,
                                          fields="id")
    status, body = request.next_chunk(http=client._http)
    assert body is None and status.resumable_progress == 256 * 1024
    return request.resumable_uri


def test_concurrent_clients_upload_and_copy(emulator: DriveEmulator, fast_policy) -> None:
    source_key = emulator.create_account(legacy=True)
    source = DriveClient(source_key, emulator.url, policy=fast_policy)
    data = os.urandom(512 * 1024)
    original = source.upload(io.BytesIO(data), len(data), "c.bin", "application/octet-stream",
                             {"fileserver_id": "c"})
    keys = [emulator.create_account(legacy=True) for _ in range(6)]
    for key in keys:
        source.share_with(original.id, key["client_email"])

    def replicate(key: dict) -> tuple[str, str]:
        client = DriveClient(key, emulator.url, policy=fast_policy, chunk_size=256 * 1024)
        copied = client.copy(original.id, "c.bin", {"fileserver_id": "c"})
        own = client.upload(io.BytesIO(data), len(data), "own.bin", "application/octet-stream",
                            {})
        return copied.md5, own.md5

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(replicate, keys))
    assert results == [(original.md5, original.md5)] * 6


def test_metadata_only_multipart_and_permissions(emulator: DriveEmulator) -> None:
    key = emulator.create_account(legacy=True)
    client = DriveClient(key, emulator.url, policy=QUICK)
    files, http = client._api["files"], client._http
    empty = files.create(body={"name": "empty", "appProperties": {"k": "v"}},
                         fields="id,size,md5Checksum").execute(http=http)
    assert empty["size"] == "0"
    media = MediaIoBaseUpload(io.BytesIO(b"multi part"), "text/plain", resumable=False)
    small = files.create(body={"name": "m.txt"}, media_body=media,
                         fields="id,name,size,md5Checksum,mimeType").execute(http=http)
    assert small["md5Checksum"] == hashlib.md5(b"multi part").hexdigest()
    assert (small["name"], small["mimeType"], small["size"]) == ("m.txt", "text/plain", "10")
    client.share_public(small["id"])
    perms = client._api["permissions"]
    listed = perms.list(fileId=small["id"]).execute(http=http)["permissions"]
    assert {p["role"] for p in listed} == {"owner", "reader"}
    perms.delete(fileId=small["id"], permissionId="anyoneWithLink").execute(http=http)
    assert requests.get(client.download_url(small["id"]), timeout=10).status_code == 404
    with pytest.raises(Exception, match="404"):
        perms.delete(fileId=small["id"], permissionId="anyoneWithLink").execute(http=http)
