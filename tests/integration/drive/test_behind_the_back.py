"""What happens to accounts and files outside fileserver: a file deleted behind its back, an
account suspended (tokens, token exchanges, API calls and public links)."""

from __future__ import annotations

import io

import pytest
import requests
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request
from google.oauth2 import service_account
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseUpload

from emulators.drive.server import DriveEmulator
from tests.integration.drive.conftest import api_service, reason
from tests.integration.drive.test_oauth_and_cutoff import SCOPES, from_info


def _public_file(service) -> str:
    media = MediaIoBaseUpload(io.BytesIO(b"public"), "application/octet-stream")
    file_id = service.files().create(body={"name": "p"}, media_body=media,
                                     fields="id").execute()["id"]
    service.permissions().create(fileId=file_id, body={"type": "anyone", "role": "reader"}
                                 ).execute()
    return file_id


def _link(emulator: DriveEmulator, file_id: str) -> int:
    return requests.get(f"{emulator.url}uc?id={file_id}&export=download", timeout=10).status_code


def _sa(key: dict) -> service_account.Credentials:
    return service_account.Credentials.from_service_account_info(key, scopes=SCOPES)


def test_a_file_deleted_behind_fileservers_back(emulator: DriveEmulator) -> None:
    service = api_service(emulator, _sa(emulator.create_account(legacy=True)))
    file_id = _public_file(service)
    assert _link(emulator, file_id) == 200
    emulator.delete_file(file_id)
    with pytest.raises(HttpError) as gone:
        service.files().get(fileId=file_id).execute()
    assert reason(gone.value)[:2] == (404, "notFound")
    assert _link(emulator, file_id) == 404


def test_a_suspended_service_account(emulator: DriveEmulator) -> None:
    key = emulator.create_account(legacy=True)
    creds = _sa(key)
    service = api_service(emulator, creds)
    file_id = _public_file(service)
    emulator.suspend_account(key["client_email"])
    old = requests.get(f"{emulator.url}drive/v3/about", timeout=10,
                       headers={"Authorization": f"Bearer {creds.token}"})
    assert old.status_code == 401  # its tokens stopped working at once
    with pytest.raises(RefreshError) as refused:  # the client's refresh after the 401
        service.about().get().execute(num_retries=0)
    assert refused.value.args[1] == {"error": "invalid_grant",
                                     "error_description": "Invalid grant: account not found"}
    assert _link(emulator, file_id) == 404  # its files are gone for everyone
    emulator.unsuspend_account(key["client_email"])
    assert _link(emulator, file_id) == 200
    emulator.suspend_account(key["client_email"], keep_public_links=True)
    assert _link(emulator, file_id) == 200  # a Workspace admin's suspension keeps shares


def test_a_suspended_oauth_user_cannot_refresh(emulator: DriveEmulator) -> None:
    info = emulator.create_oauth_user()
    from_info(info).refresh(Request())
    emulator.suspend_account(info["account"])
    with pytest.raises(RefreshError) as refused:
        from_info(info).refresh(Request())
    assert refused.value.args[1]["error"] == "invalid_grant"
