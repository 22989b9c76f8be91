"""The three kinds of Drive credentials (and a plain service account): how each becomes
google-auth credentials, and the Drive call parameters of an account in a shared drive."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from fileserver.drive.client import DriveClient
from fileserver.drive.credentials import SCOPES, credentials_from_key
from fileserver.drive.errors import DriveFatalError
from fileserver.drive.kinds import key_kind
from tests.unit.drive.test_client_setup import fake_key

USER_KEY = {"type": "authorized_user", "client_id": "cid.apps.googleusercontent.com",
            "client_secret": "GOCSPX-secret", "refresh_token": "1//refresh"}


def test_kind_of_each_key() -> None:
    sa = fake_key()
    assert key_kind(USER_KEY) == "authorized_user"
    assert key_kind({**sa, "shared_drive_id": "0AAbc"}) == "shared_drive"
    assert key_kind({**sa, "subject": "ana@example.org"}) == "delegated"
    assert key_kind(sa) == "service_account"


def test_authorized_user_uses_google_auths_own_constructor_and_the_keys_token_uri() -> None:
    found = credentials_from_key(USER_KEY)
    assert isinstance(found, user_credentials.Credentials)
    assert found.refresh_token == "1//refresh" and found.client_id == USER_KEY["client_id"]
    assert found.token_uri == "https://oauth2.googleapis.com/token"  # Google's by default
    assert found.scopes == SCOPES
    moved = credentials_from_key({**USER_KEY, "token_uri": "http://127.0.0.1:9/token"})
    assert moved.token_uri == "http://127.0.0.1:9/token"


def test_delegation_sets_the_subject_and_a_plain_key_has_none() -> None:
    sa = fake_key()
    delegated = credentials_from_key({**sa, "subject": "ana@example.org"})
    assert isinstance(delegated, service_account.Credentials)
    assert delegated._subject == "ana@example.org"
    assert credentials_from_key(sa)._subject is None


def test_a_broken_user_key_is_fatal_and_not_echoed() -> None:
    with pytest.raises(DriveFatalError) as error:
        credentials_from_key({"type": "authorized_user", "client_secret": "GOCSPX-secret"})
    assert "GOCSPX" not in str(error.value) and "authorized_user" in str(error.value)


def captured_calls(client: DriveClient) -> list:
    calls: list = []

    def fake_call(method, request):
        calls.append((method, request))
        return {"id": "f1", "files": [], "name": "n", "size": "1", "md5Checksum": "x"}

    client._call = fake_call  # type: ignore[method-assign]
    return calls


def params(request) -> dict[str, list[str]]:
    return parse_qs(urlparse(request.uri).query)


def test_a_shared_drive_account_sends_supports_all_drives_parents_and_drive_corpora() -> None:
    client = DriveClient({**fake_key(), "shared_drive_id": "0AAdrive"}, "http://emu/")
    calls = captured_calls(client)
    client.copy("src", "n", {"fileserver_id": "x"})
    client.find_by_fileserver_id("x")
    client.share_public("f1")
    client.rename("f1", "m")
    client.delete("f1")
    client.get("f1")
    for _method, request in calls:
        assert params(request)["supportsAllDrives"] == ["true"], request.uri
    copy, listing = calls[0][1], calls[1][1]
    assert '"parents": ["0AAdrive"]' in copy.body
    listed = params(listing)
    assert listed["corpora"] == ["drive"] and listed["driveId"] == ["0AAdrive"]
    assert listed["includeItemsFromAllDrives"] == ["true"]
    assert "owners" not in listed["q"][0] and "trashed = false" in listed["q"][0]


def test_a_my_drive_account_lists_only_what_it_owns_and_sets_no_parent() -> None:
    client = DriveClient(fake_key(), "http://emu/")
    calls = captured_calls(client)
    client.copy("src", "n", {})
    client.list_files()
    assert "parents" not in calls[0][1].body
    assert params(calls[1][1])["q"] == ["trashed = false and 'me' in owners"]
