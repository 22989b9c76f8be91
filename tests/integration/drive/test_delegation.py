"""Domain-wide delegation through google-auth: a service account's JWT with ``sub`` acts as
a Workspace user only once the admin granted its client id the scopes; else Google's
``unauthorized_client`` body."""

from __future__ import annotations

import io

import pytest
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request
from google.oauth2 import service_account
from googleapiclient.http import MediaIoBaseUpload

from emulators.drive.server import DriveEmulator
from emulators.drive.tokens import UNAUTHORIZED_CLIENT
from tests.integration.drive.conftest import api_service
from tests.integration.drive.test_oauth_and_cutoff import SCOPES


def _delegated(key: dict, subject: str, scopes: list[str] = SCOPES):
    return service_account.Credentials.from_service_account_info(
        key, scopes=scopes).with_subject(subject)


def test_delegation_needs_the_admin_grant(emulator: DriveEmulator) -> None:
    key = emulator.create_account()  # after the cutoff: owns nothing itself
    user = emulator.create_oauth_user(workspace=True)["account"]
    with pytest.raises(RefreshError) as refused:
        _delegated(key, user).refresh(Request())
    assert refused.value.args[1] == {"error": "unauthorized_client",
                                     "error_description": UNAUTHORIZED_CLIENT}

    emulator.grant_delegation(key)
    creds = _delegated(key, user)
    service = api_service(emulator, creds)
    about = service.about().get(fields="user(emailAddress)").execute()
    assert about["user"]["emailAddress"] == user
    media = MediaIoBaseUpload(io.BytesIO(b"owned by the user"), "application/octet-stream")
    created = service.files().create(body={"name": "u"}, media_body=media,
                                     fields="owners(emailAddress)").execute()
    assert created["owners"] == [{"emailAddress": user}]

    emulator.revoke_delegation(key["client_id"])
    with pytest.raises(RefreshError):
        _delegated(key, user).refresh(Request())


def test_delegation_is_limited_to_granted_scopes_and_workspace_users(
        emulator: DriveEmulator) -> None:
    key = emulator.create_account()
    emulator.grant_delegation(key["client_email"],
                              scopes=["https://www.googleapis.com/auth/drive.readonly"])
    workspace_user = emulator.create_oauth_user(workspace=True)["account"]
    with pytest.raises(RefreshError) as scope:
        _delegated(key, workspace_user).refresh(Request())
    assert scope.value.args[1]["error"] == "unauthorized_client"
    readonly = _delegated(key, workspace_user,
                          ["https://www.googleapis.com/auth/drive.readonly"])
    readonly.refresh(Request())
    assert readonly.valid
    personal = emulator.create_oauth_user()["account"]
    with pytest.raises(RefreshError) as not_in_domain:
        _delegated(key, personal, ["https://www.googleapis.com/auth/drive.readonly"]).refresh(
            Request())
    assert not_in_domain.value.args[1] == {"error": "invalid_grant",
                                           "error_description": "Invalid email or User ID"}
