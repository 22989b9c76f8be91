"""Backend rules without HTTP: shared-drive visibility and roles, the daily upload cap,
filler usage, suspension, fields masks, and an old database gaining the new columns."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from emulators.drive import fields, schema
from emulators.drive.backend import Backend, ListCorpus
from emulators.drive.errors import DriveApiError
from emulators.drive.uploads import Uploads

TOKEN_URI = "http://emu/token"
OLD_SCHEMA = """
CREATE TABLE accounts (
    email TEXT PRIMARY KEY, display_name TEXT NOT NULL, public_key_pem TEXT NOT NULL,
    private_key_id TEXT NOT NULL, storage_limit INTEGER NOT NULL,
    daily_download_limit INTEGER NOT NULL, uploaded_bytes INTEGER NOT NULL DEFAULT 0,
    copied_bytes INTEGER NOT NULL DEFAULT 0);
CREATE TABLE files (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, owner TEXT NOT NULL,
    name TEXT NOT NULL, mime_type TEXT NOT NULL, size INTEGER NOT NULL, md5 TEXT NOT NULL,
    app_properties TEXT NOT NULL, trashed INTEGER NOT NULL DEFAULT 0,
    created_time TEXT NOT NULL, modified_time TEXT NOT NULL);
CREATE TABLE uploads (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, metadata TEXT NOT NULL, fields TEXT,
    total_size INTEGER, mime_type TEXT NOT NULL);
INSERT INTO accounts VALUES ('old@x.io', 'old', 'pem', 'k', 100, 100, 0, 0);
"""


@pytest.fixture()
def backend(tmp_path: Path) -> Backend:
    return Backend(tmp_path)


def _account(backend: Backend, **body: object) -> str:
    created = backend.accounts.create(body, TOKEN_URI)
    return created.get("client_email") or created["account"]


def _upload(backend: Backend, owner: str, data: bytes, **meta: object) -> dict:
    return Uploads(backend).simple(owner, {"name": "f", **meta}, io.BytesIO(data), len(data),
                                   None, all_drives=True)


def test_shared_drive_roles_and_visibility(backend: Backend) -> None:
    org, writer, outsider = (_account(backend) for _ in range(3))
    drive = backend.drives.admin_create({"members": {org: "organizer", writer: "writer"}})
    row = _upload(backend, writer, b"drive bytes", parents=[drive["id"]])
    assert row["drive_id"] == drive["id"] and backend.accounts.stored_bytes(writer) == 0
    for me, flag in ((writer, False), (outsider, True)):
        with pytest.raises(DriveApiError) as hidden:
            backend.readable(me, row["id"], flag)
        assert hidden.value.status == 404
    with pytest.raises(DriveApiError) as not_deleter:
        backend.delete(writer, row["id"], True)
    assert not_deleter.value.reason == "insufficientFilePermissions"
    with pytest.raises(DriveApiError) as not_organizer:
        backend.add_permission(writer, drive["id"], {"type": "user", "role": "reader",
                                                     "emailAddress": outsider}, True)
    assert not_organizer.value.status == 403
    backend.add_permission(org, drive["id"], {"type": "user", "role": "reader",
                                              "emailAddress": outsider}, True)
    assert backend.readable(outsider, row["id"], True)["id"] == row["id"]
    listed, _ = backend.list(outsider, None, 10, None, ListCorpus("drive", drive["id"], True))
    assert [r["id"] for r in listed] == [row["id"]]
    backend.delete(org, row["id"], True)


def test_upload_cap_counts_uploads_and_copies_per_utc_day(backend: Backend) -> None:
    me = _account(backend, kind="user", daily_upload_limit_bytes=10)
    first = _upload(backend, me, b"123456")
    backend.copy(me, first["id"], {})  # 6 + 6 = 12: crossed, but it completed
    with pytest.raises(DriveApiError) as capped:
        backend.copy(me, first["id"], {})
    assert (capped.value.status, capped.value.reason) == (403, "userRateLimitExceeded")
    backend.clock.offset_seconds = 86400
    assert _upload(backend, me, b"next day")["size"] == 8


def test_fill_and_unlimited_storage(backend: Backend) -> None:
    me = _account(backend, kind="user", storage_limit_bytes=100)
    _upload(backend, me, b"x" * 40)
    backend.accounts.fill(me, None)
    assert backend.about(me)["storageQuota"]["usage"] == "100"
    with pytest.raises(DriveApiError):
        _upload(backend, me, b"y")
    backend.accounts.update(me, {"unlimited_storage": True})
    assert "limit" not in backend.about(me)["storageQuota"]
    assert _upload(backend, me, b"y" * 1000)["size"] == 1000
    backend.accounts.update(me, {"storage_limit_bytes": 5})  # a limit again
    assert backend.about(me)["storageQuota"]["limit"] == "5"


def test_suspended_owner_files_are_hidden_unless_links_are_kept(backend: Backend) -> None:
    me = _account(backend, legacy=True)
    row = _upload(backend, me, b"p")
    backend.add_permission(me, row["id"], {"type": "anyone", "role": "reader"})
    backend.accounts.suspend(me, True, False)
    with pytest.raises(DriveApiError):
        backend.readable(None, row["id"])
    backend.accounts.suspend(me, True, True)
    assert backend.readable(None, row["id"])["id"] == row["id"]


def test_fields_paths_and_schema_check() -> None:
    selector = fields.parse("files/id,files(size),nextPageToken")
    assert selector == {"files": {"id": None, "size": None}, "nextPageToken": None}
    schema.check(selector, "FileList")
    schema.check(fields.parse("appProperties/anything,owners(emailAddress)"), "File")
    with pytest.raises(DriveApiError) as bad:
        schema.check(fields.parse("storageQuota(limit,color)"), "About")
    assert bad.value.message == "Invalid field selection color"


def test_an_old_database_gains_the_new_columns(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "drive.sqlite3") as conn:
        conn.executescript(OLD_SCHEMA)
    backend = Backend(tmp_path)
    usage = backend.accounts.usage("old@x.io")
    assert (usage["kind"], usage["owns_files"], usage["suspended"]) == (
        "service_account", True, False)  # accounts from before still own their files
    assert _upload(backend, "old@x.io", b"still mine")["owner"] == "old@x.io"


def test_list_by_drive_parent_and_hides_suspended_owners(backend: Backend) -> None:
    me, other = _account(backend), _account(backend, legacy=True)
    drive = backend.drives.admin_create({"members": {me: "writer", other: "reader"}})
    in_drive = _upload(backend, me, b"d", parents=[drive["id"]])
    shared = _upload(backend, other, b"s")
    backend.add_permission(other, shared["id"], {"type": "user", "role": "reader",
                                                 "emailAddress": me})
    everything = ListCorpus("allDrives", None, True)
    q = f"'{drive['id']}' in parents and trashed = false"
    assert [r["id"] for r in backend.list(me, q, 10, None, everything)[0]] == [in_drive["id"]]
    assert len(backend.list(me, None, 10, None, everything)[0]) == 2
    backend.accounts.suspend(other, True, False)
    assert [r["id"] for r in backend.list(me, None, 10, None, everything)[0]] == [in_drive["id"]]


def test_admin_drive_members_are_validated(backend: Backend) -> None:
    for members in ({"not-an-email": "writer"}, {"a@x.io": "owner"}, ["a@x.io"]):
        with pytest.raises(DriveApiError) as bad:
            backend.drives.admin_create({"members": members})
        assert bad.value.status == 400
