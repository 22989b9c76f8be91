"""Issue 15's Must-show on the local stack: the three kinds of Drive account, a refused
after-the-cutoff service account, storage planned (507 before GridFS grows), an account
filled behind fileserver's back going ``full`` mid-replication, and a revoked refresh token
disabling its account with Google's reason."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from pymongo import MongoClient

from devstack.process import wait_until
from devstack.stack import LocalStack
from emulators.drive.admin_client import DriveAdmin
from tests.conftest import own_stack

pytestmark = pytest.mark.slow
MB = 1_000_000


class Api:
    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.gateway = stack.gateway_url
        self.admin = {"Authorization": f"Bearer {stack.admin_token}"}
        self.drive = DriveAdmin(stack.component("drive-emulator")["url"])
        self.mongo = MongoClient(f"mongodb://127.0.0.1:{stack.config.mongo}")["fileserver"]

    def register(self, key: dict, name: str, **extra: Any) -> requests.Response:
        return requests.post(f"{self.gateway}/function/drive-accounts/", headers=self.admin,
                             json={"name": name, "key": key, **extra}, timeout=60)

    def account(self, account_id: str) -> dict:
        return requests.get(f"{self.gateway}/function/drive-accounts/{account_id}",
                            headers=self.admin, timeout=10).json()

    def remove_all(self) -> None:
        listed = requests.get(f"{self.gateway}/function/drive-accounts/?limit=500",
                              headers=self.admin, timeout=10).json()["items"]
        for account in listed:
            requests.delete(f"{self.gateway}/function/drive-accounts/{account['id']}",
                            headers=self.admin, timeout=10)

    def upload(self, data: bytes, name: str) -> requests.Response:
        return requests.post(f"{self.gateway}/function/upload-file/", headers=self.admin,
                             params={"name": name}, data=data, timeout=300)

    def file(self, file_id: str) -> dict:
        return requests.get(f"{self.gateway}/function/files/{file_id}", timeout=10).json()

    def wait_uploaded(self, file_id: str, timeout: float = 180) -> dict:
        wait_until(lambda: self.file(file_id)["status"] == "uploaded", timeout, interval=0.5)
        return self.file(file_id)

    def chunks(self) -> int:
        return len(list(self.mongo["blobs.chunks"].find({}, {"_id": 1})))

    def replicator_log(self) -> str:
        return (self.stack.dir / "logs" / "replicator.log").read_text(errors="replace")

    def metric(self, name: str, **labels: str) -> float:
        text = requests.get(f"http://127.0.0.1:{self.stack.config.replicator_metrics}/metrics",
                            timeout=10).text
        wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
        match = re.search(rf"^{name}\{{{wanted}\}} (\S+)$", text, re.M)
        return float(match.group(1)) if match else 0.0


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    # About.get after every job (no 5-minute cache), so that the test sees storage at once.
    with own_stack("kinds", extra_env={"STORAGE_REFRESH_SECONDS": "0"}) as stack:
        yield Api(stack)


def test_three_kinds_register_and_serve_a_30mb_file_and_the_cutoff_one_is_422(api: Api):
    user = api.drive.create_oauth_user()
    shared_sa = api.drive.create_account()  # after the cutoff: useful in a shared drive only
    drive = api.drive.create_shared_drive({shared_sa["client_email"]: "organizer"})
    delegated_sa = api.drive.create_account()
    api.drive.grant_delegation(delegated_sa)
    workspace_user = api.drive.create_oauth_user(workspace=True)["account"]

    refused = api.register(api.drive.create_account(), "cutoff")
    assert refused.status_code == 422, refused.text
    assert "Service Accounts do not have storage quota" in refused.json()["error"]["message"]

    created = {
        "authorized_user": api.register(user, "person"),
        "shared_drive": api.register(shared_sa, "shared", shared_drive_id=drive["id"]),
        "delegated": api.register(delegated_sa, "delegated", subject=workspace_user),
    }
    for kind, answer in created.items():
        assert answer.status_code == 201, (kind, answer.text)
        assert answer.json()["kind"] == kind
    assert created["authorized_user"].json()["email"] == user["account"]  # Google's answer
    assert created["delegated"].json()["email"] == workspace_user
    for answer in created.values():
        assert user["refresh_token"] not in answer.text and "private_key" not in answer.text

    data = os.urandom(30 * MB)
    stored = api.upload(data, "thirty.bin")
    assert stored.status_code == 202, stored.text
    done = api.wait_uploaded(stored.json()["id"])
    ids = {answer.json()["id"] for answer in created.values()}
    assert done["replicas"]["ready"] == 3 and {
        r["account_id"] for r in done["replicas"]["accounts"]} == ids
    served: dict[str, str] = {}
    for _ in range(12):
        if len(served) == 3:
            break
        url = requests.get(f"{api.gateway}/function/get-url", params={"id": done["id"]},
                           timeout=10).json()
        if url["account_id"] not in served:
            got = requests.get(url["url"], timeout=120).content
            served[url["account_id"]] = hashlib.sha256(got).hexdigest()
    assert served == dict.fromkeys(ids, hashlib.sha256(data).hexdigest())

    person = created["authorized_user"].json()["id"]
    api.drive.revoke_refresh_tokens(user["account"])
    small = api.upload(os.urandom(200_000), "after-revoke.bin").json()
    finished = api.wait_uploaded(small["id"])
    account = api.account(person)
    assert account["state"] == "disabled"
    assert "invalid_grant: Token has been expired or revoked." in account["state_reason"]
    assert person not in {r["account_id"] for r in finished["replicas"]["accounts"]}
    assert user["refresh_token"] not in api.replicator_log()
    api.remove_all()


def test_storage_is_planned_and_an_account_filled_behind_the_back_goes_full(api: Api):
    users = [api.drive.create_oauth_user(storage_limit_bytes=40 * MB) for _ in range(4)]
    ids = []
    for n, user in enumerate(users):
        answer = api.register(user, f"small-{n}")
        assert answer.status_code == 201, answer.text
        assert answer.json()["storage"]["limit_bytes"] == 40 * MB
        ids.append(answer.json()["id"])

    first = api.upload(os.urandom(25 * MB), "first.bin")
    assert first.status_code == 202, first.text
    before = api.chunks()
    second = api.upload(os.urandom(25 * MB), "second.bin")
    after = api.chunks()
    assert second.status_code == 507, second.text
    short = second.json()["error"]["details"]["accounts"]
    assert {item["account_id"] for item in short} == set(ids)
    assert all(item["short_by_bytes"] == 10 * MB for item in short)
    assert after <= before  # not one byte of the second file reached GridFS
    api.wait_uploaded(first.json()["id"])

    filled = users[2]["account"]
    api.drive.fill_storage(filled)  # behind fileserver's back: exactly full now
    third = api.upload(os.urandom(5 * MB), "third.bin")
    assert third.status_code == 202, third.text  # the cache still thinks it fits
    done = api.wait_uploaded(third.json()["id"], timeout=120)
    states = {r["account_id"]: r["state"] for r in done["replicas"]["accounts"]}
    assert states[ids[2]] == "full"
    assert [states[i] for i in ids if i != ids[2]] == ["ready"] * 3
    account = api.account(ids[2])
    assert account["state"] == "full" and "storage quota" in account["state_reason"]
    assert api.metric("fileserver_replication_account_conditions_total", state="full") >= 1
    log = api.replicator_log()
    assert f"job replicate {third.json()['id']}: uploaded" in log
    assert not re.search(rf"job replicate: .*{third.json()['id']}.*retry", log)
    stats = requests.get(f"{api.gateway}/function/account-stats/{ids[2]}", timeout=10)
    assert stats.status_code == 200 and stats.json()["state"] == "full"
    api.remove_all()
