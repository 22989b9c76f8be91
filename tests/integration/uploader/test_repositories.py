"""The repositories the replicator uses, against the real Mongo wire server."""

from __future__ import annotations

import hashlib
import os
import uuid

import pytest
from bson import ObjectId
from cryptography.fernet import Fernet
from gridfs import GridFSBucket
from pymongo import MongoClient

from fileserver.errors import Conflict, NotFound, PayloadTooLarge
from fileserver.uploader.crypto import KeyCipher
from fileserver.uploader.repository import (
    BLOB_CHUNK_BYTES,
    AccountRepository,
    BlobStore,
    FileRepository,
)
from fileserver.uploader.service import UploadService
from tests.integration.uploader.conftest import make_key


class FakePublisher:
    def __init__(self) -> None:
        self.jobs: list[tuple[str, str, int]] = []

    def publish(self, kind: str, target_id: str, version: int) -> int:
        self.jobs.append((kind, target_id, version))
        return len(self.jobs)


@pytest.fixture
def db(mongo_server):
    client = MongoClient(mongo_server.url)
    yield client["repo_" + uuid.uuid4().hex[:8]]
    client.close()


@pytest.fixture
def repos(db):
    accounts = AccountRepository(db, KeyCipher(Fernet.generate_key()))
    files = FileRepository(db)
    accounts.ensure_indexes()
    files.ensure_indexes()
    return accounts, files, BlobStore(db)


def _upload(repos, data: bytes, publisher=None):
    accounts, files, blobs = repos
    service = UploadService(accounts, files, blobs, publisher or FakePublisher(), 1 << 30)
    blocks = (data[i:i + 300_000] for i in range(0, len(data), 300_000))
    return service.upload("f.bin", "application/octet-stream", blocks)


def test_blob_streams_back_chunk_range_by_range(repos):
    data = os.urandom(BLOB_CHUNK_BYTES * 11 + 777)  # more chunks than one range query
    stored = _upload(repos, data)
    with repos[2].open_stream(stored.blob_id) as stream:
        first = stream.read(1000)
        rest = stream.read()
    assert first + rest == data
    assert hashlib.md5(data).hexdigest() == stored.md5
    # the layout is standard GridFS: pymongo's own bucket reads it too
    bucket = GridFSBucket(repos[2].files.database, bucket_name="blobs")
    assert bucket.open_download_stream(ObjectId(stored.blob_id)).read(5000) == data[:5000]
    repos[2].delete(stored.blob_id)
    assert not repos[2].exists(stored.blob_id)
    assert list(repos[2].chunks.find({"files_id": ObjectId(stored.blob_id)})) == []
    with pytest.raises(NotFound):
        repos[2].open_stream(stored.blob_id)


def test_too_large_upload_removes_its_chunks(repos):
    accounts, files, blobs = repos
    service = UploadService(accounts, files, blobs, FakePublisher(), BLOB_CHUNK_BYTES * 2)
    with pytest.raises(PayloadTooLarge):
        service.upload("x", "a/b", iter([b"\0" * BLOB_CHUNK_BYTES] * 3))
    assert list(blobs.chunks.find({})) == [] and list(files.col.find({})) == []


def test_replica_lifecycle_for_the_replicator(repos):
    accounts, files, blobs = repos
    first = accounts.create(uuid.uuid4().hex, "a", make_key("a@x.io"), 10)
    second = accounts.create(uuid.uuid4().hex, "b", make_key("b@x.io"), 10)
    publisher = FakePublisher()
    stored = _upload(repos, b"abc", publisher)
    assert publisher.jobs == [("replicate", stored.id, 1)]
    assert {r.state for r in stored.replicas.values()} == {"pending"}
    assert set(stored.replicas) == {first.id, second.id}

    updated = files.set_replica(stored.id, first.id, "drive-1")
    assert updated.replicas[first.id].state == "ready" and updated.version == 2
    assert updated.to_json()["replicas"]["ready"] == 1
    assert files.mark_uploaded(stored.id) and files.get(stored.id).status == "uploaded"
    files.clear_blob(stored.id)
    assert files.get(stored.id).blob_id is None
    files.remove_replica(stored.id, second.id)
    assert second.id not in files.get(stored.id).replicas

    files.purge(stored.id)  # not deleting: kept
    assert files.get(stored.id) is not None
    files.mark_deleting(stored.id)
    assert not files.mark_uploaded(stored.id)
    files.purge(stored.id)
    assert files.get(stored.id) is None


def test_accounts_keys_versions_and_removal(repos):
    accounts = repos[0]
    key = make_key("k@x.io")
    account = accounts.create(uuid.uuid4().hex, "k", key, 10)
    assert accounts.get_key(account.id) == key
    with pytest.raises(Conflict):
        accounts.create(uuid.uuid4().hex, "dup", key, 10)
    assert accounts.update(account.id, {"daily_limit_bytes": 20}).version == 2
    removing = accounts.mark_removing(account.id)
    assert removing.state == "removing" and removing.version == 3
    assert accounts.mark_removing(account.id).version == 3  # idempotent
    with pytest.raises(Conflict):
        accounts.update(account.id, {"name": "x"})
    accounts.finish_removal(account.id)
    assert accounts.get(account.id) is None
    with pytest.raises(NotFound):
        accounts.get_key(account.id)
