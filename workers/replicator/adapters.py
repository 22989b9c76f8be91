"""Real adapters: the Uploader's repositories and ``fileserver.drive.DriveClient`` as ports.

Each is a ``@boundary`` class: its calls raise the replicator's error types only, translated
from MongoDB's, Drive's and the others' by ``workers/replicator/translate.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import IO, Any

from fileserver.drive.client import DriveClient
from fileserver.uploader.model import Account as UploaderAccount
from fileserver.uploader.model import StoredFile
from fileserver.uploader.repository import AccountRepository, BlobStore, FileRepository
from workers.replicator.model import Account, FileRecord, Replica
from workers.replicator.ports import Downloader
from workers.replicator.translate import boundary, translated

UNPLACED = ("full", "paused", "failed")


def to_account(account: UploaderAccount) -> Account:
    storage = account.storage
    return Account(account.id, account.email, account.state, account.version,
                   account.daily_limit_bytes, storage.free, account.paused_until, account.kind,
                   storage.limit, storage.usage, storage.checked_at)


def to_record(stored: StoredFile) -> FileRecord:
    """Only ``ready`` replicas with a Drive id count as held by an account; ``full``,
    ``paused`` and ``failed`` entries are the accounts that cannot hold it now."""
    replicas = {account_id: Replica(account_id, replica.drive_file_id)
                for account_id, replica in stored.replicas.items()
                if replica.state == "ready" and replica.drive_file_id}
    unplaced = {account_id: replica.state for account_id, replica in stored.replicas.items()
                if replica.state in UNPLACED}
    return FileRecord(stored.id, stored.name, stored.size, stored.md5, stored.content_type,
                      stored.status, stored.version, stored.blob_id, replicas,
                      sha256=stored.sha256, unplaced=unplaced, entries=tuple(stored.replicas))


@boundary
class MongoAccounts:
    def __init__(self, repository: AccountRepository) -> None:
        self.repository = repository

    def get(self, account_id: str) -> Account | None:
        found = self.repository.get(account_id)
        return to_account(found) if found else None

    def list_all(self) -> list[Account]:
        return sorted((to_account(a) for a in self.repository.list_all()), key=lambda a: a.id)

    def finish_removal(self, account_id: str) -> None:
        self.repository.finish_removal(account_id)

    def disable(self, account_id: str, reason: str = "") -> Account | None:
        found = self.repository.disable_if_active(account_id, reason)
        return to_account(found) if found else None

    def set_condition(self, account_id: str, state: str, reason: str,
                      paused_until: str | None = None) -> Account | None:
        found = self.repository.set_condition(account_id, state, reason, paused_until)
        return to_account(found) if found else None

    def resume(self, account_id: str) -> Account | None:
        found = self.repository.resume(account_id)
        return to_account(found) if found else None

    def set_storage(self, account_id: str, limit: int | None, usage: int) -> None:
        self.repository.set_storage(account_id, limit, usage)

    def add_usage(self, account_id: str, size: int) -> None:
        self.repository.add_usage(account_id, size)


@boundary
class MongoFiles:
    def __init__(self, repository: FileRepository) -> None:
        self.repository = repository

    def get(self, file_id: str) -> FileRecord | None:
        found = self.repository.get(file_id)
        return to_record(found) if found else None

    def iter_all(self) -> Iterator[FileRecord]:
        return (to_record(stored) for stored in self.repository.iter_all())

    def set_replica(self, file_id: str, account_id: str, drive_file_id: str) -> None:
        self.repository.set_replica(file_id, account_id, drive_file_id)

    def remove_replica(self, file_id: str, account_id: str) -> None:
        self.repository.remove_replica(file_id, account_id)

    def mark_unplaced(self, file_id: str, account_id: str, state: str) -> None:
        self.repository.set_replica(file_id, account_id, None, state)

    def mark_uploaded(self, file_id: str) -> bool:
        return self.repository.mark_uploaded(file_id)

    def mark_failed(self, file_id: str, reason: str) -> None:
        self.repository.mark_failed(file_id, reason)

    def clear_blob(self, file_id: str) -> None:
        self.repository.clear_blob(file_id)

    def purge(self, file_id: str) -> None:
        self.repository.purge(file_id)


@boundary
class GridFsBlobs:
    """The Uploader's GridFS blobs (a read error met during a Drive upload is translated by
    the ``DriveAccount`` that reads the stream)."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store

    def open_stream(self, blob_id: str) -> IO[bytes]:
        return self.store.open_stream(blob_id)

    def delete(self, blob_id: str) -> None:
        self.store.delete(blob_id)


@boundary
class DriveAccount:
    """One account's ``DriveClient`` as the ``Drive`` port."""

    def __init__(self, client: DriveClient) -> None:
        self.client = client

    def upload(self, stream: IO[bytes], size: int, name: str, mime_type: str,
               app_properties: dict[str, str]) -> Any:
        return self.client.upload(stream, size, name, mime_type, app_properties)

    def copy(self, file_id: str, name: str, app_properties: dict[str, str]) -> Any:
        return self.client.copy(file_id, name, app_properties)

    def share_with(self, file_id: str, email: str) -> None:
        self.client.share_with(file_id, email)

    def share_public(self, file_id: str) -> None:
        self.client.share_public(file_id)

    def find_by_fileserver_id(self, fileserver_id: str) -> list[Any]:
        return self.client.find_by_fileserver_id(fileserver_id)

    def list_files(self) -> Iterable[Any]:
        return self.client.list_files()

    def rename(self, file_id: str, name: str) -> Any:
        return self.client.rename(file_id, name)

    def delete(self, file_id: str) -> None:
        self.client.delete(file_id)

    def download_url(self, file_id: str, size: int | None = None) -> str:
        return self.client.download_url(file_id, size)

    def about(self) -> dict[str, Any]:
        return self.client.about()


@boundary
class DownloaderSync:
    """The ``downloader-sync`` HTTP client as the ``Downloader`` port."""

    def __init__(self, client: Downloader) -> None:
        self.client = client

    def put_account(self, account: Account) -> None:
        self.client.put_account(account)

    def delete_account(self, account_id: str, version: int) -> None:
        self.client.delete_account(account_id, version)

    def put_file(self, record: FileRecord) -> None:
        self.client.put_file(record)

    def delete_file(self, file_id: str, version: int) -> None:
        self.client.delete_file(file_id, version)

    def put_replica(self, file_id: str, account_id: str, drive_file_id: str, url: str) -> None:
        self.client.put_replica(file_id, account_id, drive_file_id, url)

    def delete_replica(self, file_id: str, account_id: str) -> None:
        self.client.delete_replica(file_id, account_id)

    def replicas(self, file_id: str | None = None,
                 account_id: str | None = None) -> list[dict[str, Any]]:
        return self.client.replicas(file_id, account_id)

    def replica_accounts(self) -> list[str]:
        return self.client.replica_accounts()


class DriveClients:
    """One DriveClient per (account, account version), shared by every thread: a client
    sends over the process's one HTTP pool with its account's one credential
    (``fileserver.drive.transport``), and a new version may carry a new key. Each key is
    read from the repository once per version, never logged; reading one and checking it
    (``DriveClient`` refreshes the token) are translated too."""

    def __init__(self, accounts: AccountRepository, api_root: str | None, **options: Any) -> None:
        self.accounts = accounts
        self.api_root = api_root
        self.options = options
        self._cache: dict[tuple[str, int], DriveAccount] = {}
        self._lock = threading.Lock()

    def for_account(self, account: Account) -> DriveAccount:
        key = (account.id, account.version)
        with self._lock:
            found = self._cache.get(key)
        if found is not None:
            return found
        with translated():  # outside the lock: a slow key read holds back no other account
            built = DriveAccount(DriveClient(self.accounts.get_key(account.id), self.api_root,
                                             **self.options))
        with self._lock:
            for old in [k for k in self._cache if k[0] == account.id and k != key]:
                del self._cache[old]  # an older version's key is not used again
            return self._cache.setdefault(key, built)
