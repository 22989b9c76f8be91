"""about.get, storage limits and filler usage, the daily upload + copy cap, fields masks and
a resumable session's status after completion, through google-api-python-client."""

from __future__ import annotations

import io
import json

import pytest
import requests
from google.auth.transport.requests import Request
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseUpload

from emulators.drive.server import DriveEmulator
from tests.integration.drive.conftest import api_service, reason
from tests.integration.drive.test_oauth_and_cutoff import from_info


def _user(emulator: DriveEmulator, **fields: object):
    info = emulator.create_oauth_user(**fields)
    creds = from_info(info)
    return info["account"], api_service(emulator, creds), creds


def _upload(service, size: int) -> dict:
    media = MediaIoBaseUpload(io.BytesIO(b"u" * size), "application/octet-stream")
    return service.files().create(body={"name": "s.bin"}, media_body=media,
                                  fields="id,size").execute(num_retries=0)


def _quota(service) -> dict:
    return service.about().get(fields="storageQuota").execute()["storageQuota"]


def test_about_shows_the_user_and_the_quota(emulator: DriveEmulator) -> None:
    email, service, _ = _user(emulator)
    about = service.about().get(fields="user,storageQuota").execute()
    assert about["user"]["emailAddress"] == email
    assert {"displayName", "permissionId"} <= about["user"].keys()
    assert about["storageQuota"]["limit"] == str(15 * 1024**3)
    _upload(service, 100)
    assert _quota(service)["usage"] == _quota(service)["usageInDrive"] == "100"
    emulator.set_storage_limit(email, None)
    assert "limit" not in _quota(service)  # unlimited: Google leaves limit out
    emulator.set_storage_limit(email, 40 * 1024**2)
    assert _quota(service)["limit"] == str(40 * 1024**2)


def test_a_full_account_refuses_uploads(emulator: DriveEmulator) -> None:
    email, service, _ = _user(emulator, storage_limit_bytes=1000)
    _upload(service, 600)
    with pytest.raises(HttpError) as full:
        _upload(service, 600)
    assert reason(full.value) == (403, "storageQuotaExceeded",
                                  "The user's Drive storage quota has been exceeded.")
    emulator.set_storage_limit(email, 10_000)
    usage = emulator.fill_storage(email)  # exactly full, behind fileserver's back
    assert usage["extra_usage_bytes"] == 10_000 - 600
    quota = _quota(service)
    assert (quota["usage"], quota["usageInDrive"]) == ("10000", "600")
    with pytest.raises(HttpError) as filled:
        _upload(service, 1)
    assert reason(filled.value)[1] == "storageQuotaExceeded"


def test_daily_upload_and_copy_cap_resets_the_next_utc_day(emulator: DriveEmulator) -> None:
    email, service, _ = _user(emulator)
    emulator.set_daily_upload_limit(email, 500)
    first = _upload(service, 300)
    _upload(service, 300)  # started under the cap: completes, and crosses it
    for call in (lambda: _upload(service, 1),
                 lambda: service.files().copy(fileId=first["id"], body={}).execute(
                     num_retries=0)):
        with pytest.raises(HttpError) as capped:
            call()
        assert reason(capped.value) == (403, "userRateLimitExceeded", "User rate limit exceeded.")
    assert emulator.account_usage(email)["uploaded_today_bytes"] == 600
    emulator.set_clock(86400)
    try:
        assert _upload(service, 300)["size"] == "300"  # a new UTC day
    finally:
        emulator.set_clock(0)


def test_unknown_fields_are_a_400(emulator: DriveEmulator) -> None:
    _, service, _ = _user(emulator)
    created = _upload(service, 5)
    calls = [("bogus", lambda: service.about().get(fields="user,bogus").execute()),
             ("items", lambda: service.files().list(fields="nextPageToken,items(id)").execute()),
             ("nope", lambda: service.files().get(fileId=created["id"],
                                                  fields="id,owners(nope)").execute())]
    for name, call in calls:
        with pytest.raises(HttpError) as bad:
            call()
        body = json.loads(bad.value.content)["error"]
        assert bad.value.resp.status == 400 and body["message"] == f"Invalid field selection {name}"
        assert body["errors"][0] | {"reason": "invalidParameter", "location": "fields"} == \
            body["errors"][0]
    ok = service.files().get(fileId=created["id"], fields="id,parents,capabilities").execute()
    assert ok == {"id": created["id"]}  # Google's fields, even unset ones, are fine


def test_resumable_status_after_completion_answers_the_file(emulator: DriveEmulator) -> None:
    _, _, creds = _user(emulator)
    creds.refresh(Request())
    auth = {"Authorization": f"Bearer {creds.token}"}
    start = requests.post(f"{emulator.url}upload/drive/v3/files?uploadType=resumable"
                          "&fields=id,size", json={"name": "r.bin"}, timeout=10,
                          headers={**auth, "X-Upload-Content-Length": "4"})
    session = start.headers["Location"]
    done = requests.put(session, data=b"abcd", timeout=10,
                        headers={"Content-Range": "bytes 0-3/4"})
    assert done.status_code == 200
    status = requests.put(session, timeout=10, headers={"Content-Range": "bytes */4"})
    assert status.status_code == 200 and status.json() == done.json()
    assert status.json()["size"] == "4"
