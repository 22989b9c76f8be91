"""GET /replicas streams the registry: same rows as the list query, in batches."""

from __future__ import annotations

import json

import pytest

from fileserver.downloader.db import Database
from fileserver.downloader.repository import RegistryRepository
from fileserver.downloader.sync import SyncService
from fileserver.errors import BadRequest


def bulk_replicas(db: Database, files: int, accounts: int) -> None:
    with db.sqlalchemy_transaction() as conn:
        conn.exec_driver_sql(
            "INSERT INTO replicas (file_id, account_id, drive_file_id, url, version) "
            f"SELECT 'f' || lpad(f::text, 4, '0'), 'a' || lpad(a::text, 3, '0'), 'd' || f || "
            f"'-' || a, 'http://x/uc?id=d' || f || '-' || a, 1 FROM generate_series(1, {files}) "
            f"f, generate_series(1, {accounts}) a")


def test_the_stream_holds_every_row_once_in_order_across_batches(db: Database) -> None:
    bulk_replicas(db, files=120, accounts=100)  # 12,000 rows: three server-side batches
    registry, sync = RegistryRepository(db), SyncService(RegistryRepository(db))
    streamed = json.loads("".join(sync.replicas(None, None)))["items"]
    assert len(streamed) == 12_000
    assert streamed == registry.replicas(None, None)
    one = json.loads("".join(sync.replicas(None, "a007")))["items"]
    assert [r["file_id"] for r in one] == [f"f{i:04d}" for i in range(1, 121)]
    assert json.loads("".join(sync.replicas("nope", None))) == {"items": []}
    with pytest.raises(BadRequest):
        sync.replicas("bad id!", None)


def test_replica_accounts_are_those_with_live_rows(db: Database) -> None:
    bulk_replicas(db, files=3, accounts=4)
    registry, sync = RegistryRepository(db), SyncService(RegistryRepository(db))
    for file_id in ("f0001", "f0002", "f0003"):  # every row of a004 gone: tombstones only
        assert registry.delete_replica(file_id, "a004", 2)
    assert sync.replica_accounts() == {"items": ["a001", "a002", "a003"]}
    assert [r["file_id"] for r in registry.replicas(None, "a004")] == []
