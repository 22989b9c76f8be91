"""The interfaces the replicator needs from the Uploader's store, Drive and the Downloader.

Real adapters are wired in ``bootstrap``; unit tests pass ``Fake...`` classes from tests/.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, Any, Protocol

from workers.replicator.model import Account, DriveFile, FileRecord


class AccountStore(Protocol):
    def get(self, account_id: str) -> Account | None: ...
    def list_all(self) -> list[Account]: ...
    def finish_removal(self, account_id: str) -> None:
        """Forget an account in state ``removing`` once its copies are gone."""
    def disable(self, account_id: str, reason: str = "") -> Account | None:
        """A serving account -> ``disabled`` with the reason; the account as it is now, or None
        if it did not serve."""
    def set_condition(self, account_id: str, state: str, reason: str,
                      paused_until: str | None = None) -> Account | None:
        """A serving account -> ``full`` or ``paused``; None if it does not serve."""
    def resume(self, account_id: str) -> Account | None:
        """``full``/``paused`` -> ``active``; None if it was neither."""
    def set_storage(self, account_id: str, limit: int | None, usage: int) -> None: ...
    def add_usage(self, account_id: str, size: int) -> None: ...


class FileStore(Protocol):
    def get(self, file_id: str) -> FileRecord | None: ...
    def iter_all(self) -> Iterator[FileRecord]: ...
    def set_replica(self, file_id: str, account_id: str, drive_file_id: str) -> None: ...
    def remove_replica(self, file_id: str, account_id: str) -> None: ...
    def mark_unplaced(self, file_id: str, account_id: str, state: str) -> None:
        """The account cannot hold the file now: ``full``, ``paused`` or ``failed``."""
    def mark_uploaded(self, file_id: str) -> bool:
        """Set status uploaded unless the file is being deleted; True if it was set."""
    def mark_failed(self, file_id: str, reason: str) -> None: ...
    def clear_blob(self, file_id: str) -> None: ...
    def purge(self, file_id: str) -> None:
        """Remove a deleted file's document once it is gone everywhere."""


class BlobStore(Protocol):
    def open_stream(self, blob_id: str) -> IO[bytes]: ...
    def delete(self, blob_id: str) -> None: ...


class Drive(Protocol):
    """One Drive account (fileserver.drive.DriveClient)."""

    def upload(self, stream: IO[bytes], size: int, name: str, mime_type: str,
               app_properties: dict[str, str]) -> Any: ...
    def copy(self, file_id: str, name: str, app_properties: dict[str, str]) -> Any: ...
    def share_with(self, file_id: str, email: str) -> None: ...
    def share_public(self, file_id: str) -> None: ...
    def find_by_fileserver_id(self, fileserver_id: str) -> list[Any]: ...
    def list_files(self) -> Iterable[Any]: ...
    def rename(self, file_id: str, name: str) -> Any: ...
    def delete(self, file_id: str) -> None: ...
    def download_url(self, file_id: str, size: int | None = None) -> str: ...
    def about(self) -> dict[str, Any]:
        """``{"email", "storage_limit", "storage_usage"}``."""


class DriveFactory(Protocol):
    def for_account(self, account: Account) -> Drive: ...


class Downloader(Protocol):
    """The Downloader's ``downloader-sync`` function (see downloader_client)."""

    def put_account(self, account: Account) -> None: ...
    def delete_account(self, account_id: str, version: int) -> None: ...
    def put_file(self, record: FileRecord) -> None: ...
    def delete_file(self, file_id: str, version: int) -> None: ...
    def put_replica(self, file_id: str, account_id: str, drive_file_id: str, url: str) -> None: ...
    def delete_replica(self, file_id: str, account_id: str) -> None: ...
    def replicas(self, file_id: str | None = None,
                 account_id: str | None = None) -> list[dict[str, Any]]: ...
    def replica_accounts(self) -> list[str]:
        """The account ids that have live rows in the registry."""


def drive_file(raw: Any) -> DriveFile:
    """A Drive file as a value: from ``fileserver.drive.DriveFile`` or an API resource dict
    (fields id,name,size,md5Checksum,appProperties)."""
    if not isinstance(raw, dict):
        props = getattr(raw, "app_properties", None) or {}
        return DriveFile(id=str(raw.id), name=str(raw.name), size=int(raw.size),
                         md5=str(raw.md5 or ""), fileserver_id=props.get("fileserver_id"))
    props = raw.get("appProperties") or {}
    return DriveFile(id=str(raw["id"]), name=str(raw.get("name", "")),
                     size=int(raw.get("size") or 0), md5=str(raw.get("md5Checksum") or ""),
                     fileserver_id=props.get("fileserver_id"))
