"""On the live stack: an account whose key Google refuses (here: an emulator key whose private
key was swapped, so its JWT signature fails) is disabled by the replicator; uploads still end
``uploaded`` on the other accounts and get-url never hands the refused account out."""

from __future__ import annotations

import os

import requests

from devstack.process import wait_until
from tests.integration.uploader.conftest import make_key


def test_a_refused_key_disables_its_account_and_nothing_waits_on_it(live_stack, request):
    gateway, emulator = live_stack.gateway_url, live_stack.component("drive-emulator")["url"]
    admin = {"Authorization": f"Bearer {live_stack.admin_token}"}

    def add(key: dict, name: str, verify: bool = True) -> str:
        created = requests.post(f"{gateway}/function/drive-accounts/", headers=admin,
                                params={"verify": str(verify).lower()},
                                json={"name": name, "key": key}, timeout=30)
        assert created.status_code == 201, created.text
        account_id = created.json()["id"]
        request.addfinalizer(lambda: requests.delete(  # leave the session stack as it was
            f"{gateway}/function/drive-accounts/{account_id}", headers=admin, timeout=30))
        return account_id

    legacy = {"legacy": True}  # service accounts from before the 2025 cutoff own files
    good = add(requests.post(f"{emulator}/_emulator/accounts", json=legacy, timeout=10).json(),
               "ok")
    forged = requests.post(f"{emulator}/_emulator/accounts", json=legacy, timeout=10).json()
    forged["private_key"] = make_key(forged["client_email"])["private_key"]  # not its key
    refused = add(forged, "refused", verify=False)  # else refused at registration already

    stored = requests.post(f"{gateway}/function/upload-file/", headers=admin, timeout=60,
                           params={"name": "refused-key.bin"}, data=os.urandom(50_000)).json()
    file_url = f"{gateway}/function/files/{stored['id']}"
    wait_until(lambda: requests.get(file_url, timeout=10).json()["status"] == "uploaded", 90)
    account = requests.get(f"{gateway}/function/drive-accounts/{refused}", headers=admin,
                           timeout=10).json()
    assert account["state"] == "disabled"
    replicas = requests.get(file_url, timeout=10).json()["replicas"]
    listed = {r["account_id"]: r["state"] for r in replicas["accounts"]}
    assert listed[good] == "ready" and refused not in listed  # not "pending" forever
    assert replicas["ready"] == replicas["total"]
    handed = {requests.get(f"{gateway}/function/get-url", params={"id": stored["id"]},
                           timeout=10).json()["account_id"] for _ in range(6)}
    assert refused not in handed and good in handed
    log = (live_stack.dir / "logs" / "replicator.log").read_text()
    assert "Google refused its key; disabled" in log and forged["private_key"][40:80] not in log
