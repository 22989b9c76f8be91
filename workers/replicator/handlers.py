"""One handler per job kind. Jobs carry ids only; handlers read the current desired state."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fileserver.contracts.jobs import ACCOUNT_KINDS, FILE_KINDS, REPAIR_KIND
from fileserver.contracts.timestamps import parse_utc
from workers.replicator.cleanup import REMOVING, Cleaner
from workers.replicator.errors import PermanentError, TransientError
from workers.replicator.locks import KeyedLocks
from workers.replicator.ports import AccountStore, Downloader, DriveFactory, FileStore
from workers.replicator.repair import Repairer, parse_repair
from workers.replicator.replication import Replicator

log = logging.getLogger("replicator.handlers")


@dataclass(frozen=True)
class Job:
    kind: str
    target_id: str
    requested_at: datetime | None
    body: dict[str, Any] = field(default_factory=dict, compare=False)  # repair-replica's


def parse_job(body: dict[str, Any] | bytes) -> Job:
    """Validate a job body (a message's JSON bytes, or decoded); a malformed job is permanent
    (it will never become valid)."""
    if isinstance(body, bytes):
        body = _decode(body)
    kind = body.get("kind")
    if kind == REPAIR_KIND:  # workers/replicator/repair.py
        return Job(kind, parse_repair(body).file_id, _parse_time(body.get("requested_at")),
                   body)
    if kind not in FILE_KINDS + ACCOUNT_KINDS:
        raise PermanentError(f"unknown job kind {kind!r}")
    key = "file_id" if kind in FILE_KINDS else "account_id"
    target = body.get(key)
    if not isinstance(target, str) or not target or len(target) > 200:
        raise PermanentError(f"job {kind} needs a {key} string")
    return Job(kind, target, _parse_time(body.get("requested_at")))


def _decode(data: bytes) -> dict[str, Any]:
    try:
        body = json.loads(data)
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        raise PermanentError(f"a job that is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise PermanentError("a job must be a JSON object")
    return body


def _parse_time(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        return parse_utc(raw)
    except ValueError:
        return None


class JobHandlers:
    def __init__(self, files: FileStore, accounts: AccountStore, drives: DriveFactory,
                 downloader: Downloader, replicator: Replicator, cleaner: Cleaner,
                 locks: KeyedLocks, repairer: Repairer | None = None) -> None:
        self.files = files
        self.accounts = accounts
        self.drives = drives
        self.downloader = downloader
        self.replicator = replicator
        self.cleaner = cleaner
        self.locks = locks
        self.repairer = repairer
        self._table: dict[str, Callable[[str], str]] = {
            "replicate": self.replicate, "delete-file": self.delete_file,
            "rename-file": self.rename_file, "account-added": self.account_added,
            "account-removed": self.account_removed, "account-updated": self.account_updated,
        }

    def handle(self, job: Job) -> str:
        if job.kind == REPAIR_KIND:
            return self.repair(job)
        return self._table[job.kind](job.target_id)

    def repair(self, job: Job) -> str:
        """A fresh copy for a missing or quota-blocked replica (workers/replicator/repair.py)."""
        if self.repairer is None:
            raise PermanentError("this replicator does not repair replicas")
        with self.locks.hold(job.target_id):
            return self.repairer.repair(parse_repair(job.body))

    def replicate(self, file_id: str) -> str:
        with self.locks.hold(file_id):
            return self.replicator.replicate(file_id)

    def delete_file(self, file_id: str) -> str:
        with self.locks.hold(file_id):
            return self.cleaner.delete_file(file_id)

    def rename_file(self, file_id: str) -> str:
        with self.locks.hold(file_id):
            record = self.files.get(file_id)
            if record is None or not record.wanted:
                return "skipped"
            self.downloader.put_file(record)
            for account_id, replica in record.replicas.items():
                account = self.accounts.get(account_id)
                if account is not None:
                    self.drives.for_account(account).rename(replica.drive_file_id, record.name)
            return "renamed"

    def account_added(self, account_id: str) -> str:
        account = self.accounts.get(account_id)
        if account is None or not account.active:
            return "skipped"
        self.downloader.put_account(account)
        return self.backfill(account_id)

    def backfill(self, account_id: str) -> str:
        """Copy every wanted file missing on the account, ``width`` files at a time (the
        replicator's width); one bad file does not stop the rest."""
        missing = [record.id for record in self.files.iter_all()
                   if record.wanted and account_id not in record.replicas]
        width = max(1, self.replicator.settings.width)
        with ThreadPoolExecutor(min(width, max(1, len(missing))), "backfill") as pool:
            results = list(pool.map(self._backfill_one, missing, [account_id] * len(missing)))
        failures = results.count(False)
        if failures:
            raise TransientError(f"{failures} of {len(missing)} files not yet backfilled")
        return "backfilled"

    def _backfill_one(self, file_id: str, account_id: str) -> bool:
        try:
            self.replicate(file_id)
        except PermanentError:
            log.exception("file %s cannot be backfilled", file_id)
        except Exception:
            log.exception("backfill of %s to %s failed; will retry", file_id, account_id)
            return False
        return True

    def account_removed(self, account_id: str) -> str:
        return self.cleaner.remove_account(account_id)

    def account_updated(self, account_id: str) -> str:
        account = self.accounts.get(account_id)
        if account is None:
            return "skipped"
        if account.state == REMOVING:
            return self.cleaner.remove_account(account_id)
        self.downloader.put_account(account)
        return self.backfill(account_id) if account.active else "updated"

    def resume(self, account_id: str) -> str:
        """A full or paused account that can take files again: active, then backfilled."""
        account = self.accounts.resume(account_id)
        if account is None:
            return "skipped"
        log.info("account %s (%s) is active again; backfilling it", account.id, account.email)
        self.downloader.put_account(account)
        return self.backfill(account_id)
