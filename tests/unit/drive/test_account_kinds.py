"""Account kinds without HTTP: service accounts after the 2025 cutoff own nothing, legacy
ones own files, OAuth users' refresh tokens (revoked, unknown, a "Testing" app's 7 days)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from emulators.drive.backend import Backend
from emulators.drive.errors import SERVICE_ACCOUNT_NO_QUOTA, DriveApiError
from emulators.drive.uploads import Uploads

TOKEN_URI = "http://emu/token"


@pytest.fixture()
def backend(tmp_path: Path) -> Backend:
    return Backend(tmp_path)


def _upload(backend: Backend, owner: str, data: bytes) -> dict:
    return Uploads(backend).simple(owner, {"name": "f"}, io.BytesIO(data), len(data), None)


def test_a_new_service_account_owns_nothing_by_default(backend: Backend) -> None:
    key = backend.accounts.create({}, TOKEN_URI)
    me = key["client_email"]
    legacy = backend.accounts.create({"legacy": True}, TOKEN_URI)["client_email"]
    source = _upload(backend, legacy, b"shared with the new one")
    backend.add_permission(legacy, source["id"], {"type": "user", "role": "reader",
                                                  "emailAddress": me})
    for attempt in (lambda: _upload(backend, me, b"x"),
                    lambda: backend.copy(me, source["id"], {}),
                    lambda: backend.create_empty(me, {"name": "folder"})):
        with pytest.raises(DriveApiError) as refused:
            attempt()
        assert (refused.value.status, refused.value.reason) == (403, "storageQuotaExceeded")
        assert refused.value.message == SERVICE_ACCOUNT_NO_QUOTA
    assert backend.about(me)["storageQuota"]["limit"] == "0"
    assert backend.readable(me, source["id"])["id"] == source["id"]  # it can still read
    assert backend.accounts.usage(me)["owns_files"] is False


def test_legacy_flag_can_be_turned_off_later(backend: Backend) -> None:
    me = backend.accounts.create({"legacy": True}, TOKEN_URI)["client_email"]
    assert _upload(backend, me, b"ok")["size"] == 2
    backend.accounts.update(me, {"legacy": False})
    with pytest.raises(DriveApiError) as refused:
        _upload(backend, me, b"no")
    assert refused.value.message == SERVICE_ACCOUNT_NO_QUOTA


def test_oauth_user_gets_authorized_user_credentials_that_refresh(backend: Backend) -> None:
    info = backend.accounts.create({"kind": "user"}, TOKEN_URI)
    assert info["type"] == "authorized_user" and info["token_uri"] == TOKEN_URI
    assert {"client_id", "client_secret", "refresh_token"} <= info.keys()
    form = {"grant_type": "refresh_token", "client_id": info["client_id"],
            "client_secret": info["client_secret"], "refresh_token": info["refresh_token"]}
    token = backend.accounts.tokens.grant(form)
    me = backend.accounts.email_for_token(f"Bearer {token['access_token']}")
    assert me == info["account"] and _upload(backend, me, b"mine")["owner"] == me
    with pytest.raises(DriveApiError) as wrong_secret:
        backend.accounts.tokens.grant({**form, "client_secret": "nope"})
    assert (wrong_secret.value.status, wrong_secret.value.reason) == (401, "invalid_client")
    for bad in ({**form, "refresh_token": "1//unknown"}, None):
        if bad is None:
            backend.accounts.tokens.revoke(me)
            bad = form
        with pytest.raises(DriveApiError) as refused:
            backend.accounts.tokens.grant(bad)
        assert (refused.value.status, refused.value.reason) == (400, "invalid_grant")
        assert refused.value.message == "Token has been expired or revoked."
    with pytest.raises(DriveApiError):  # revocation also ends the access tokens
        backend.accounts.email_for_token(f"Bearer {token['access_token']}")


def test_testing_app_refresh_token_expires_after_seven_days(backend: Backend) -> None:
    info = backend.accounts.create({"kind": "user", "oauth_app_testing": True}, TOKEN_URI)
    form = {"grant_type": "refresh_token", "client_id": info["client_id"],
            "client_secret": info["client_secret"], "refresh_token": info["refresh_token"]}
    backend.clock.offset_seconds = 6.9 * 86400
    assert backend.accounts.tokens.grant(form)["token_type"] == "Bearer"
    backend.clock.offset_seconds = 7 * 86400 + 1
    with pytest.raises(DriveApiError) as expired:
        backend.accounts.tokens.grant(form)
    assert expired.value.reason == "invalid_grant"


def test_unknown_kind_and_grant_type_are_refused(backend: Backend) -> None:
    with pytest.raises(DriveApiError) as kind:
        backend.accounts.create({"kind": "robot"}, TOKEN_URI)
    assert kind.value.status == 400
    with pytest.raises(DriveApiError) as grant:
        backend.accounts.tokens.grant({"grant_type": "password"})
    assert grant.value.reason == "unsupported_grant_type"
