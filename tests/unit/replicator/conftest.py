"""Fakes of the replicator's ports (Drive accounts, Uploader store, Downloader) and fixtures.

A fake port raises what the real adapter raises: the types of workers/replicator/errors.py.
"""

from __future__ import annotations

import hashlib
import io
import itertools
from dataclasses import dataclass, replace
from typing import IO, Any

import pytest

from workers.replicator.cleanup import Cleaner
from workers.replicator.errors import (
    KeyRejected,
    NotFoundError,
    RateLimited,
    StorageFull,
    TransientError,
)
from workers.replicator.handlers import JobHandlers
from workers.replicator.locks import KeyedLocks
from workers.replicator.metrics import ReplicatorMetrics
from workers.replicator.model import REPLICATING, Account, FileRecord, Replica
from workers.replicator.replication import Replicator

_ids = itertools.count(1)


class DriveRetryableError(TransientError):
    """What the Drive port raises for a transient failure (the real adapter translates
    fileserver.drive's ``DriveRetryableError`` to ``TransientError``)."""


class DriveNotFound(NotFoundError):
    pass


class DriveFatalError(KeyRejected):
    """The fake's only fatal error: a refused key."""


class DriveQuotaExceeded(StorageFull):
    """A full account (Drive's ``storageQuotaExceeded``)."""


class DriveRateLimited(RateLimited, DriveRetryableError):
    """A rate limit (or the daily upload cap) that outlived the client's retries."""


@dataclass
class FakeDriveFile:
    id: str
    owner: str
    name: str
    data: bytes
    app_properties: dict[str, str]
    readers: set[str]
    public: bool = False

    def resource(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "size": str(len(self.data)),
                "md5Checksum": hashlib.md5(self.data).hexdigest(),
                "appProperties": dict(self.app_properties)}


class FakeCloud:
    """Every Drive account's files, with counters of bytes uploaded vs copied."""

    Retryable = DriveRetryableError
    NotFound = DriveNotFound

    def __init__(self) -> None:
        self.files: dict[str, FakeDriveFile] = {}
        self.uploaded_bytes = 0
        self.copied_bytes = 0
        self.copy_error: Exception | None = None
        self.unreachable: set[str] = set()
        self.storage_limit: dict[str, int] = {}  # account id -> bytes it may hold
        self.rate_limited: set[str] = set()
        self.copy_calls: list[str] = []  # account ids, in the order their copies started
        self.list_calls: list[str] = []  # account ids listed for a tagged copy

    def of(self, owner: str) -> list[FakeDriveFile]:
        return [f for f in self.files.values() if f.owner == owner]


class FakeDrive:
    def __init__(self, cloud: FakeCloud, account: Account) -> None:
        self.cloud = cloud
        self.account = account

    def _check(self) -> None:
        if self.account.id in self.cloud.unreachable:
            raise DriveFatalError("invalid_grant")

    def _check_room(self, size: int) -> None:
        if self.account.id in self.cloud.rate_limited:
            raise DriveRateLimited("User rate limit exceeded.")
        limit = self.cloud.storage_limit.get(self.account.id)
        if limit is not None and self.used() + size > limit:
            raise DriveQuotaExceeded("The user's Drive storage quota has been exceeded.")

    def used(self) -> int:
        return sum(len(f.data) for f in self.cloud.of(self.account.id))

    def about(self) -> dict[str, Any]:
        self._check()
        return {"email": self.account.email, "storage_limit":
                self.cloud.storage_limit.get(self.account.id), "storage_usage": self.used()}

    def _get(self, file_id: str) -> FakeDriveFile:
        found = self.cloud.files.get(file_id)
        if found is None or found.owner != self.account.id:
            raise DriveNotFound(file_id)
        return found

    def _create(self, name: str, data: bytes, props: dict[str, str]) -> dict[str, Any]:
        item = FakeDriveFile(f"d{next(_ids)}", self.account.id, name, data, dict(props), set())
        self.cloud.files[item.id] = item
        return item.resource()

    def upload(self, stream: IO[bytes], size: int, name: str, mime_type: str,
               app_properties: dict[str, str]) -> dict[str, Any]:
        self._check()
        self._check_room(size)
        data = stream.read()
        self.cloud.uploaded_bytes += len(data)
        return self._create(name, data, app_properties)

    def copy(self, file_id: str, name: str, app_properties: dict[str, str]) -> dict[str, Any]:
        self._check()
        self.cloud.copy_calls.append(self.account.id)
        source = self.cloud.files.get(file_id)
        if self.cloud.copy_error is not None:
            raise self.cloud.copy_error
        if source is not None:
            self._check_room(len(source.data))
        if source is None or (
                self.account.email not in source.readers and not source.public):
            raise DriveNotFound(file_id)
        self.cloud.copied_bytes += len(source.data)
        return self._create(name, source.data, app_properties)

    def share_with(self, file_id: str, email: str) -> None:
        self._get(file_id).readers.add(email)

    def share_public(self, file_id: str) -> None:
        self._get(file_id).public = True

    def find_by_fileserver_id(self, fileserver_id: str) -> list[dict[str, Any]]:
        self._check()
        self.cloud.list_calls.append(self.account.id)
        return [f.resource() for f in self.cloud.of(self.account.id)
                if f.app_properties.get("fileserver_id") == fileserver_id]

    def list_files(self) -> list[dict[str, Any]]:
        self._check()
        return [f.resource() for f in self.cloud.of(self.account.id)]

    def rename(self, file_id: str, name: str) -> None:
        self._get(file_id).name = name

    def delete(self, file_id: str) -> None:
        self._check()
        self._get(file_id)
        del self.cloud.files[file_id]

    def download_url(self, file_id: str, size: int | None = None) -> str:
        return f"http://drive.test/uc?id={file_id}&export=download"


class FakeDriveFactory:
    def __init__(self, cloud: FakeCloud) -> None:
        self.cloud = cloud

    def for_account(self, account: Account) -> FakeDrive:
        return FakeDrive(self.cloud, account)


class FakeAccountStore:
    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.reasons: dict[str, str] = {}
        self.storage: dict[str, tuple[int | None, int]] = {}
        self.usage_added: dict[str, int] = {}

    def add(self, account_id: str, state: str = "active") -> Account:
        account = Account(account_id, f"{account_id}@sa.test", state, 1, 10**11)
        self.accounts[account_id] = account
        return account

    def set_state(self, account_id: str, state: str) -> None:
        old = self.accounts[account_id]
        self.accounts[account_id] = replace(old, state=state, version=old.version + 1)

    def get(self, account_id: str) -> Account | None:
        return self.accounts.get(account_id)

    def list_all(self) -> list[Account]:
        return sorted(self.accounts.values(), key=lambda a: a.id)

    def finish_removal(self, account_id: str) -> None:
        self.accounts.pop(account_id, None)

    def disable(self, account_id: str, reason: str = "") -> Account | None:
        if self.accounts.get(account_id) is None or not self.accounts[account_id].serving:
            return None
        self.set_state(account_id, "disabled")
        self.reasons[account_id] = reason
        return self.accounts[account_id]

    def set_condition(self, account_id: str, state: str, reason: str,
                      paused_until: str | None = None) -> Account | None:
        if self.accounts.get(account_id) is None or not self.accounts[account_id].serving:
            return None
        self.set_state(account_id, state)
        self.accounts[account_id] = replace(self.accounts[account_id], paused_until=paused_until)
        self.reasons[account_id] = reason
        return self.accounts[account_id]

    def resume(self, account_id: str) -> Account | None:
        if self.accounts[account_id].state not in ("full", "paused"):
            return None
        self.set_state(account_id, "active")
        return self.accounts[account_id]

    def set_storage(self, account_id: str, limit: int | None, usage: int) -> None:
        self.storage[account_id] = (limit, usage)
        free = None if limit is None else limit - usage
        self.accounts[account_id] = replace(self.accounts[account_id], storage_free=free)

    def add_usage(self, account_id: str, size: int) -> None:
        self.usage_added[account_id] = self.usage_added.get(account_id, 0) + size


class FakeBlobStore:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def open_stream(self, blob_id: str) -> IO[bytes]:
        return io.BytesIO(self.blobs[blob_id])

    def delete(self, blob_id: str) -> None:
        self.blobs.pop(blob_id, None)


class FakeFileStore:
    def __init__(self, blobs: FakeBlobStore) -> None:
        self.records: dict[str, FileRecord] = {}
        self.blobs = blobs
        self.failed: dict[str, str] = {}
        self.after_set_replica: Any = None

    def add(self, file_id: str, data: bytes, name: str = "f.bin",
            entries: tuple[str, ...] = ()) -> FileRecord:
        """A new upload; ``entries``: the accounts it starts ``pending`` on."""
        self.blobs.blobs[f"blob-{file_id}"] = data
        record = FileRecord(file_id, name, len(data), hashlib.md5(data).hexdigest(),
                            "application/octet-stream", REPLICATING, 1, f"blob-{file_id}",
                            entries=entries)
        self.records[file_id] = record
        return record

    def update(self, file_id: str, **changes: Any) -> None:
        old = self.records[file_id]
        self.records[file_id] = replace(old, version=old.version + 1, **changes)

    def get(self, file_id: str) -> FileRecord | None:
        return self.records.get(file_id)

    def iter_all(self):
        return iter(list(self.records.values()))

    def _entry(self, file_id: str, account_id: str, drive_file_id: str | None,
               state: str | None) -> None:
        """Set (state ready/full/paused/failed) or drop (state None) one account's entry."""
        record = self.records[file_id]
        replicas = {k: v for k, v in record.replicas.items() if k != account_id}
        unplaced = {k: v for k, v in record.unplaced.items() if k != account_id}
        entries = tuple(a for a in record.entries if a != account_id)
        if state == "ready":
            replicas[account_id] = Replica(account_id, drive_file_id)
        elif state is not None:
            unplaced[account_id] = state
        entries += (account_id,) if state is not None else ()
        self.records[file_id] = replace(record, replicas=replicas, unplaced=unplaced,
                                        entries=entries)

    def set_replica(self, file_id: str, account_id: str, drive_file_id: str) -> None:
        self._entry(file_id, account_id, drive_file_id, "ready")
        if self.after_set_replica:
            self.after_set_replica(file_id, account_id)

    def remove_replica(self, file_id: str, account_id: str) -> None:
        self._entry(file_id, account_id, None, None)

    def mark_unplaced(self, file_id: str, account_id: str, state: str) -> None:
        self._entry(file_id, account_id, None, state)

    def mark_uploaded(self, file_id: str) -> bool:
        if self.records[file_id].status == "deleting":
            return False
        self.records[file_id] = replace(self.records[file_id], status="uploaded")
        return True

    def mark_failed(self, file_id: str, reason: str) -> None:
        self.failed[file_id] = reason
        self.records[file_id] = replace(self.records[file_id], status="failed")

    def clear_blob(self, file_id: str) -> None:
        self.records[file_id] = replace(self.records[file_id], blob_id=None)

    def purge(self, file_id: str) -> None:
        self.records.pop(file_id, None)


class FakeDownloader:
    """The Downloader's registry as downloader-sync would hold it."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.deleted_accounts: set[str] = set()
        self.files: dict[str, FileRecord] = {}
        self.registry: dict[tuple[str, str], str] = {}
        self.down = False
        self.calls: list[str] = []

    def _up(self, call: str) -> None:
        if self.down:
            raise TransientError("downloader-sync unreachable")
        self.calls.append(call)

    def put_account(self, account: Account) -> None:
        self._up("put_account")
        self.accounts[account.id] = account

    def delete_account(self, account_id: str, version: int) -> None:
        self._up("delete_account")
        self.accounts.pop(account_id, None)
        self.deleted_accounts.add(account_id)

    def put_file(self, record: FileRecord) -> None:
        self._up("put_file")
        self.files[record.id] = record

    def delete_file(self, file_id: str, version: int) -> None:
        self._up("delete_file")
        self.files.pop(file_id, None)

    def put_replica(self, file_id: str, account_id: str, drive_file_id: str, url: str) -> None:
        self._up("put_replica")
        self.registry[(file_id, account_id)] = drive_file_id

    def delete_replica(self, file_id: str, account_id: str) -> None:
        self._up("delete_replica")
        self.registry.pop((file_id, account_id), None)

    def replicas(self, file_id: str | None = None, account_id: str | None = None):
        self._up("replicas")
        return [{"file_id": f, "account_id": a, "drive_file_id": d}
                for (f, a), d in sorted(self.registry.items())
                if file_id in (None, f) and account_id in (None, a)]

    def replica_accounts(self) -> list[str]:
        self._up("replica_accounts")
        return sorted({a for _, a in self.registry})


@dataclass
class World:
    cloud: FakeCloud
    accounts: FakeAccountStore
    blobs: FakeBlobStore
    files: FakeFileStore
    downloader: FakeDownloader
    metrics: ReplicatorMetrics
    replicator: Replicator
    cleaner: Cleaner
    handlers: JobHandlers

    def copies(self, account_id: str, file_id: str) -> list[FakeDriveFile]:
        return [f for f in self.cloud.of(account_id)
                if f.app_properties.get("fileserver_id") == file_id]


@pytest.fixture
def world() -> World:
    cloud, accounts, blobs = FakeCloud(), FakeAccountStore(), FakeBlobStore()
    files, downloader, metrics = FakeFileStore(blobs), FakeDownloader(), ReplicatorMetrics()
    drives = FakeDriveFactory(cloud)
    cleaner = Cleaner(files, accounts, blobs, drives, downloader)
    replicator = Replicator(files, accounts, blobs, drives, downloader, metrics,
                            on_deleted=cleaner.delete_file)
    handlers = JobHandlers(files, accounts, drives, downloader, replicator, cleaner,
                           KeyedLocks())
    for n in range(1, 5):
        accounts.add(f"acc{n}")
    return World(cloud, accounts, blobs, files, downloader, metrics, replicator, cleaner,
                 handlers)
