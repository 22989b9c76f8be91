"""Copy to reset: replace a replica the Downloader's prober found missing (404) or behind
Google's per-file quota page with a fresh server-side copy on the same account.

A ``repair-replica`` job (docs/CONTRACTS.md, "Replication jobs") names the file, the account
and the bad copy's Drive id. Under the file's lock, and only while that copy is still the
account's replica in the Uploader's store: copy from the bad copy itself when it still
exists (a blocked file: Google's "make a copy" workaround), else from another holder
(shared with the account first, as replication does); verify size and md5; share it
publicly; record it in the Uploader's store and the Downloader (a new Drive id and link);
then delete the old copy. A retried job adopts a verified copy already made (the
``fileserver_id`` tag) instead of copying again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter

from fileserver.contracts.jobs import REPAIR_REASONS
from workers.replicator.errors import PermanentError, TransientError, is_not_found, is_transient
from workers.replicator.metrics import ReplicatorMetrics
from workers.replicator.model import Account, FileRecord
from workers.replicator.ports import (
    AccountStore,
    Downloader,
    Drive,
    DriveFactory,
    FileStore,
    drive_file,
)
from workers.replicator.replication import APP_KEY, delete_quietly, matches

log = logging.getLogger("replicator.repair")


@dataclass(frozen=True)
class RepairJob:
    file_id: str
    account_id: str
    drive_file_id: str
    reason: str


def parse_repair(body: dict[str, Any]) -> RepairJob:
    """Validate a ``repair-replica`` body; a malformed one is permanent."""
    values = [body.get(key) for key in ("file_id", "account_id", "drive_file_id")]
    if not all(isinstance(v, str) and v and len(v) <= 200 for v in values):
        raise PermanentError("job repair-replica needs file_id, account_id and drive_file_id")
    reason = body.get("reason")
    if reason not in REPAIR_REASONS:
        raise PermanentError(f"job repair-replica: unknown reason {reason!r}")
    return RepairJob(*values, reason)  # type: ignore[arg-type]


class Repairer:
    def __init__(self, files: FileStore, accounts: AccountStore, drives: DriveFactory,
                 downloader: Downloader, metrics: ReplicatorMetrics) -> None:
        self.files = files
        self.accounts = accounts
        self.drives = drives
        self.downloader = downloader
        self.repairs = Counter("fileserver_replica_repairs_total",
                               "Replicas replaced by a fresh copy (copy to reset), by reason "
                               "and outcome", ["reason", "outcome"], registry=metrics.registry)

    def repair(self, job: RepairJob) -> str:
        """``repaired``, or ``skipped`` when there is nothing to do any more (the file is
        gone, the account does not serve, or the copy was already replaced)."""
        record = self.files.get(job.file_id)
        account = self.accounts.get(job.account_id)
        replica = record.replicas.get(job.account_id) if record is not None else None
        if record is None or not record.wanted or account is None or not account.active \
                or replica is None or replica.drive_file_id != job.drive_file_id:
            self.repairs.labels(job.reason, "skipped").inc()
            return "skipped"
        drive = self.drives.for_account(account)
        new_id = self._adopt(record, drive, job.drive_file_id) \
            or self._copy(record, account, drive, job)
        drive.share_public(new_id)
        self.files.set_replica(record.id, account.id, new_id)
        self.downloader.put_replica(record.id, account.id, new_id,
                                    drive.download_url(new_id, record.size))
        delete_quietly(drive, job.drive_file_id)
        self.repairs.labels(job.reason, "repaired").inc()
        log.warning("replica of file %s on account %s: copy %s (%s) replaced by fresh copy %s",
                    record.id, account.id, job.drive_file_id, job.reason, new_id)
        return "repaired"

    @staticmethod
    def _adopt(record: FileRecord, drive: Drive, old_id: str) -> str | None:
        """A verified tagged copy other than the old one (made by an earlier attempt)."""
        for raw in drive.find_by_fileserver_id(record.id):
            item = drive_file(raw)
            if item.id != old_id and matches(record, item):
                return item.id
        return None

    def _copy(self, record: FileRecord, account: Account, drive: Drive, job: RepairJob) -> str:
        """A fresh copy from the old copy itself, else from another holder."""
        if job.reason != "not_found":
            try:
                return self._verified(record, drive, drive.copy(job.drive_file_id, record.name,
                                                                {APP_KEY: record.id}))
            except Exception as exc:
                if is_transient(exc) or not is_not_found(exc):
                    raise
        for source_account, source_id in self._other_holders(record, account):
            try:
                self.drives.for_account(source_account).share_with(source_id, account.email)
                raw = drive.copy(source_id, record.name, {APP_KEY: record.id})
            except Exception as exc:
                if is_transient(exc):
                    raise
                log.warning("repair of %s on %s: source %s refused (%s)", record.id,
                            account.id, source_id, type(exc).__name__)
                continue
            return self._verified(record, drive, raw)
        raise TransientError(f"no holder of {record.id} could be copied to {account.id}")

    def _other_holders(self, record: FileRecord, account: Account) -> list[tuple[Account, str]]:
        holders = []
        for account_id, replica in sorted(record.replicas.items()):
            other = self.accounts.get(account_id) if account_id != account.id else None
            if other is not None and other.active and replica.drive_file_id:
                holders.append((other, replica.drive_file_id))
        return holders

    @staticmethod
    def _verified(record: FileRecord, drive: Drive, raw: Any) -> str:
        placed = drive_file(raw)
        if not matches(record, placed):
            delete_quietly(drive, placed.id)
            raise TransientError(f"copy {placed.id} of {record.id} failed size/md5 check")
        return placed.id
