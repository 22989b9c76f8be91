"""drive-accounts as a real process: CRUD, errors, jobs on JetStream, the key kept secret."""

from __future__ import annotations

import uuid

import requests

from tests.integration.uploader.conftest import make_key, read_jobs


def _create(stack, name="acc", key=None, **extra):
    key = key or make_key(f"sa-{uuid.uuid4().hex[:8]}@proj.iam.gserviceaccount.com")
    response = requests.post(stack.urls["drive-accounts"] + "/", headers=stack.admin,
                             json={"name": name, "key": key, **extra}, timeout=10)
    return response, key


def test_create_get_list_update_delete(uploader):
    url = uploader.urls["drive-accounts"]
    response, key = _create(uploader, daily_limit_bytes=5 * 10**9)
    assert response.status_code == 201, response.text
    account = response.json()
    assert account["email"] == key["client_email"] and account["state"] == "active"
    assert account["version"] == 1 and account["daily_limit_bytes"] == 5 * 10**9
    assert set(account) == {"id", "email", "name", "daily_limit_bytes", "state", "version",
                            "created_at", "updated_at"}
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


def test_verify_rejects_a_key_whose_token_endpoint_fails(uploader):
    response, _ = _create(uploader, name="verified")
    assert response.status_code == 201
    url = uploader.urls["drive-accounts"] + "/?verify=true"
    key = make_key(f"v-{uuid.uuid4().hex[:8]}@p.iam.gserviceaccount.com")
    refused = requests.post(url, headers=uploader.admin, json={"name": "v", "key": key},
                            timeout=30)
    assert refused.status_code == 400
    assert "could not be verified" in refused.json()["error"]["message"]


def test_auth_and_not_found(uploader):
    url = uploader.urls["drive-accounts"]
    assert requests.get(url + "/", timeout=10).status_code == 401
    wrong = requests.get(url + "/", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"
    for method in ("get", "patch", "delete"):
        response = requests.request(method, f"{url}/{uuid.uuid4().hex}", headers=uploader.admin,
                                    json={"name": "x"}, timeout=10)
        assert response.status_code == 404, method


def test_verify_accepts_a_key_the_drive_emulator_issued(uploader, tmp_path):
    from devstack.process import free_port
    from emulators.drive.server import DriveEmulator

    emulator = DriveEmulator(tmp_path / "drive", free_port(), tmp_path / "drive.log")
    emulator.start()
    try:
        key = emulator.create_account(
            legacy=True, email=f"e{uuid.uuid4().hex[:8]}@emu.iam.gserviceaccount.com")
        response = requests.post(uploader.urls["drive-accounts"] + "/?verify=true",
                                 headers=uploader.admin, json={"name": "emu", "key": key},
                                 timeout=30)
        assert response.status_code == 201, response.text
        assert response.json()["email"] == key["client_email"]
    finally:
        emulator.stop()
