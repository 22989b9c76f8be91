"""upload-file and files as real processes: streaming into GridFS, jobs, 413, cleanup, CRUD."""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from urllib.parse import urlparse

import pytest
import requests
from bson import ObjectId

from devstack.process import free_port, stop_pid
from tests.integration.uploader.conftest import MAX_UPLOAD, make_key, read_jobs, start_function


def _upload(stack, data: bytes, name: str = "data.bin", **kwargs):
    return requests.post(stack.urls["upload-file"] + "/", headers=stack.admin,
                         files={"file": (name, data, "application/x-test")}, timeout=30, **kwargs)


def _blob_bytes(stack, blob_id: str) -> bytes:
    chunks = stack.db()["blobs.chunks"].find({"files_id": ObjectId(blob_id)}).sort("n")
    return b"".join(bytes(c["data"]) for c in chunks)


def _chunk_count(stack) -> int:
    return len(list(stack.db()["blobs.chunks"].find({}, {"_id": 1})))


def test_multipart_upload_is_stored_hashed_and_announced(uploader):
    account = requests.post(uploader.urls["drive-accounts"] + "/?verify=false",
                            headers=uploader.admin, timeout=10,
                            json={"name": "u", "key": make_key(f"u{uuid.uuid4().hex[:6]}@p.io")},
                            ).json()
    data = os.urandom(3 * 1024 * 1024 + 123)
    response = _upload(uploader, data, name="../../etc/My\x07 Report.pdf")
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "replicating" and body["size"] == len(data)
    assert body["name"] == "My Report.pdf" and body["content_type"] == "application/x-test"
    assert body["md5"] == hashlib.md5(data).hexdigest()
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    pending = {a["account_id"]: a["state"] for a in body["replicas"]["accounts"]}
    assert pending[account["id"]] == "pending" and body["replicas"]["ready"] == 0
    doc = uploader.db()["files"].find_one({"_id": body["id"]})
    assert hashlib.sha256(_blob_bytes(uploader, doc["blob_id"])).hexdigest() == body["sha256"]
    jobs = [(b, h) for b, h in read_jobs(uploader.nats_url, "replicate")
            if b["file_id"] == body["id"]]
    assert len(jobs) == 1 and jobs[0][0]["kind"] == "replicate"
    assert jobs[0][1]["Nats-Msg-Id"] == f"replicate:{body['id']}:1"
    metrics = requests.get(uploader.urls["upload-file"] + "/_/metrics", timeout=10).text
    assert 'fileserver_uploads_total{outcome="ok"}' in metrics
    assert 'fileserver_jobs_published_total{kind="replicate",outcome="ok"}' in metrics


def test_raw_body_upload_with_name_query(uploader):
    data = b"hello raw world\n" * 1000
    response = requests.post(uploader.urls["upload-file"] + "/?name=notes.txt", data=data,
                             headers={**uploader.admin, "Content-Type": "text/plain"}, timeout=30)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["name"] == "notes.txt" and body["content_type"] == "text/plain"
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    header = requests.post(uploader.urls["upload-file"] + "/", data=b"x",
                           headers={**uploader.admin, "X-Filename": "h.bin"}, timeout=30)
    assert header.status_code == 202 and header.json()["name"] == "h.bin"


def test_upload_errors_leave_nothing_behind(uploader):
    before = _chunk_count(uploader)
    too_big = _upload(uploader, b"\0" * (MAX_UPLOAD + 1))
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "payload_too_large"
    chunked = requests.post(uploader.urls["upload-file"] + "/?name=big.bin", timeout=30,
                            headers=uploader.admin,
                            data=(b"\1" * 65536 for _ in range(MAX_UPLOAD // 65536 + 2)))
    assert chunked.status_code == 413
    boundary = "b0undary"
    truncated = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                 f"filename=\"t.bin\"\r\n\r\n").encode() + b"\2" * 2_500_000
    response = requests.post(uploader.urls["upload-file"] + "/", data=truncated, timeout=30,
                             headers={**uploader.admin,
                                      "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 400 and "truncated" in response.json()["error"]["message"]
    no_name = requests.post(uploader.urls["upload-file"] + "/", data=b"abc",
                            headers=uploader.admin, timeout=30)
    assert no_name.status_code == 400
    no_field = requests.post(uploader.urls["upload-file"] + "/", headers=uploader.admin,
                             files={"other": ("a", b"x")}, timeout=30)
    assert no_field.status_code == 400
    assert _chunk_count(uploader) == before


def test_client_disconnect_mid_upload_leaves_nothing(uploader):
    before = _chunk_count(uploader)
    files_before = uploader.db()["files"].count_documents({})
    target = urlparse(uploader.urls["upload-file"])
    with socket.create_connection((target.hostname, target.port)) as sock:
        sock.sendall((f"POST /?name=cut.bin HTTP/1.1\r\nHost: x\r\n"
                      f"Authorization: {uploader.admin['Authorization']}\r\n"
                      f"Content-Length: {5_000_000}\r\n\r\n").encode() + b"\3" * 2_000_000)
    time.sleep(1.0)
    assert _chunk_count(uploader) == before
    assert uploader.db()["files"].count_documents({}) == files_before


def test_upload_requires_admin(uploader):
    response = requests.post(uploader.urls["upload-file"] + "/?name=a", data=b"a", timeout=10)
    assert response.status_code == 401


def test_files_list_get_rename_delete(uploader):
    url = uploader.urls["files"]
    created = _upload(uploader, b"file-crud-" + uuid.uuid4().bytes, name="a.txt").json()
    got = requests.get(f"{url}/{created['id']}", timeout=10).json()
    assert got["id"] == created["id"] and got["replicas"]["total"] == created["replicas"]["total"]
    listed = requests.get(url + "/?status=replicating&sort=-created_at&limit=500",
                          timeout=10).json()
    assert created["id"] in [f["id"] for f in listed["items"]]
    assert all(f["status"] == "replicating" for f in listed["items"])

    renamed = requests.patch(f"{url}/{created['id']}", headers=uploader.admin,
                             json={"name": "b/c.txt"}, timeout=10)
    assert renamed.status_code == 200 and renamed.json()["name"] == "c.txt"
    assert renamed.json()["version"] == created["version"] + 1
    deleted = requests.delete(f"{url}/{created['id']}", headers=uploader.admin, timeout=10)
    assert deleted.status_code == 202 and deleted.json()["status"] == "deleting"
    assert requests.patch(f"{url}/{created['id']}", headers=uploader.admin,
                          json={"name": "z"}, timeout=10).status_code == 409
    kinds = {kind: [b["file_id"] for b, _ in read_jobs(uploader.nats_url, kind)]
             for kind in ("rename-file", "delete-file")}
    assert created["id"] in kinds["rename-file"] and created["id"] in kinds["delete-file"]


def test_files_errors(uploader):
    url = uploader.urls["files"]
    assert requests.get(f"{url}/{uuid.uuid4().hex}", timeout=10).status_code == 404
    for query in ("status=bogus", "sort=password", "limit=100000", "offset=x"):
        response = requests.get(f"{url}/?{query}", timeout=10)
        assert response.status_code == 400, query
        assert response.json()["error"]["code"] == "bad_request"
    some = _upload(uploader, b"x", name="e.txt").json()
    assert requests.patch(f"{url}/{some['id']}", json={"name": "y"},
                          timeout=10).status_code == 401
    assert requests.delete(f"{url}/{some['id']}", timeout=10).status_code == 401
    for body in ({"name": ""}, {"name": "../"}, {"name": "a", "size": 3}):
        assert requests.patch(f"{url}/{some['id']}", headers=uploader.admin, json=body,
                              timeout=10).status_code == 400
    assert requests.delete(f"{url}/{uuid.uuid4().hex}", headers=uploader.admin,
                           timeout=10).status_code == 404


def test_upload_is_kept_when_jobs_cannot_be_published(uploader, tmp_path):
    env = {**uploader.env, "NATS_URL": f"nats://127.0.0.1:{free_port()}",  # nothing listens
           "JOBS_PUBLISH_TIMEOUT_SECONDS": "1"}
    pid, url = start_function("upload-file", env, tmp_path / "upload-file.log")
    try:
        response = requests.post(url + "/?name=kept.bin", data=b"kept", headers=uploader.admin,
                                 timeout=60)
        assert response.status_code == 202 and response.json()["status"] == "replicating"
        assert uploader.db()["files"].find_one({"_id": response.json()["id"]}) is not None
        metrics = requests.get(url + "/_/metrics", timeout=10).text
        assert 'fileserver_jobs_published_total{kind="replicate",outcome="error"} 1.0' in metrics
        assert "not published" in (tmp_path / "upload-file.log").read_text()
    finally:
        stop_pid(pid)


@pytest.mark.parametrize(("function", "method", "path"), [
    ("upload-file", "POST", "/?name=down.bin"), ("files", "GET", "/"),
    ("drive-accounts", "GET", "/"),
])
def test_mongo_outage_is_a_clear_503(uploader, tmp_path, function, method, path):
    closed = f"mongodb://127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=500"
    pid, url = start_function(function, {**uploader.env, "MONGO_URL": closed},
                              tmp_path / f"{function}.log")
    try:
        response = requests.request(method, url + path, data=b"x" * 1000,
                                    headers=uploader.admin, timeout=60)
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "5"
        assert response.json()["error"]["code"] == "database_unavailable"
        assert "127.0.0.1" not in response.text and "Traceback" not in response.text
    finally:
        stop_pid(pid)


def test_an_upload_that_does_not_fit_every_active_account_is_507_before_any_byte(uploader):
    """Two accounts of 5 MB: 3 MB fits; a second 3 MB does not (the first is still on its
    way to them, pending), neither declared (507 before the body) nor chunked (507 after it,
    its chunks removed); nothing lands in GridFS."""
    accounts = uploader.urls["drive-accounts"]
    ids = []
    for n in range(2):
        key = uploader.drive.create_account(legacy=True, storage_limit_bytes=5_000_000)
        created = requests.post(accounts + "/", headers=uploader.admin, timeout=30,
                                json={"name": f"small{n}", "key": key})
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    try:
        first = requests.post(uploader.urls["upload-file"] + "/?name=a.bin", timeout=30,
                              headers=uploader.admin, data=os.urandom(3_000_000))
        assert first.status_code == 202, first.text
        before = _chunk_count(uploader)
        second = requests.post(uploader.urls["upload-file"] + "/?name=b.bin", timeout=30,
                               headers=uploader.admin, data=os.urandom(3_000_000))
        assert second.status_code == 507, second.text
        error = second.json()["error"]
        assert error["code"] == "insufficient_storage" and error["details"]["size"] == 3_000_000
        short = {item["account_id"]: item for item in error["details"]["accounts"]}
        assert set(short) == set(ids)
        assert short[ids[0]]["free_bytes"] == 2_000_000
        assert short[ids[0]]["short_by_bytes"] == 1_000_000
        chunked = requests.post(uploader.urls["upload-file"] + "/?name=c.bin", timeout=30,
                                headers=uploader.admin,
                                data=(b"\4" * 100_000 for _ in range(30)))
        assert chunked.status_code == 507
        assert _chunk_count(uploader) == before
        assert uploader.db()["files"].count_documents({"name": {"$in": ["b.bin", "c.bin"]}}) == 0
    finally:
        for account_id in ids:
            requests.delete(f"{accounts}/{account_id}", headers=uploader.admin, timeout=10)
