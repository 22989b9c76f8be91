"""The Uploader through the local stack's gateway (the ``live_stack`` fixture): an upload
answers 202 ``replicating`` at once, the file is visible through ``files``, an account can be
created and its key never comes back."""

from __future__ import annotations

import hashlib
import os
import uuid

import pytest
import requests

from tests.integration.uploader.conftest import make_key


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest):
    try:
        return request.getfixturevalue("live_stack")
    except pytest.FixtureLookupError:
        pytest.skip("no live_stack fixture yet (tests/conftest.py)")


def test_upload_and_accounts_through_the_gateway(stack, request: pytest.FixtureRequest):
    gateway = stack.gateway_url
    admin = {"Authorization": f"Bearer {stack.admin_token}"}
    key = make_key(f"live-{uuid.uuid4().hex[:8]}@p.iam.gserviceaccount.com")
    # A key Google never issued: registered unchecked (``verify=false``).
    created = requests.post(f"{gateway}/function/drive-accounts/", headers=admin, timeout=30,
                            params={"verify": "false"}, json={"name": "live", "key": key})
    assert created.status_code == 201, created.text
    assert key["private_key"].splitlines()[1] not in created.text
    # The key is unknown to the Drive emulator: left active on the shared session stack, it
    # would keep every later upload "replicating".
    request.addfinalizer(lambda: requests.delete(
        f"{gateway}/function/drive-accounts/{created.json()['id']}", headers=admin, timeout=30))

    data = os.urandom(2 * 1024 * 1024 + 5)
    uploaded = requests.post(f"{gateway}/function/upload-file/", headers=admin, timeout=60,
                             files={"file": ("live.bin", data)})
    assert uploaded.status_code == 202, uploaded.text
    body = uploaded.json()
    assert body["status"] == "replicating"
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    got = requests.get(f"{gateway}/function/files/{body['id']}", timeout=30)
    assert got.status_code == 200 and got.json()["size"] == len(data)
    assert requests.post(f"{gateway}/function/upload-file/?name=x", data=b"x",
                         timeout=30).status_code == 401
