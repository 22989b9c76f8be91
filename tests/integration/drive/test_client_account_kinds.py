"""fileserver's own DriveClient with each kind of credential, against the emulator: an OAuth
user (google-auth's ``from_authorized_user_info`` refreshing with the ``refresh_token``
grant, then Google's ``invalid_grant`` once revoked), a service account in a shared drive
(every call with ``supportsAllDrives``: the emulator answers 404 without it, like Google),
and a delegated service account."""

from __future__ import annotations

import hashlib
import io

import pytest
from google.auth.transport.requests import Request

from emulators.drive.server import DriveEmulator
from fileserver.drive.client import DriveClient
from fileserver.drive.credentials import credentials_from_key
from fileserver.drive.errors import DriveFatalError
from fileserver.drive.retry import RetryPolicy

FAST = RetryPolicy(attempts=3, base_delay=0.005, max_delay=0.05)
DATA = b"fileserver bytes " * 4000


def client(emulator: DriveEmulator, key: dict) -> DriveClient:
    return DriveClient(key, emulator.url, policy=FAST, chunk_size=256 * 1024)


def round_trip(drive: DriveClient, copier: DriveClient) -> None:
    """Upload, share publicly, copy from the public link (no per-user share), list, delete."""
    placed = drive.upload(io.BytesIO(DATA), len(DATA), "k.bin", "application/octet-stream",
                          {"fileserver_id": "fk"})
    assert placed.md5 == hashlib.md5(DATA).hexdigest()
    drive.share_public(placed.id)
    copied = copier.copy(placed.id, "k.bin", {"fileserver_id": "fk"})
    assert copied.size == len(DATA) and copied.md5 == placed.md5
    assert [f.id for f in copier.find_by_fileserver_id("fk")] == [copied.id]
    assert placed.id in [f.id for f in drive.list_files()]
    copier.delete(copied.id)
    drive.delete(placed.id)
    assert drive.find_by_fileserver_id("fk") == []


def test_google_auths_authorized_user_refreshes_against_the_emulator(emulator):
    info = emulator.create_oauth_user()
    credentials = credentials_from_key(info)
    credentials.refresh(Request())
    assert credentials.valid and credentials.token_uri == info["token_uri"]
    user = client(emulator, info)
    assert user.about()["email"] == info["account"]
    round_trip(user, client(emulator, emulator.create_oauth_user()))


def test_a_revoked_refresh_token_is_a_refused_key_with_googles_reason(emulator):
    info = emulator.create_oauth_user()
    emulator.revoke_refresh_tokens(info["account"])
    with pytest.raises(DriveFatalError) as refused:
        client(emulator, info).about()
    assert refused.value.reason == "authError"
    assert "invalid_grant: Token has been expired or revoked." in str(refused.value)
    assert info["refresh_token"] not in str(refused.value)


def test_a_service_account_in_a_shared_drive_works_there_only(emulator):
    key = emulator.create_account()  # after the cutoff: owns nothing of its own
    other = emulator.create_account()
    drive = emulator.create_shared_drive({key["client_email"]: "organizer"})
    second = emulator.create_shared_drive({other["client_email"]: "organizer"})
    member = client(emulator, {**key, "shared_drive_id": drive["id"]})
    assert member.shared_drive()["id"] == drive["id"]
    round_trip(member, client(emulator, {**other, "shared_drive_id": second["id"]}))
    outsider = client(emulator, {**other, "shared_drive_id": drive["id"]})
    with pytest.raises(Exception) as missing:
        outsider.shared_drive()
    assert type(missing.value).__name__ == "DriveNotFound"


def test_a_delegated_service_account_acts_as_the_workspace_user(emulator):
    key = emulator.create_account()
    emulator.grant_delegation(key)
    user = emulator.create_oauth_user(workspace=True)["account"]
    delegated = client(emulator, {**key, "subject": user})
    assert delegated.about()["email"] == user
    round_trip(delegated, client(emulator, emulator.create_oauth_user()))
