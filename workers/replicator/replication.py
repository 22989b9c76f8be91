"""Put one file on every active Drive account: upload once, then copy server-side, fanned out.

VPS egress is ~1x the file size: the bytes leave the VPS once (to the account with the most
room) and every other account gets a ``files.copy`` of that copy, which is public to anyone
with the link, so no per-user share is needed. The copies run concurrently, at most
``width`` at a time, and each account's outcome is recorded as it finishes:

- ``done``: the copy is verified, recorded and registered with the Downloader;
- ``full`` / ``paused``: Drive's storage quota or rate limit / daily cap for that account
  (``conditions``): the account stops receiving new files, the file does not wait for it;
- ``refused``: Google refused the account's key or refresh token: disabled with the reason
  (only when some other account took the file, so a wrong clock never disables them all);
- ``failed``: a copy Drive refused with no re-upload allowed (``max_reuploads``): the file's
  entry says ``failed`` and reconciliation tries again later;
- anything else (transient) leaves the entry ``pending`` and the job is retried.

A file is ``uploaded`` once every active account holds it; the entries of accounts that
cannot hold it now say why. Every step is idempotent: Drive copies are tagged
``appProperties.fileserver_id`` and looked up before creating, so a retried or concurrent job
adopts what is there instead of creating a second copy.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from fileserver.drive.files import FILESERVER_ID
from workers.replicator.conditions import AccountConditions
from workers.replicator.errors import (
    PermanentError,
    TransientError,
    is_key_rejected,
    is_not_found,
    is_storage_full,
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
APP_KEY = FILESERVER_ID  # the appProperties key tagging each copy (fileserver.drive.files)
Source = tuple[Account, str]
SETTLED = ("full", "paused", "refused")


@dataclass(frozen=True)
class ReplicationSettings:
    width: int = 8           # concurrent copies (all jobs of the process together)
    max_reuploads: int = 0   # accounts per file that may get a re-upload when Drive refuses a copy


class CopyRefused(TransientError):
    """Drive refused the copy and no re-upload is allowed: the account's entry is ``failed``
    (the file is uploaded without it; reconciliation tries the copy again later)."""


class Replicator:
    def __init__(self, files: FileStore, accounts: AccountStore, blobs: BlobStore,
                 drives: DriveFactory, downloader: Downloader, metrics: ReplicatorMetrics,
                 on_deleted: Callable[[str], Any] | None = None,
                 settings: ReplicationSettings | None = None,
                 conditions: AccountConditions | None = None) -> None:
        self.files = files
        self.accounts = accounts
        self.blobs = blobs
        self.drives = drives
        self.downloader = downloader
        self.metrics = metrics
        self.on_deleted = on_deleted
        self.settings = settings or ReplicationSettings()
        self.conditions = conditions or AccountConditions(accounts, files, downloader, drives,
                                                          metrics)
        self._pool = ThreadPoolExecutor(max(1, self.settings.width), "replica")
        self._reuploads: dict[str, int] = {}
        self._refusals: dict[tuple[str, str], str] = {}  # (file, account) -> Google's answer
        self._lock = threading.Lock()

    def replicate(self, file_id: str) -> str:
        """Bring ``file_id`` to every active account; answer ``uploaded``/``skipped``."""
        record = self._current(file_id)
        if record is None:
            return "skipped"
        accounts = self.accounts.list_all()
        targets = [account for account in accounts if account.active]
        if not targets:
            raise TransientError("no active Drive account to replicate to (none, or all "
                                 "full, paused or disabled)")
        self.downloader.put_file(record)
        outcomes: dict[str, str] = {}
        holders = [a for a in accounts if a.serving and a.id in record.replicas]
        source = self._ensure_source(record, holders + targets, outcomes)
        todo = [a for a in targets if a.id not in record.replicas and a.id not in outcomes]
        errors = self._fan_out(file_id, todo, source, outcomes)
        if self._current(file_id) is None:
            return self._deleted_meanwhile(file_id)
        self._disable(file_id, [a for a in targets if outcomes.get(a.id) == "refused"],
                      outcomes)
        touched = [a for a in targets if a.id in outcomes]  # measured in parallel, too
        list(self._pool.map(lambda account: self.conditions.refresh_storage([account]), touched))
        if errors:
            raise errors[0]
        return self._finish(file_id)

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
                       outcomes: dict[str, str]) -> Source:
        """The copy the others are made from: an existing replica (a full or paused account
        still serves its public copy), else an upload to the active account with the most
        room that accepts it (full, paused or refused accounts are recorded in ``outcomes``
        and the next one is tried)."""
        for account in targets:
            if account.id in record.replicas:
                return account, record.replicas[account.id].drive_file_id
        for account in sorted((a for a in targets if a.active), key=_room_first):
            try:
                drive = self.drives.for_account(account)
                drive_id = self._adopt_existing(record, drive)
                if drive_id is None:
                    drive_id = self._upload(record, drive)
            except Exception as exc:
                outcome = self._settle(account, record, exc)
                if outcome is None:
                    raise
                outcomes[account.id] = outcome
                continue
            self._register(record, account, drive, drive_id)
            outcomes[account.id] = "done"
            return account, drive_id
        if set(outcomes.values()) == {"refused"}:
            raise TransientError(f"Google refused the key of every active account "
                                 f"({len(outcomes)})")
        raise TransientError(f"no active account took {record.id}: "
                             + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))

    def _fan_out(self, file_id: str, todo: list[Account], source: Source,
                 outcomes: dict[str, str]) -> list[BaseException]:
        """Copy to ``todo`` at most ``width`` at a time; each outcome is recorded as its
        copy finishes (a slow or failing account holds no other back). Returns the errors
        that are no account condition (the job is retried for those)."""
        futures: dict[Future, Account] = {
            self._pool.submit(self._place, file_id, account, source): account
            for account in todo}
        errors: list[BaseException] = []
        for future, account in futures.items():
            try:
                outcomes[account.id] = future.result()
            except Exception as exc:  # noqa: BLE001 - collected, re-raised after the others
                outcomes[account.id] = "error"
                errors.append(exc)
            self.metrics.account_outcomes.labels(outcome=outcomes[account.id]).inc()
        return errors

    def _place(self, file_id: str, account: Account, source: Source) -> str:
        record = self._current(file_id)
        if record is None:
            return "skipped"
        try:
            self._ensure_replica(record, account, source)
        except CopyRefused:
            return "failed"  # its entry says so; reconciliation tries again later
        except Exception as exc:
            outcome = self._settle(account, record, exc)
            if outcome is None:
                raise
            return outcome
        return "done"

    def _settle(self, account: Account, record: FileRecord, exc: BaseException) -> str | None:
        """An account condition (full, paused) or a refused key; None for other errors."""
        if is_key_rejected(exc):
            with self._lock:
                self._refusals[(record.id, account.id)] = str(exc)[:300]
            return "refused"
        return self.conditions.settle(account, record, exc)

    def _disable(self, file_id: str, accounts: list[Account],
                 outcomes: dict[str, str]) -> None:
        """Take accounts whose key Google refused out of replication and of get-url, if the
        fault is theirs: some other account took the file (a wrong clock or a revoked
        project would refuse every key, and then nothing is disabled)."""
        with self._lock:
            reasons = {a.id: self._refusals.pop((file_id, a.id), "") for a in accounts}
        if not accounts or "done" not in outcomes.values():
            return
        for account in accounts:
            reason = f"Google refused the account's credentials: {reasons[account.id]}"
            disabled = self.accounts.disable(account.id, reason)
            if disabled is None:
                continue  # an admin changed it meanwhile
            self.downloader.put_account(disabled)
            self.metrics.accounts_disabled.inc()
            log.warning("account %s (%s): Google refused its key; disabled (%s). Fix the key "
                        "and set the account active again.", account.id, account.email,
                        reasons[account.id])

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
        """A copy of the public source; if Drive refuses it (link sharing blocked by a
        domain policy, say), a copy after sharing the source with the account; if that is
        refused too, a re-upload from the VPS, only within ``max_reuploads`` per file."""
        source_account, source_id = source
        try:
            raw = drive.copy(source_id, record.name, {APP_KEY: record.id})
        except Exception as exc:
            if _not_a_refusal(exc):
                raise
            log.info("copy of public %s into %s refused (%s); sharing it with %s",
                     source_id, account.id, type(exc).__name__, account.email)
            try:
                self.drives.for_account(source_account).share_with(source_id, account.email)
                raw = drive.copy(source_id, record.name, {APP_KEY: record.id})
            except Exception as shared_exc:
                if _not_a_refusal(shared_exc):
                    raise
                return self._reupload(record, account, drive, shared_exc)
        self.metrics.bytes.labels(mode="copy").inc(record.size)
        return self._verified(record, drive, raw)

    def _reupload(self, record: FileRecord, account: Account, drive: Drive,
                  exc: BaseException) -> str:
        with self._lock:
            used = self._reuploads.get(record.id, 0)
            allowed = record.blob_id is not None and used < self.settings.max_reuploads
            if allowed:
                self._reuploads[record.id] = used + 1
        if not allowed:
            self.metrics.reuploads.labels(outcome="refused").inc()
            self.files.mark_unplaced(record.id, account.id, "failed")
            log.warning("copy of %s into %s refused (%s) and no re-upload allowed "
                        "(REPLICATOR_MAX_REUPLOADS_PER_FILE=%d): entry failed",
                        record.id, account.id, exc, self.settings.max_reuploads)
            raise CopyRefused(f"Drive refused the copy of {record.id} into {account.id}")
        self.metrics.reuploads.labels(outcome="done").inc()
        log.warning("copy of %s into %s refused (%s): re-uploading %d bytes from the VPS "
                    "(%d of %d allowed for this file)", record.id, account.id,
                    type(exc).__name__, record.size, used + 1, self.settings.max_reuploads)
        return self._upload(record, drive)

    def _verified(self, record: FileRecord, drive: Drive, raw: Any) -> str:
        placed = drive_file(raw)
        if not matches(record, placed):
            delete_quietly(drive, placed.id)
            raise TransientError(f"copy {placed.id} of {record.id} failed size/md5 check")
        return placed.id

    def _register(self, record: FileRecord, account: Account, drive: Drive, drive_id: str) -> None:
        drive.share_public(drive_id)
        # Usage first: once the replica is ready it stops counting as pending for upload-file.
        self.conditions.placed(account, record.size)
        self.files.set_replica(record.id, account.id, drive_id)
        self.downloader.put_replica(record.id, account.id, drive_id,
                                    drive.download_url(drive_id, record.size))

    def _finish(self, file_id: str) -> str:
        """``uploaded`` once every active account holds the file; the pending entries of
        accounts that cannot take it now say why (full, paused) or go (disabled)."""
        record = self._current(file_id)
        if record is None:
            return "skipped"
        accounts = {account.id: account for account in self.accounts.list_all()}
        for account_id in self._entries_without_replica(record):
            account = accounts.get(account_id)
            if account is None or not account.serving:
                self.files.remove_replica(file_id, account_id)
            elif not account.active and record.unplaced.get(account_id) != account.state:
                self.files.mark_unplaced(file_id, account_id, account.state)
        missing = [a for a in accounts.values() if a.active and a.id not in record.replicas
                   and a.id not in record.unplaced]
        if missing:
            raise TransientError(f"file {file_id} still misses {len(missing)} replica(s)")
        if record.status != UPLOADED:
            if not self.files.mark_uploaded(file_id):
                return "skipped"
            self.metrics.replicas_per_file.observe(len(record.replicas))
        if record.blob_id:
            self.blobs.delete(record.blob_id)
            self.files.clear_blob(file_id)
        with self._lock:
            self._reuploads.pop(file_id, None)
        return "uploaded"

    @staticmethod
    def _entries_without_replica(record: FileRecord) -> list[str]:
        return [a for a in record.entries if a not in record.replicas]


def _room_first(account: Account) -> tuple[int, str]:
    """Most free space first (unknown counts as plenty), then by id."""
    free = account.storage_free
    return (-(free if free is not None else 1 << 62), account.id)


def _not_a_refusal(exc: BaseException) -> bool:
    """Errors a share or a re-upload cannot fix: transient ones, a refused key, a full
    account (handled by the caller as account conditions)."""
    return is_transient(exc) or is_key_rejected(exc) or is_storage_full(exc)


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
