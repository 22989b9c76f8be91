"""Put one file on every active Drive account: upload once, then copy server-side.

VPS egress is ~1x the file size: the bytes leave the VPS once (to the first account) and
every other account gets a ``files.copy`` of a copy it was shared. Every step is idempotent:
Drive copies are tagged ``appProperties.fileserver_id`` and looked up before creating, so a
retried or concurrent job adopts what is there instead of creating a second copy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from workers.replicator.errors import (
    PermanentError,
    TransientError,
    is_key_rejected,
    is_not_found,
    is_transient,
)
from workers.replicator.metrics import ReplicatorMetrics
from workers.replicator.model import UPLOADED, Account, DriveFile, FileRecord
from workers.replicator.ports import (
    AccountStore,
    BlobStore,
    Downloader,
    Drive,
    DriveFactory,
    FileStore,
    drive_file,
)

log = logging.getLogger("replicator.replication")
APP_KEY = "fileserver_id"
Source = tuple[Account, str]


class Replicator:
    def __init__(self, files: FileStore, accounts: AccountStore, blobs: BlobStore,
                 drives: DriveFactory, downloader: Downloader, metrics: ReplicatorMetrics,
                 on_deleted: Callable[[str], Any] | None = None) -> None:
        self.files = files
        self.accounts = accounts
        self.blobs = blobs
        self.drives = drives
        self.downloader = downloader
        self.metrics = metrics
        self.on_deleted = on_deleted

    def replicate(self, file_id: str) -> str:
        """Bring ``file_id`` to every active account; answer ``uploaded``/``skipped``."""
        record = self._current(file_id)
        if record is None:
            return "skipped"
        targets = [account for account in self.accounts.list_all() if account.active]
        if not targets:
            raise TransientError("no active Drive account to replicate to")
        self.downloader.put_file(record)
        rejected: list[Account] = []
        source = self._ensure_source(record, targets, rejected)
        for account in targets:
            record = self._current(file_id)
            if record is None:
                return self._deleted_meanwhile(file_id)
            if account.id not in record.replicas and account not in rejected:
                try:
                    self._ensure_replica(record, account, source)
                except Exception as exc:
                    if not is_key_rejected(exc):
                        raise
                    rejected.append(account)
        # Some account took the file, so the fault is the refused keys', not ours (a wrong
        # clock or a revoked project would refuse every key: then nothing is disabled).
        self._disable(rejected)
        for account in rejected:  # its pending entry: nothing is coming until it is active
            self.files.remove_replica(file_id, account.id)
        if self._current(file_id) is None:
            return self._deleted_meanwhile(file_id)
        return self._finish(file_id, [a for a in targets if a not in rejected])

    def _current(self, file_id: str) -> FileRecord | None:
        record = self.files.get(file_id)
        return record if record is not None and record.wanted else None

    def _deleted_meanwhile(self, file_id: str) -> str:
        """The file was deleted mid-way: remove what this job may have placed."""
        log.info("file %s was deleted during replication; cleaning up", file_id)
        if self.on_deleted is not None:
            self.on_deleted(file_id)
        return "skipped"

    def _ensure_source(self, record: FileRecord, targets: list[Account],
                       rejected: list[Account]) -> Source:
        """The copy the others are made from: an existing replica, else an upload to the
        first account that accepts it (accounts whose key Google refuses go to ``rejected``)."""
        for account in targets:
            if account.id in record.replicas:
                return account, record.replicas[account.id].drive_file_id
        for account in targets:
            try:
                drive = self.drives.for_account(account)
                drive_id = self._adopt_existing(record, drive)
                if drive_id is None:
                    drive_id = self._upload(record, drive)
            except Exception as exc:
                if not is_key_rejected(exc):
                    raise
                rejected.append(account)
                continue
            self._register(record, account, drive, drive_id)
            return account, drive_id
        raise TransientError(f"Google refused the key of every active account ({len(targets)})")

    def _disable(self, accounts: list[Account]) -> None:
        """Take accounts whose key Google refused out of replication and of get-url."""
        for account in accounts:
            disabled = self.accounts.disable(account.id)
            if disabled is None:
                continue  # an admin changed it meanwhile
            self.downloader.put_account(disabled)
            self.metrics.accounts_disabled.inc()
            log.warning("account %s (%s): Google refused its key; disabled. Fix the key and "
                        "set the account active again.", account.id, account.email)

    def _ensure_replica(self, record: FileRecord, account: Account, source: Source) -> None:
        drive = self.drives.for_account(account)
        drive_id = self._adopt_existing(record, drive)
        if drive_id is None:
            drive_id = self._copy_or_upload(record, account, drive, source)
        self._register(record, account, drive, drive_id)

    def _adopt_existing(self, record: FileRecord, drive: Drive) -> str | None:
        """Keep one verified copy already on this account; delete extra or broken ones."""
        found = [drive_file(raw) for raw in drive.find_by_fileserver_id(record.id)]
        good = [item for item in found if matches(record, item)]
        keep = good[0].id if good else None
        for item in found:
            if item.id != keep:
                log.warning("deleting duplicate or broken copy %s of %s", item.id, record.id)
                delete_quietly(drive, item.id)
        return keep

    def _upload(self, record: FileRecord, drive: Drive) -> str:
        if not record.blob_id:
            self.files.mark_failed(record.id, "no replica left and the upload blob is gone")
            raise PermanentError(f"file {record.id} has neither bytes nor a replica")
        with self.blobs.open_stream(record.blob_id) as stream:
            raw = drive.upload(stream, record.size, record.name, record.content_type,
                               {APP_KEY: record.id})
        self.metrics.bytes.labels(mode="upload").inc(record.size)
        return self._verified(record, drive, raw)

    def _copy_or_upload(self, record: FileRecord, account: Account, drive: Drive,
                        source: Source) -> str:
        source_account, source_id = source
        try:
            self.drives.for_account(source_account).share_with(source_id, account.email)
            raw = drive.copy(source_id, record.name, {APP_KEY: record.id})
        except Exception as exc:
            if is_transient(exc) or not record.blob_id:
                raise
            log.warning("copy of %s into %s failed (%s); uploading instead",
                        record.id, account.id, type(exc).__name__)
            return self._upload(record, drive)
        self.metrics.bytes.labels(mode="copy").inc(record.size)
        return self._verified(record, drive, raw)

    def _verified(self, record: FileRecord, drive: Drive, raw: Any) -> str:
        placed = drive_file(raw)
        if not matches(record, placed):
            delete_quietly(drive, placed.id)
            raise TransientError(f"copy {placed.id} of {record.id} failed size/md5 check")
        return placed.id

    def _register(self, record: FileRecord, account: Account, drive: Drive, drive_id: str) -> None:
        drive.share_public(drive_id)
        self.files.set_replica(record.id, account.id, drive_id)
        self.downloader.put_replica(record.id, account.id, drive_id,
                                    drive.download_url(drive_id, record.size))

    def _finish(self, file_id: str, targets: list[Account]) -> str:
        record = self._current(file_id)
        if record is None:
            return "skipped"
        if any(account.id not in record.replicas for account in targets):
            raise TransientError(f"file {file_id} still misses replicas")
        if record.status != UPLOADED:
            if not self.files.mark_uploaded(file_id):
                return "skipped"
            self.metrics.replicas_per_file.observe(len(record.replicas))
        if record.blob_id:
            self.blobs.delete(record.blob_id)
            self.files.clear_blob(file_id)
        return "uploaded"


def matches(record: FileRecord, item: DriveFile) -> bool:
    """A Drive copy is good when its size and md5 are those of the uploaded bytes."""
    return item.size == record.size and item.md5.lower() == record.md5.lower()


def delete_quietly(drive: Drive, drive_file_id: str) -> None:
    """Delete a Drive file; a copy that is already gone is fine."""
    try:
        drive.delete(drive_file_id)
    except Exception as exc:
        if not is_not_found(exc):
            raise
