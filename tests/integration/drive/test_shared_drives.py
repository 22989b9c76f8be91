"""Shared drives through google-api-python-client: files owned by the drive (no owners,
``driveId``), counted against nobody's storage, invisible without ``supportsAllDrives``,
listed with ``corpora=drive``; drives.create/get/list and members via permissions."""

from __future__ import annotations

import io
import uuid

import pytest
import requests
from google.oauth2 import service_account
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseUpload

from emulators.drive.server import DriveEmulator
from tests.integration.drive.conftest import api_service, reason
from tests.integration.drive.test_oauth_and_cutoff import SCOPES, from_info


def _sa(emulator: DriveEmulator, key: dict):
    return api_service(emulator, service_account.Credentials.from_service_account_info(
        key, scopes=SCOPES))


def _upload(service, data: bytes, parent: str | None, **params: object) -> dict:
    media = MediaIoBaseUpload(io.BytesIO(data), "application/octet-stream", resumable=True,
                              chunksize=256 * 1024)
    body = {"name": "d.bin", **({"parents": [parent]} if parent else {})}
    return service.files().create(body=body, media_body=media, **params,
                                  fields="id,size,driveId,owners,ownedByMe,parents").execute()


@pytest.fixture(scope="module")
def drive(emulator: DriveEmulator) -> dict:
    """A drive with two service accounts from after the cutoff: organizer and writer."""
    keys = {"organizer": emulator.create_account(), "writer": emulator.create_account()}
    made = emulator.create_shared_drive({keys["organizer"]["client_email"]: "fileOrganizer",
                                         keys["writer"]["client_email"]: "writer"})
    return {"id": made["id"], "keys": keys, "made": made}


def test_a_cutoff_service_account_stores_files_in_a_shared_drive(
        emulator: DriveEmulator, drive: dict) -> None:
    org = _sa(emulator, drive["keys"]["organizer"])
    created = _upload(org, b"owned by the drive", drive["id"], supportsAllDrives=True)
    assert created["driveId"] == drive["id"] and created["parents"] == [drive["id"]]
    assert "owners" not in created and created["ownedByMe"] is False
    quota = org.about().get(fields="storageQuota(usage,usageInDrive)").execute()
    assert quota["storageQuota"] == {"usage": "0", "usageInDrive": "0"}
    with pytest.raises(HttpError) as hidden:  # no supportsAllDrives: as if it did not exist
        org.files().get(fileId=created["id"]).execute()
    assert reason(hidden.value)[:2] == (404, "notFound")
    with pytest.raises(HttpError) as parent_hidden:
        _upload(org, b"x", drive["id"])
    assert reason(parent_hidden.value)[:2] == (404, "notFound")
    got = org.files().get(fileId=created["id"], supportsAllDrives=True, fields="size").execute()
    assert got == {"size": "18"}


def test_copies_into_the_drive_and_listing_it(emulator: DriveEmulator, drive: dict) -> None:
    org, writer = (_sa(emulator, drive["keys"][k]) for k in ("organizer", "writer"))
    source = _upload(org, b"copy me", drive["id"], supportsAllDrives=True)
    copy = writer.files().copy(fileId=source["id"], supportsAllDrives=True,
                               body={"name": "c", "parents": [drive["id"]]},
                               fields="id,driveId,owners").execute()
    assert copy["driveId"] == drive["id"] and "owners" not in copy
    inherit = writer.files().copy(fileId=source["id"], supportsAllDrives=True, body={},
                                  fields="id,driveId").execute()
    assert inherit["driveId"] == drive["id"]  # no parents: the source's drive
    listed = writer.files().list(corpora="drive", driveId=drive["id"], supportsAllDrives=True,
                                 includeItemsFromAllDrives=True, fields="files(id)").execute()
    ids = {f["id"] for f in listed["files"]}
    assert {source["id"], copy["id"], inherit["id"]} <= ids
    without = writer.files().list(corpora="drive", driveId=drive["id"]).execute()
    assert without["files"] == []  # shared-drive items need both flags
    mine = writer.files().list(q="'me' in owners", supportsAllDrives=True,
                               includeItemsFromAllDrives=True, corpora="allDrives").execute()
    assert mine["files"] == []  # drive files have no owners
    with pytest.raises(HttpError) as needs_drive_id:
        writer.files().list(corpora="drive").execute()
    assert reason(needs_drive_id.value)[0] == 400
    with pytest.raises(HttpError) as writer_cannot_delete:
        writer.files().delete(fileId=copy["id"], supportsAllDrives=True).execute()
    assert reason(writer_cannot_delete.value)[:2] == (403, "insufficientFilePermissions")
    org.files().delete(fileId=copy["id"], supportsAllDrives=True).execute()


def test_public_link_of_a_drive_file(emulator: DriveEmulator, drive: dict) -> None:
    org = _sa(emulator, drive["keys"]["organizer"])
    created = _upload(org, b"public bytes", drive["id"], supportsAllDrives=True)
    org.permissions().create(fileId=created["id"], supportsAllDrives=True,
                             body={"type": "anyone", "role": "reader"}).execute()
    got = requests.get(f"{emulator.url}uc?id={created['id']}&export=download", timeout=10)
    assert got.status_code == 200 and got.content == b"public bytes"


def test_drives_create_get_list_and_members(emulator: DriveEmulator) -> None:
    admin_info = emulator.create_oauth_user(workspace=True)
    admin = api_service(emulator, from_info(admin_info))
    request_id = uuid.uuid4().hex
    made = admin.drives().create(requestId=request_id, body={"name": "team"}).execute()
    assert made["kind"] == "drive#drive" and made["name"] == "team"
    with pytest.raises(HttpError) as repeat:
        admin.drives().create(requestId=request_id, body={"name": "team"}).execute()
    assert reason(repeat.value)[0] == 409
    member_key = emulator.create_account()
    member = _sa(emulator, member_key)
    with pytest.raises(HttpError) as not_member:
        member.drives().get(driveId=made["id"]).execute()
    assert reason(not_member.value)[:2] == (404, "notFound")
    with pytest.raises(HttpError) as needs_flag:
        admin.permissions().create(fileId=made["id"], body={
            "type": "user", "role": "writer", "emailAddress": member_key["client_email"]}
        ).execute()
    assert reason(needs_flag.value)[0] == 404
    perm = admin.permissions().create(fileId=made["id"], supportsAllDrives=True, body={
        "type": "user", "role": "writer", "emailAddress": member_key["client_email"]}).execute()
    assert perm["role"] == "writer"
    assert member.drives().get(driveId=made["id"]).execute()["id"] == made["id"]
    assert [d["id"] for d in member.drives().list().execute()["drives"]] == [made["id"]]
    assert _upload(member, b"m", made["id"], supportsAllDrives=True)["driveId"] == made["id"]
    members = admin.permissions().list(fileId=made["id"], supportsAllDrives=True).execute()
    assert {p["role"] for p in members["permissions"]} == {"organizer", "writer"}


def test_item_limit_of_a_drive(emulator: DriveEmulator) -> None:
    key = emulator.create_account()
    small = emulator.create_shared_drive({key["client_email"]: "organizer"}, item_limit=1)
    service = _sa(emulator, key)
    _upload(service, b"1", small["id"], supportsAllDrives=True)
    with pytest.raises(HttpError) as full:
        _upload(service, b"2", small["id"], supportsAllDrives=True)
    assert reason(full.value)[:2] == (403, "teamDriveFileLimitExceeded")
    assert emulator.shared_drive(small["id"])["items"] == 1
