"""Through google-auth and google-api-python-client: OAuth user accounts refresh with the
``refresh_token`` grant (and a revoked token gets Google's ``invalid_grant`` body), and a
service account created after the 2025 cutoff owns nothing (Google's exact 403)."""

from __future__ import annotations

import io

import pytest
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseUpload

from emulators.drive.errors import SERVICE_ACCOUNT_NO_QUOTA
from emulators.drive.server import DriveEmulator
from tests.integration.drive.conftest import api_service, reason

SCOPES = ["https://www.googleapis.com/auth/drive"]


def from_info(info: dict) -> user_credentials.Credentials:
    """google-auth's own constructor. It always sets Google's token URL (google-auth 2.63:
    "always overrides"), so the emulator's ``token_uri`` is put back with ``with_token_uri``."""
    creds = user_credentials.Credentials.from_authorized_user_info(info, SCOPES)
    assert creds.token_uri == "https://oauth2.googleapis.com/token"
    return creds.with_token_uri(info["token_uri"])


def _upload(service, data: bytes, **meta: object) -> dict:
    media = MediaIoBaseUpload(io.BytesIO(data), "application/octet-stream", resumable=True,
                              chunksize=256 * 1024)
    return service.files().create(body={"name": "f.bin", **meta}, media_body=media,
                                  fields="id,size,owners(emailAddress)").execute()


def test_google_auth_refreshes_an_oauth_user_until_the_token_is_revoked(
        emulator: DriveEmulator) -> None:
    info = emulator.create_oauth_user()
    assert info["token_uri"] == f"{emulator.url}token"
    creds = from_info(info)
    creds.refresh(Request())
    assert creds.valid and creds.token.startswith("ya29.")
    service = api_service(emulator, creds)
    user = service.about().get(fields="user(emailAddress,permissionId)").execute()["user"]
    assert user["emailAddress"] == info["account"] and user["permissionId"]
    created = _upload(service, b"owned by a person")
    assert created["owners"] == [{"emailAddress": info["account"]}]

    assert emulator.revoke_refresh_tokens(info["account"]) == 1
    again = from_info(info)
    with pytest.raises(RefreshError) as refused:
        again.refresh(Request())
    assert refused.value.args[1] == {"error": "invalid_grant",
                                     "error_description": "Token has been expired or revoked."}


def test_a_wrong_client_secret_is_invalid_client(emulator: DriveEmulator) -> None:
    info = emulator.create_oauth_user(workspace=True)
    forged = from_info({**info, "client_secret": "GOCSPX-not-it"})
    with pytest.raises(RefreshError) as refused:
        forged.refresh(Request())
    assert refused.value.args[1]["error"] == "invalid_client"


def test_a_service_account_after_the_cutoff_cannot_upload_or_copy(
        emulator: DriveEmulator) -> None:
    legacy_key = emulator.create_account(legacy=True)
    new_key = emulator.create_account()
    new_creds = service_account.Credentials.from_service_account_info(new_key, scopes=SCOPES)
    legacy = api_service(emulator, service_account.Credentials.from_service_account_info(
        legacy_key, scopes=SCOPES))
    source = _upload(legacy, b"a file the new account may read")
    legacy.permissions().create(fileId=source["id"], body={
        "type": "user", "role": "reader", "emailAddress": new_key["client_email"]}).execute()
    fresh = api_service(emulator, new_creds)
    for call in (lambda: _upload(fresh, b"nope"),
                 lambda: fresh.files().copy(fileId=source["id"], body={}).execute()):
        with pytest.raises(HttpError) as refused:
            call()
        assert reason(refused.value) == (403, "storageQuotaExceeded", SERVICE_ACCOUNT_NO_QUOTA)
    quota = fresh.about().get(fields="storageQuota").execute()["storageQuota"]
    assert quota["limit"] == "0" and quota["usage"] == "0"
    assert fresh.files().get(fileId=source["id"], fields="size").execute()["size"] == "31"
