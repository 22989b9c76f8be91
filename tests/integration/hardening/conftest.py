"""The live stack seen as a client sees it, plus what the hardening suites check after each
bad request: what the Uploader stores (files, accounts, GridFS blobs) is unchanged and no
answer leaks a stack trace or key material."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from pymongo import MongoClient

from devstack.process import wait_until
from tests.conftest import own_stack

LEAK_MARKERS = ("Traceback", 'File "/', "PRIVATE KEY-----", "MIIE",
                "psycopg2", "pymongo", "sqlalchemy")


@dataclass(frozen=True)
class Snapshot:
    files: frozenset[str]
    accounts: frozenset[str]
    blobs: frozenset[str]
    chunk_owners: frozenset[str]

    def added_since(self, before: Snapshot) -> dict[str, set[str]]:
        """What appeared since ``before`` (other activity may remove things; never add)."""
        found = {"files": set(self.files - before.files),
                 "accounts": set(self.accounts - before.accounts),
                 "blobs": set(self.blobs - before.blobs),
                 "chunk_owners": set(self.chunk_owners - before.chunk_owners)}
        return {name: ids for name, ids in found.items() if ids}


class Api:
    """The gateway of a running stack, with the admin token and secrets at hand."""

    def __init__(self, stack) -> None:
        self.stack = stack
        self.gateway = stack.gateway_url
        self.admin = {"Authorization": f"Bearer {stack.admin_token}"}
        secrets_dir = Path(stack.env["SECRETS_DIR"])
        self.secrets = [p.read_text().strip() for p in secrets_dir.iterdir() if p.is_file()]
        self.mongo = MongoClient(stack.env["MONGO_URL"], serverSelectionTimeoutMS=10_000)
        self.db = self.mongo[stack.env.get("MONGO_DB", "fileserver")]
        self.keys: dict[str, dict] = {}  # account id -> the emulator's key, added here

    def url(self, path: str) -> str:
        return f"{self.gateway}{path}"

    def ids(self, path: str) -> frozenset[str]:
        found, offset = set(), 0
        while True:
            page = requests.get(self.url(path), headers=self.admin, timeout=30,
                                params={"limit": 500, "offset": offset}).json()
            found.update(item["id"] for item in page["items"])
            offset += 500
            if offset >= page["total"]:
                return frozenset(found)

    def snapshot(self) -> Snapshot:
        return Snapshot(files=self.ids("/function/files/"),
                        accounts=self.ids("/function/drive-accounts/"),
                        blobs=frozenset(str(d["_id"]) for d in self.db["blobs.files"].find()),
                        # GridFS writes the files document last: chunks show a partial upload
                        chunk_owners=frozenset(str(d["files_id"]) for d in
                                               self.db["blobs.chunks"].find({}, {"files_id": 1})))

    def add_account(self, name: str) -> str:
        """A Drive account issued by the emulator, registered with the Uploader; its id."""
        email = f"{name}-{uuid.uuid4().hex[:8]}@hardening.iam.gserviceaccount.com"
        emulator = self.stack.env["DRIVE_API_ROOT"].rstrip("/")
        key = requests.post(f"{emulator}/_emulator/accounts",  # legacy: owns files (pre-2025)
                            json={"email": email, "legacy": True}, timeout=30)
        key.raise_for_status()
        created = requests.post(self.url("/function/drive-accounts/"), headers=self.admin,
                                json={"name": name, "key": key.json()}, timeout=30)
        assert created.status_code == 201, created.text
        self.keys[created.json()["id"]] = key.json()
        return created.json()["id"]

    def upload(self, data: bytes, name: str) -> str:
        answer = requests.post(self.url("/function/upload-file/"), headers=self.admin,
                               params={"name": name}, data=data, timeout=120)
        assert answer.status_code == 202, answer.text
        return answer.json()["id"]

    def status(self, file_id: str) -> str:
        return requests.get(self.url(f"/function/files/{file_id}"), timeout=30).json()["status"]

    def wait_uploaded(self, file_ids: list[str], timeout: float = 90) -> None:
        wait_until(lambda: all(self.status(f) == "uploaded" for f in file_ids), timeout,
                   interval=0.2)

    def leaks(self, text: str) -> list[str]:
        markers = [m for m in LEAK_MARKERS if m in text]
        return markers + ["a secret" for s in self.secrets if s and s in text]


@contextmanager
def api_on_own_stack(name: str) -> Iterator[Api]:
    """An Api on a whole stack of its own (tests that start from empty reports or fuzz the
    internal calls); the stack is stopped and removed afterwards."""
    with own_stack(name) as stack:
        client = Api(stack)
        try:
            yield client
        finally:
            client.mongo.close()


@pytest.fixture(scope="package")
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    client = Api(request.getfixturevalue("live_stack"))
    yield client
    client.mongo.close()


def assert_json_error(api: Api, response: requests.Response, statuses: set[int]) -> None:
    """A clear JSON error with one of ``statuses``, a message, and nothing leaked."""
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert response.headers.get("Content-Type", "").startswith("application/json"), \
        response.text[:300]
    error = response.json()["error"]
    assert error["code"] and isinstance(error["message"], str) and error["message"]
    assert api.leaks(response.text) == []
