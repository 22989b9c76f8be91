"""The emulator backend without HTTP: visibility, copy, quotas, faults, restart."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emulators.drive.backend import Backend
from emulators.drive.errors import DriveApiError
from emulators.drive.faults import DropConnection
from emulators.drive.uploads import Uploads


def _account(backend: Backend, email: str, **limits: int) -> str:
    """A service account created before the cutoff (it owns files in its own drive)."""
    backend.accounts.create({"email": email, "legacy": True, **limits}, "http://emu/token")
    return email


def _upload(backend: Backend, owner: str, data: bytes, name: str = "f") -> dict:
    return Uploads(backend).simple(owner, {"name": name}, io.BytesIO(data), len(data), None)


@pytest.fixture()
def backend(tmp_path: Path) -> Backend:
    return Backend(tmp_path, fault_seed=1)


def test_visibility_follows_ownership_and_permissions(backend: Backend) -> None:
    a, b = _account(backend, "a@x.io"), _account(backend, "b@x.io")
    row = _upload(backend, a, b"hello")
    with pytest.raises(DriveApiError) as hidden:
        backend.readable(b, row["id"])
    assert hidden.value.status == 404
    backend.add_permission(a, row["id"], {"type": "user", "role": "reader", "emailAddress": b})
    assert backend.readable(b, row["id"])["md5"] == "5d41402abc4b2a76b9719d911017c592"
    with pytest.raises(DriveApiError) as readonly:
        backend.update(b, row["id"], {"name": "mine"})
    assert readonly.value.reason == "insufficientFilePermissions"
    with pytest.raises(DriveApiError):
        backend.readable(None, row["id"])
    backend.add_permission(a, row["id"], {"type": "anyone", "role": "reader"})
    assert backend.readable(None, row["id"])["id"] == row["id"]


def test_copy_charges_storage_and_counts_copied_bytes(backend: Backend) -> None:
    a, b = _account(backend, "a@x.io"), _account(backend, "b@x.io", storage_limit_bytes=8)
    row = _upload(backend, a, b"12345")
    backend.add_permission(a, row["id"], {"type": "user", "role": "reader", "emailAddress": b})
    copy = backend.copy(b, row["id"], {"name": "c"})
    assert (copy["owner"], copy["md5"], copy["size"]) == (b, row["md5"], 5)
    assert backend.accounts.usage(b)["copied_bytes"] == 5
    with pytest.raises(DriveApiError) as full:
        backend.copy(b, row["id"], {})
    assert full.value.reason == "storageQuotaExceeded"


def test_state_survives_a_restart(tmp_path: Path) -> None:
    first = Backend(tmp_path)
    a = _account(first, "a@x.io")
    row = _upload(first, a, b"persist me")
    second = Backend(tmp_path)
    assert second.readable(a, row["id"])["size"] == 10
    assert b"".join(second.blobs.read_range(row["id"], 0, 9)) == b"persist me"


def test_fault_rules_count_down_and_validate(backend: Backend) -> None:
    backend.faults.set("a@x.io", [{"method": "files.get", "error": "drop", "times": 1}])
    with pytest.raises(DropConnection):
        backend.faults.check("a@x.io", "files.get")
    backend.faults.check("a@x.io", "files.get")  # used up
    backend.faults.check("a@x.io", "files.list")  # other method untouched
    with pytest.raises(DriveApiError):
        backend.faults.set("a@x.io", [{"error": "teapot"}])
    backend.faults.set("a@x.io", [{"error": "429", "retry_after": 3}])
    with pytest.raises(DriveApiError) as limited:
        backend.faults.check("a@x.io", "anything")
    assert limited.value.status == 429 and limited.value.headers == {"Retry-After": "3"}


def test_list_pages_in_creation_order(backend: Backend) -> None:
    a = _account(backend, "a@x.io")
    ids = [_upload(backend, a, b"x", name=f"n{i}")["id"] for i in range(5)]
    seen, token = [], None
    while True:
        rows, token = backend.list(a, "trashed = false", 2, token)
        seen += [row["id"] for row in rows]
        if token is None:
            break
    assert seen == ids


def test_list_finds_matches_beyond_one_scan_batch(backend: Backend) -> None:
    a = _account(backend, "a@x.io")
    for i in range(1200):
        backend.insert(a, {"name": f"n{i}"}, 0, "")
    rows, token = backend.list(a, "name = 'n1150'", 10, None)
    assert [row["name"] for row in rows] == ["n1150"] and token is None
    rows, token = backend.list(a, "name contains 'n11'", 5, None)
    assert [row["name"] for row in rows] == ["n11", "n110", "n111", "n112", "n113"]
    assert token is not None


def test_sharing_twice_across_restarts_keeps_one_permission(tmp_path: Path) -> None:
    first = Backend(tmp_path)
    a, b = _account(first, "a@x.io"), _account(first, "b@x.io")
    row = _upload(first, a, b"x")
    grant = {"type": "user", "role": "reader", "emailAddress": b}
    first.add_permission(a, row["id"], grant)
    again = ("import sys; from pathlib import Path; from emulators.drive.backend import Backend;"
             f"Backend(Path(sys.argv[1])).add_permission('a@x.io', '{row['id']}', {grant!r})")
    # Another process: a differently salted hash() must not create a second permission.
    subprocess.run([sys.executable, "-c", again, str(tmp_path)], check=True, timeout=60)
    assert [p["role"] for p in Backend(tmp_path).permissions(a, row["id"])] == ["owner", "reader"]


def test_latency_only_fault_delays_without_failing(backend: Backend) -> None:
    backend.faults.set("a@x.io", [{"method": "files.get", "error": "none", "latency_ms": 60}])
    started = time.monotonic()
    backend.faults.check("a@x.io", "files.get")
    assert time.monotonic() - started >= 0.06


def test_list_shows_own_and_shared_with_me_but_not_others_public_files(backend: Backend) -> None:
    a, b = _account(backend, "a@x.io"), _account(backend, "b@x.io")
    public = _upload(backend, a, b"p", name="public")
    shared = _upload(backend, a, b"s", name="shared")
    backend.add_permission(a, public["id"], {"type": "anyone", "role": "reader"})
    backend.add_permission(a, shared["id"], {"type": "user", "role": "reader", "emailAddress": b})
    assert [row["name"] for row in backend.list(b, None, 10, None)[0]] == ["shared"]
    assert backend.list(b, "'me' in owners", 10, None)[0] == []
    assert backend.readable(b, public["id"])["name"] == "public"
