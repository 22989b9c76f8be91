"""Bad input through the gateway of the live stack: every request answers a clear 4xx JSON
error, stores nothing (no new file, account, GridFS file or chunk) and leaks
nothing (no stack trace, no driver name, no key material, no secret)."""

from __future__ import annotations

import hashlib
import os
import socket
import sys
from urllib.parse import urlsplit

import pytest
import requests

from devstack.components import AppProcess
from devstack.config import REPO_ROOT
from devstack.process import free_port
from tests.integration.hardening.conftest import Api, assert_json_error

SQL = "x'; DROP TABLE files; --"
MONGO = '{"$gt": ""}'
BAD = {400}
AUTH = "admin"  # marker: send the admin token

# (label, method, path, requests kwargs, accepted statuses)
CASES = [
    ("json to multipart upload", "POST", "/function/upload-file/",
     {"headers": {"Content-Type": "multipart/form-data"}, "data": b"no boundary"}, BAD),
    ("multipart without file field", "POST", "/function/upload-file/",
     {"files": {"other": ("a.txt", b"x")}}, BAD),
    ("multipart garbage", "POST", "/function/upload-file/",
     {"headers": {"Content-Type": "multipart/form-data; boundary=b"}, "data": b"\x00\xff" * 64},
     BAD),
    ("raw upload without a name", "POST", "/function/upload-file/", {"data": b"abc"}, BAD),
    ("name of control characters", "POST", "/function/upload-file/",
     {"params": {"name": "\x00\x01\x1b"}, "data": b"abc"}, BAD),
    ("name that is only a path", "POST", "/function/upload-file/",
     {"params": {"name": "../../"}, "data": b"abc"}, BAD),
    ("text body to accounts", "POST", "/function/drive-accounts/",
     {"headers": {"Content-Type": "text/plain"}, "data": b"name=x"}, {415}),
    ("form body to rename", "PATCH", "/function/files/abc",
     {"data": {"name": "x"}}, {415}),
    ("broken JSON", "POST", "/function/drive-accounts/",
     {"headers": {"Content-Type": "application/json"}, "data": b'{"name": '}, BAD),
    ("JSON array", "POST", "/function/drive-accounts/", {"json": [1, 2]}, BAD),
    ("mongo operator as name and key", "POST", "/function/drive-accounts/",
     {"json": {"name": {"$gt": ""}, "key": {"$ne": None}}}, BAD),
    ("mongo operator in a key field", "POST", "/function/drive-accounts/",
     {"json": {"name": "x", "key": {"type": "service_account", "client_email": {"$gt": ""},
                                    "private_key": {"$gt": ""}, "token_uri": "http://x"}}},
     BAD),
    ("SQL in account name", "POST", "/function/drive-accounts/",
     {"json": {"name": SQL, "key": "x"}}, BAD),
    ("oversize JSON body", "POST", "/function/drive-accounts/",
     {"headers": {"Content-Type": "application/json"},
      "data": b'{"name": "' + b"a" * 3_000_000 + b'", "key": {}}'}, BAD),
    ("rename to a mongo operator", "PATCH", "/function/files/abc",
     {"json": {"name": {"$gt": ""}}}, {400, 404}),
    ("mongo operator in status", "GET", "/function/files/", {"params": {"status": MONGO}}, BAD),
    ("SQL in file id", "GET", "/function/get-url/", {"params": {"id": SQL}}, BAD),
    ("mongo operator in file id", "GET", "/function/get-url/", {"params": {"id": MONGO}}, BAD),
    ("missing file id", "GET", "/function/get-url/", {}, BAD),
    ("SQL in sort", "GET", "/function/file-stats/", {"params": {"sort": SQL}}, BAD),
    ("SQL in order", "GET", "/function/account-stats/", {"params": {"order": SQL}}, BAD),
    ("SQL in stats file id", "GET", "/function/file-stats/" + SQL.replace(" ", "%20"), {},
     {400, 404}),
    ("1000-character account id", "GET", "/function/account-stats/" + "a" * 1000, {}, BAD),
    ("control character in file id", "GET", "/function/files/a%01b", {}, {400, 404}),
    ("negative limit", "GET", "/function/files/", {"params": {"limit": -1}}, BAD),
    ("zero limit", "GET", "/function/file-stats/", {"params": {"limit": 0}}, BAD),
    ("huge limit", "GET", "/function/account-stats/", {"params": {"limit": 10**30}}, BAD),
    ("negative offset", "GET", "/function/drive-accounts/", {"params": {"offset": -5}}, BAD),
    ("huge offset", "GET", "/function/files/", {"params": {"offset": 10**30}}, BAD),
    ("text limit", "GET", "/function/file-stats/", {"params": {"limit": "ten"}}, BAD),
    ("bad verify flag", "POST", "/function/drive-accounts/",
     {"params": {"verify": SQL}, "json": {}}, BAD),
    ("negative daily limit", "PATCH", "/function/drive-accounts/abc",
     {"json": {"daily_limit_bytes": -1}}, {400, 404}),
    ("sync with injected fields", "PUT", "/function/downloader-sync/accounts/acc",
     {"json": {"email": {"$gt": ""}, "daily_limit_bytes": SQL, "active": "yes", "version": -1}},
     BAD),
    ("sync delete with text version", "DELETE", "/function/downloader-sync/files/f",
     {"params": {"version": SQL}}, BAD),
    ("ingest with injected ids", "POST", "/function/stats-ingest/",
     {"json": {"increments": {"files": [{"file_id": MONGO, "downloads": 1, "bytes": -1, "days": [
         {"day": "2026-13-45", "downloads": 1, "bytes": -1, "event_ids": [SQL]}]}],
         "accounts": []}}}, BAD),
    ("ingest of raw events", "POST", "/function/stats-ingest/",
     {"json": {"events": [{"event_id": "e1", "file_id": "f", "account_id": "a", "bytes": 1,
                           "day": "2026-11-25"}]}}, BAD),
    ("compute without events", "POST", "/function/stats-compute/", {"json": {"events": SQL}},
     BAD),
    ("compute with bad events", "POST", "/function/stats-compute/",
     {"json": {"events": [{"event_id": 1, "bytes": "x"}]}}, BAD),
    ("upload without a token", "POST", "/function/upload-file/",
     {"params": {"name": "x"}, "data": b"x", AUTH: False}, {401}),
    ("sync with a wrong token", "PUT", "/function/downloader-sync/files/f",
     {"json": {}, AUTH: False, "headers": {"Authorization": "Bearer " + SQL}}, {401}),
]


def send(api: Api, method: str, path: str, kwargs: dict) -> requests.Response:
    kwargs = dict(kwargs)
    headers = dict(api.admin) if kwargs.pop(AUTH, True) else {}
    headers.update(kwargs.pop("headers", {}))
    return requests.request(method, api.url(path), headers=headers, timeout=60, **kwargs)


def test_every_bad_request_is_a_clear_4xx_that_stores_and_leaks_nothing(api):
    before = api.snapshot()
    wrong = []
    for label, method, path, kwargs, statuses in CASES:
        try:
            assert_json_error(api, send(api, method, path, kwargs), statuses)
        except AssertionError as exc:
            wrong.append(f"{label}: {exc}")
    assert wrong == []
    assert api.snapshot().added_since(before) == {}


def test_truncated_and_unterminated_multipart_uploads_leave_no_blob(api):
    before = api.snapshot()
    data = os.urandom(700_000)  # several GridFS chunks are written before the end is seen
    head = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="t.bin"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n")
    for body in (head + data, head + data + b"\r\n--b"):
        answer = send(api, "POST", "/function/upload-file/",
                      {"headers": {"Content-Type": "multipart/form-data; boundary=b"},
                       "data": body})
        assert_json_error(api, answer, BAD)
    assert api.snapshot().added_since(before) == {}


GARBAGE_PEM_KEY = {"type": "service_account", "client_email": "garbage-pem@p.example.com",
                   "token_uri": "http://127.0.0.1:9/token",
                   "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEnot-base64\n"
                                  "-----END PRIVATE KEY-----\n"}


def test_a_key_whose_private_key_does_not_parse_is_refused(api):
    answer = send(api, "POST", "/function/drive-accounts/",
                  {"json": {"name": "garbage-pem", "key": GARBAGE_PEM_KEY}})
    if answer.status_code == 201:  # keep the shared stack clean, then fail
        send(api, "DELETE", f"/function/drive-accounts/{answer.json()['id']}", {})
    assert_json_error(api, answer, BAD)


def raw_upload(api: Api, declared: int, sent: bytes) -> bytes:
    """POST a raw upload declaring ``declared`` bytes, send ``sent``, hang up; the answer."""
    address = urlsplit(api.gateway)
    head = (f"POST /function/upload-file/?name=cut.bin HTTP/1.1\r\nHost: {address.netloc}\r\n"
            f"Authorization: {api.admin['Authorization']}\r\nContent-Length: {declared}\r\n"
            "Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(head + sent)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_a_client_that_hangs_up_mid_upload_stores_nothing(api):
    before = api.snapshot()
    answer = raw_upload(api, declared=2_000_000, sent=os.urandom(600_000))
    assert not answer.startswith(b"HTTP/1.1 2"), answer[:200]
    assert api.snapshot().added_since(before) == {}


def test_huge_headers_are_refused_with_a_4xx(api):
    big = requests.get(api.url("/function/files/"), headers={"X-Big": "a" * 300_000}, timeout=30)
    assert 400 <= big.status_code < 500
    assert api.leaks(big.text) == []
    # 40 KB is within the servers' limits and must still work normally
    fine = requests.get(api.url("/function/files/"), headers={"X-Big": "a" * 40_000}, timeout=30)
    assert fine.status_code == 200


@pytest.mark.parametrize("name, stored", [
    ("../../etc/passwd", "passwd"),
    ("C:\\Windows\\system.ini", "system.ini"),
    ("re\x00port\x1b.txt\u200b", "report.txt"),
    ("n" * 1000, "n" * 255),
])
def test_unsafe_names_are_reduced_to_a_safe_display_name(api, name, stored):
    """The Uploader's policy (fileserver.uploader.validation.filename): keep the last path
    part, drop control and format characters, cut to 255, refuse what is left empty."""
    data = os.urandom(1000)
    answer = send(api, "POST", "/function/upload-file/", {"data": data, "params": {"name": name}})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    try:
        assert body["name"] == stored
        assert body["sha256"] == hashlib.sha256(data).hexdigest()
    finally:
        send(api, "DELETE", f"/function/files/{body['id']}", {})


@pytest.fixture(scope="module")
def small_uploader(api: Api, tmp_path_factory: pytest.TempPathFactory):
    """upload-file as its own process on the live stack with MAX_UPLOAD_BYTES=1000, called
    directly (the gateway spools a whole body first, so only the limit itself is tested)."""
    port = free_port()
    env = {**os.environ, **api.stack.env, "MAX_UPLOAD_BYTES": "1000"}
    process = AppProcess("upload-file-small", [
        sys.executable, "-m", "fileserver.runtime.serve", str(REPO_ROOT / "functions/upload-file"),
        "--port", str(port)], tmp_path_factory.mktemp("small") / "upload.log", env,
        f"http://127.0.0.1:{port}/healthz", port)
    process.start()
    yield f"http://127.0.0.1:{port}"
    process.stop()


def test_oversize_uploads_are_413_and_store_nothing(api, small_uploader):
    before = api.snapshot()
    declared = requests.post(f"{small_uploader}/?name=big.bin", data=os.urandom(5000),
                             headers=api.admin, timeout=30)
    assert_json_error(api, declared, {413})
    chunked = requests.post(f"{small_uploader}/?name=big.bin", headers=api.admin, timeout=30,
                            data=(os.urandom(600) for _ in range(5)))
    assert_json_error(api, chunked, {413})
    multipart = requests.post(f"{small_uploader}/", headers=api.admin, timeout=30,
                              files={"file": ("big.bin", os.urandom(5000))})
    assert_json_error(api, multipart, {413})
    assert api.snapshot().added_since(before) == {}
