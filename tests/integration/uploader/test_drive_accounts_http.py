"""drive-accounts as a real process: CRUD, errors, jobs on JetStream, the key kept secret."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.integration.uploader.conftest import make_key, read_jobs


def _create(stack, name="acc", key=None, verify=False, **extra):
    """Register ``key`` (default: a well-formed key Google never issued, so unchecked)."""
    key = key or make_key(f"sa-{uuid.uuid4().hex[:8]}@proj.iam.gserviceaccount.com")
    response = requests.post(stack.urls["drive-accounts"] + "/", headers=stack.admin,
                             params={"verify": str(verify).lower()},
                             json={"name": name, "key": key, **extra}, timeout=30)
    return response, key


def test_create_get_list_update_delete(uploader):
    url = uploader.urls["drive-accounts"]
    response, key = _create(uploader, daily_limit_bytes=5 * 10**9)
    assert response.status_code == 201, response.text
    account = response.json()
    assert account["email"] == key["client_email"] and account["state"] == "active"
    assert account["version"] == 1 and account["daily_limit_bytes"] == 5 * 10**9
    assert set(account) == {"id", "email", "name", "kind", "shared_drive_id", "subject",
                            "daily_limit_bytes", "state", "state_reason", "paused_until",
                            "storage", "version", "created_at", "updated_at"}
    assert account["kind"] == "service_account" and account["storage"]["limit_bytes"] is None
    got = requests.get(f"{url}/{account['id']}", headers=uploader.admin, timeout=10).json()
    assert got == account
    listed = requests.get(url + "/?state=active&limit=500", headers=uploader.admin,
                          timeout=10).json()
    assert account["id"] in [a["id"] for a in listed["items"]]
    assert listed["total"] >= 1 and listed["limit"] == 500 and listed["offset"] == 0

    patched = requests.patch(f"{url}/{account['id']}", headers=uploader.admin,
                             json={"name": "renamed", "state": "disabled"}, timeout=10).json()
    assert patched["name"] == "renamed" and patched["state"] == "disabled"
    assert patched["version"] == 2

    deleted = requests.delete(f"{url}/{account['id']}", headers=uploader.admin, timeout=10)
    assert deleted.status_code == 202 and deleted.json()["state"] == "removing"
    conflict = requests.patch(f"{url}/{account['id']}", headers=uploader.admin,
                              json={"name": "x"}, timeout=10)
    assert conflict.status_code == 409

    ids = {kind: {body["account_id"]: headers for body, headers in read_jobs(
        uploader.nats_url, kind)} for kind in ("account-added", "account-updated",
                                               "account-removed")}
    assert ids["account-added"][account["id"]]["Nats-Msg-Id"] == f"account-added:{account['id']}:1"
    assert account["id"] in ids["account-updated"] and account["id"] in ids["account-removed"]


def test_key_is_stored_encrypted_and_never_returned_or_logged(uploader):
    response, key = _create(uploader)
    account_id = response.json()["id"]
    listed = requests.get(uploader.urls["drive-accounts"] + "/?limit=500",
                          headers=uploader.admin, timeout=10)
    stored = uploader.db()["accounts"].find_one({"_id": account_id})
    secret_line = key["private_key"].splitlines()[1]
    assert secret_line not in str(stored) and key["private_key_id"] not in str(stored)
    for text in (response.text, listed.text, uploader.log_text()):
        assert secret_line not in text and key["private_key_id"] not in text


def test_duplicate_email_is_409(uploader):
    first, key = _create(uploader)
    assert first.status_code == 201
    second, _ = _create(uploader, key=key)
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "conflict"


def test_bad_input_is_400_with_json_error(uploader):
    url = uploader.urls["drive-accounts"] + "/"
    key = make_key("x@y.iam.gserviceaccount.com")
    cases = [
        ({"name": "a", "key": {**key, "type": "user"}}, "service_account"),
        ({"name": "a", "key": {k: v for k, v in key.items() if k != "private_key"}},
         "private_key"),
        ({"name": "a", "key": "not an object"}, "JSON object"),
        ({"name": "", "key": key}, "name"),
        ({"name": "a", "key": key, "daily_limit_bytes": -1}, "daily_limit_bytes"),
        ({"name": "a", "key": key, "extra": 1}, "unknown"),
    ]
    for body, words in cases:
        response = requests.post(url, headers=uploader.admin, json=body, timeout=10)
        assert response.status_code == 400, (body, response.text)
        assert words in response.json()["error"]["message"]
        assert key["private_key"].splitlines()[1] not in response.text
    bad_json = requests.post(url, data="{nope", timeout=10,
                             headers={**uploader.admin, "Content-Type": "application/json"})
    assert bad_json.status_code == 400
    for query in ("limit=0", "limit=abc", "offset=-1", "state=bogus"):
        assert requests.get(f"{url}?{query}", headers=uploader.admin,
                            timeout=10).status_code == 400


def test_a_key_whose_token_endpoint_is_unreachable_is_400_not_stored(uploader):
    key = make_key(f"v-{uuid.uuid4().hex[:8]}@p.iam.gserviceaccount.com")
    refused, _ = _create(uploader, name="v", key=key, verify=True)
    assert refused.status_code == 400, refused.text
    assert "token_uri could not be reached" in refused.json()["error"]["message"]
    assert uploader.db()["accounts"].find_one({"email": key["client_email"]}) is None


def test_a_key_google_refuses_is_400_with_its_oauth_error(uploader):
    forged = uploader.drive.create_account(legacy=True)
    forged["private_key"] = make_key(forged["client_email"])["private_key"]  # not its key
    refused, _ = _create(uploader, name="forged", key=forged, verify=True)
    assert refused.status_code == 400, refused.text
    message = refused.json()["error"]["message"]
    assert "Google refused the key" in message and "invalid_grant" in message
    assert forged["private_key"].splitlines()[1] not in refused.text


@pytest.mark.parametrize("fields", [{}, {"legacy": True, "storage_limit_bytes": 0}],
                         ids=["after-the-cutoff", "no-room"])
def test_a_service_account_without_storage_is_422_pointing_at_the_three_kinds(uploader, fields):
    key = uploader.drive.create_account(**fields)
    refused, _ = _create(uploader, name="no-storage", key=key, verify=True)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "unprocessable"
    assert error["details"]["reason"] == "storageQuotaExceeded"
    for words in ("no Drive storage", "authorized_user", "shared_drive_id", "subject"):
        assert words in error["message"]
    if not fields:  # Google's own words reach the operator
        assert "Service Accounts do not have storage quota" in error["message"]
    assert uploader.db()["accounts"].find_one({"email": key["client_email"]}) is None


def test_an_authorized_user_key_cannot_skip_the_live_check(uploader):
    key = {"type": "authorized_user", "client_id": "c", "client_secret": "GOCSPX-x",
           "refresh_token": "1//x"}
    refused, _ = _create(uploader, name="user", key=key, verify=False)
    assert refused.status_code == 400 and "checked live" in refused.json()["error"]["message"]
    assert "GOCSPX" not in refused.text


def test_auth_and_not_found(uploader):
    url = uploader.urls["drive-accounts"]
    assert requests.get(url + "/", timeout=10).status_code == 401
    wrong = requests.get(url + "/", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"
    for method in ("get", "patch", "delete"):
        response = requests.request(method, f"{url}/{uuid.uuid4().hex}", headers=uploader.admin,
                                    json={"name": "x"}, timeout=10)
        assert response.status_code == 404, method


def test_a_key_the_drive_emulator_issued_is_checked_and_its_storage_cached(uploader):
    key = uploader.drive.create_account(
        legacy=True, email=f"e{uuid.uuid4().hex[:8]}@emu.iam.gserviceaccount.com",
        storage_limit_bytes=40 * 10**6)
    response = requests.post(uploader.urls["drive-accounts"] + "/", headers=uploader.admin,
                             json={"name": "emu", "key": key}, timeout=30)  # verify: default
    assert response.status_code == 201, response.text
    account = response.json()
    assert account["email"] == key["client_email"] and account["kind"] == "service_account"
    storage = account["storage"]
    assert storage["limit_bytes"] == 40 * 10**6 and storage["usage_bytes"] == 0
    assert storage["free_bytes"] == 40 * 10**6 and storage["checked_at"]
    requests.delete(f"{uploader.urls['drive-accounts']}/{account['id']}",
                    headers=uploader.admin, timeout=10)
    usage = requests.get(f"{uploader.drive.url}_emulator/accounts/{key['client_email']}",
                         timeout=10).json()
    assert usage["files"] == 0 and usage["uploaded_bytes"] == 1  # the probe, deleted


def test_each_kind_is_checked_live_and_stored_with_its_kind(uploader):
    drive = uploader.drive
    member, outsider = drive.create_account(), drive.create_account()
    shared = drive.create_shared_drive({member["client_email"]: "organizer"})
    created, _ = _create(uploader, name="shared", key=member, verify=True,
                         shared_drive_id=shared["id"])
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["kind"] == "shared_drive" and body["shared_drive_id"] == shared["id"]
    assert body["storage"]["limit_bytes"] is None  # the drive's pooled storage: not reported
    not_member, _ = _create(uploader, name="outsider", key=outsider, verify=True,
                            shared_drive_id=shared["id"])
    assert not_member.status_code == 422, not_member.text
    assert "not a member" in not_member.json()["error"]["message"]

    delegating = drive.create_account()
    subject = drive.create_oauth_user(workspace=True)["account"]
    ungranted, _ = _create(uploader, name="no-grant", key=delegating, verify=True,
                           subject=subject)
    assert ungranted.status_code == 400 and "unauthorized_client" in ungranted.text
    drive.grant_delegation(delegating)
    granted, _ = _create(uploader, name="delegated", key=delegating, verify=True, subject=subject)
    assert granted.status_code == 201, granted.text
    assert granted.json()["kind"] == "delegated" and granted.json()["email"] == subject

    user = drive.create_oauth_user(storage_limit_bytes=40 * 10**6)
    person, _ = _create(uploader, name="person", key=user, verify=True)
    assert person.status_code == 201, person.text
    assert person.json()["email"] == user["account"] and person.json()["kind"] == "authorized_user"
    assert person.json()["storage"]["limit_bytes"] == 40 * 10**6
    stored = uploader.db()["accounts"].find_one({"_id": person.json()["id"]})
    assert user["refresh_token"] not in str(stored) and user["client_secret"] not in str(stored)
    for text in (person.text, uploader.log_text()):
        assert user["refresh_token"] not in text and user["client_secret"] not in text
    for answer in (created, granted, person):
        requests.delete(f"{uploader.urls['drive-accounts']}/{answer.json()['id']}",
                        headers=uploader.admin, timeout=10)
