"""The wire protocol through plain HTTP (requests): token flow, resumable upload, errors."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from emulators.drive.server import DriveEmulator

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_jwt(key: dict, issued: float | None = None, sign_with: dict | None = None) -> str:
    issued = time.time() if issued is None else issued
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": key["private_key_id"]}).encode())
    claims = _b64(json.dumps({
        "iss": key["client_email"], "scope": "https://www.googleapis.com/auth/drive",
        "aud": "https://oauth2.googleapis.com/token", "iat": int(issued),
        "exp": int(issued) + 3600}).encode())
    private = serialization.load_pem_private_key(
        (sign_with or key)["private_key"].encode(), password=None)
    signature = private.sign(f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{claims}.{_b64(signature)}"


def get_token(key: dict, assertion: str) -> requests.Response:
    return requests.post(key["token_uri"], data={"grant_type": JWT_BEARER,
                                                 "assertion": assertion}, timeout=10)


@pytest.fixture(scope="module")
def key(emulator: DriveEmulator) -> dict:
    return emulator.create_account(legacy=True)


@pytest.fixture(scope="module")
def auth(key: dict) -> dict[str, str]:
    token = get_token(key, signed_jwt(key)).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_account_key_looks_like_a_console_download(emulator: DriveEmulator, key: dict) -> None:
    assert key["type"] == "service_account"
    assert key["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert key["token_uri"] == f"{emulator.url}token"
    assert {"client_email", "private_key_id"} <= key.keys()


def test_token_flow_gives_an_expiring_bearer_token(emulator: DriveEmulator, key: dict) -> None:
    resp = get_token(key, signed_jwt(key))
    assert resp.status_code == 200
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    about = requests.get(f"{emulator.url}drive/v3/about?fields=user", headers=headers, timeout=10)
    assert about.json()["user"]["emailAddress"] == key["client_email"]
    requests.put(f"{emulator.url}_emulator/clock", json={"offset_seconds": 3700}, timeout=10)
    try:
        expired = requests.get(f"{emulator.url}drive/v3/about", headers=headers, timeout=10)
    finally:
        requests.put(f"{emulator.url}_emulator/clock", json={"offset_seconds": 0}, timeout=10)
    assert expired.status_code == 401
    assert expired.json()["error"]["errors"][0]["reason"] == "authError"


def test_token_refused_for_a_wrong_signature_or_an_old_jwt(emulator: DriveEmulator,
                                                          key: dict) -> None:
    other = emulator.create_account(legacy=True)
    forged = get_token(key, signed_jwt(key, sign_with=other))
    assert forged.status_code == 400 and forged.json()["error"] == "invalid_grant"
    old = get_token(key, signed_jwt(key, issued=time.time() - 7200))
    assert old.status_code == 400
    garbage = get_token(key, "not.a.jwt")
    assert garbage.status_code == 400


def test_api_without_token_is_401(emulator: DriveEmulator) -> None:
    resp = requests.get(f"{emulator.url}drive/v3/files", timeout=10)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == 401


def test_resumable_protocol_chunks_status_query_and_md5(emulator: DriveEmulator,
                                                       auth: dict[str, str]) -> None:
    data = os.urandom(600 * 1024)
    start = requests.post(
        f"{emulator.url}upload/drive/v3/files?uploadType=resumable&fields=id,size,md5Checksum",
        json={"name": "p.bin"}, headers={**auth, "X-Upload-Content-Length": str(len(data))},
        timeout=10)
    assert start.status_code == 200
    location = start.headers["Location"]
    assert location.startswith(emulator.url)
    first = requests.put(location, data=data[:262144],
                         headers={"Content-Range": f"bytes 0-262143/{len(data)}"}, timeout=10)
    assert first.status_code == 308 and first.headers["Range"] == "bytes=0-262143"
    status = requests.put(location, data=b"", headers={"Content-Range": f"bytes */{len(data)}"},
                          timeout=10)
    assert status.status_code == 308 and status.headers["Range"] == "bytes=0-262143"
    gap = requests.put(location, data=data[300000:],
                       headers={"Content-Range": f"bytes 300000-{len(data) - 1}/{len(data)}"},
                       timeout=10)
    assert gap.status_code == 400
    last = requests.put(location, data=data[262144:],
                        headers={"Content-Range": f"bytes 262144-{len(data) - 1}/{len(data)}"},
                        timeout=10)
    assert last.status_code == 200
    assert last.json() == {"id": last.json()["id"], "size": str(len(data)),
                           "md5Checksum": hashlib.md5(data).hexdigest()}


def test_bad_input_gets_google_shaped_400s(emulator: DriveEmulator, auth: dict[str, str]) -> None:
    cases = [
        requests.get(f"{emulator.url}drive/v3/files?q=owner%20%3D%20x", headers=auth, timeout=10),
        requests.get(f"{emulator.url}drive/v3/files?pageSize=0", headers=auth, timeout=10),
        requests.post(f"{emulator.url}drive/v3/files", data="[1]", headers={
            **auth, "Content-Type": "application/json"}, timeout=10),
        requests.post(f"{emulator.url}drive/v3/files", json={"appProperties": {"k": 1}},
                      headers=auth, timeout=10),
        requests.post(f"{emulator.url}upload/drive/v3/files?uploadType=bogus", headers=auth,
                      timeout=10),
    ]
    for resp in cases:
        assert resp.status_code == 400, resp.text
        assert resp.json()["error"]["errors"][0]["reason"]


def test_drop_fault_cuts_the_connection_and_keeps_half_the_chunk(
        emulator: DriveEmulator, key: dict, auth: dict[str, str]) -> None:
    data = os.urandom(512 * 1024)
    start = requests.post(f"{emulator.url}upload/drive/v3/files?uploadType=resumable",
                          json={"name": "d.bin"}, headers=auth, timeout=10)
    location = start.headers["Location"]
    requests.put(f"{emulator.url}_emulator/accounts/{key['client_email']}/faults",
                 json={"rules": [{"method": "files.upload", "error": "drop", "times": 1}]},
                 timeout=10)
    with pytest.raises(requests.exceptions.RequestException):
        _ = requests.put(location, data=data,
                         headers={"Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"},
                         timeout=10).content
    status = requests.put(location, data=b"", headers={"Content-Range": f"bytes */{len(data)}"},
                          timeout=10)
    assert status.status_code == 308
    assert status.headers["Range"] == f"bytes=0-{len(data) // 2 - 1}"


def test_chunk_beyond_the_declared_size_is_refused_and_not_stored(
        emulator: DriveEmulator, auth: dict[str, str]) -> None:
    start = requests.post(f"{emulator.url}upload/drive/v3/files?uploadType=resumable",
                          json={"name": "s.bin"},
                          headers={**auth, "X-Upload-Content-Length": "100"}, timeout=10)
    location = start.headers["Location"]
    over = requests.put(location, data=b"x" * 150, headers={"Content-Range": "bytes 0-149/100"},
                        timeout=10)
    assert over.status_code == 400
    status = requests.put(location, headers={"Content-Range": "bytes */100"}, timeout=10)
    assert status.status_code == 308 and "Range" not in status.headers
    done = requests.put(location, data=b"y" * 100, headers={"Content-Range": "bytes 0-99/100"},
                        timeout=10)
    assert done.status_code == 200
