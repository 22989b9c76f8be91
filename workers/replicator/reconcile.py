"""Reconciliation: compare desired state (Mongo) with the Downloader and Drive, repair drift.

``plan`` is a pure function of four snapshots; ``Reconciler`` takes the snapshots, runs the
plan through the same idempotent handlers the jobs use, and never relies on a queue retry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from workers.replicator.cleanup import REMOVING
from workers.replicator.handlers import JobHandlers
from workers.replicator.metrics import ReplicatorMetrics
from workers.replicator.model import (
    DELETING,
    FULL,
    PAUSED,
    UPLOADED,
    Account,
    DriveFile,
    FileRecord,
)
from workers.replicator.ports import AccountStore, Downloader, DriveFactory, FileStore, drive_file
from workers.replicator.replication import delete_quietly

log = logging.getLogger("replicator.reconcile")
Key = tuple[str, str]  # (file_id, account_id)


@dataclass
class Plan:
    replicate: set[str] = field(default_factory=set)
    delete_files: set[str] = field(default_factory=set)
    remove_accounts: set[str] = field(default_factory=set)
    forget_replicas: set[Key] = field(default_factory=set)          # store says so, Drive not
    register: dict[Key, str] = field(default_factory=dict)          # Downloader misses it
    unregister: set[Key] = field(default_factory=set)               # Downloader has extra
    orphans: set[tuple[str, str, str]] = field(default_factory=set)  # drive id, account, file

    def size(self) -> int:
        return sum(len(part) for part in vars(self).values())


def plan(files: list[FileRecord], accounts: list[Account], registry: dict[Key, str],
         listings: dict[str, list[DriveFile]]) -> Plan:
    """What to repair. ``listings`` holds only the accounts that could be listed."""
    result = Plan(remove_accounts={a.id for a in accounts if a.state == REMOVING})
    active = [account for account in accounts if account.active]
    serving = {account.id for account in accounts if account.serving}
    by_id = {record.id: record for record in files}
    for record in files:
        if record.status == DELETING:
            result.delete_files.add(record.id)
        else:
            _plan_file(record, active, registry, listings, result)
    for key in registry:
        record, account_id = by_id.get(key[0]), key[1]
        if record is None or not record.wanted or account_id not in record.replicas \
                or account_id not in serving:
            result.unregister.add(key)
    for account_id, listing in listings.items():
        for item in listing:
            if item.fileserver_id and _is_orphan(item, by_id.get(item.fileserver_id), account_id):
                result.orphans.add((item.id, account_id, item.fileserver_id))
    return result


def _plan_file(record: FileRecord, active: list[Account], registry: dict[Key, str],
               listings: dict[str, list[DriveFile]], result: Plan) -> None:
    for account in active:
        replica = record.replicas.get(account.id)
        listing = listings.get(account.id)
        if replica is None:
            result.replicate.add(record.id)
        elif listing is not None and replica.drive_file_id not in {f.id for f in listing}:
            result.forget_replicas.add((record.id, account.id))
            result.replicate.add(record.id)
        elif registry.get((record.id, account.id)) != replica.drive_file_id:
            result.register[(record.id, account.id)] = replica.drive_file_id
    if record.status != UPLOADED or record.blob_id:
        result.replicate.add(record.id)


def _is_orphan(item: DriveFile, record: FileRecord | None, account_id: str) -> bool:
    """A tagged copy of a purged file, or a second copy beside the registered replica."""
    if record is None:
        return True
    replica = record.replicas.get(account_id)
    return replica is not None and replica.drive_file_id != item.id and record.wanted


class Reconciler:
    def __init__(self, files: FileStore, accounts: AccountStore, drives: DriveFactory,
                 downloader: Downloader, handlers: JobHandlers,
                 metrics: ReplicatorMetrics) -> None:
        self.files = files
        self.accounts = accounts
        self.drives = drives
        self.downloader = downloader
        self.handlers = handlers
        self.metrics = metrics

    def snapshot(self) -> tuple[list[FileRecord], list[Account], dict[Key, str],
                                dict[str, list[DriveFile]]]:
        files = list(self.files.iter_all())
        accounts = self.accounts.list_all()
        registry = {(str(item["file_id"]), str(item["account_id"])): str(item["drive_file_id"])
                    for item in self.downloader.replicas()}
        listings: dict[str, list[DriveFile]] = {}
        for account in accounts:
            if account.serving:
                try:
                    drive = self.drives.for_account(account)
                    listings[account.id] = [drive_file(raw) for raw in drive.list_files()]
                except Exception as exc:
                    log.warning("cannot list account %s: %s", account.id, type(exc).__name__)
        return files, accounts, registry, listings

    def run_once(self) -> Plan:
        """One pass; returns the plan it carried out (errors are logged, not raised)."""
        files, accounts, registry, listings = self.snapshot()
        self._count_statuses(files)
        self._resume_accounts(files, accounts)
        todo = plan(files, accounts, registry, listings)
        if todo.size():
            log.info("reconcile: %s", {k: len(v) for k, v in vars(todo).items() if v})
        self._apply(todo, {a.id: a for a in accounts})
        return todo

    def _resume_accounts(self, files: list[FileRecord], accounts: list[Account]) -> None:
        """Full accounts with room again and paused ones whose pause is over: active, then
        backfilled (``JobHandlers.resume``)."""
        for account in accounts:
            if account.state not in (FULL, PAUSED):
                continue
            missing = [r.size for r in files if r.wanted and account.id not in r.replicas]
            if self.handlers.replicator.conditions.resumable(account, min(missing, default=0)):
                self._try("resume_account", self.handlers.resume, account.id)
        states: dict[str, int] = {}
        for account in self.accounts.list_all():
            states[account.state] = states.get(account.state, 0) + 1
        for state in ("active", FULL, PAUSED, "disabled", REMOVING):
            self.metrics.accounts_by_state.labels(state=state).set(states.get(state, 0))

    def _count_statuses(self, files: list[FileRecord]) -> None:
        counts: dict[str, int] = {"replicating": 0, "uploaded": 0, "deleting": 0, "failed": 0}
        for record in files:
            counts[record.status] = counts.get(record.status, 0) + 1
        for status, count in counts.items():
            self.metrics.files_by_status.labels(status=status).set(count)

    def _apply(self, todo: Plan, accounts: dict[str, Account]) -> None:
        for account_id in todo.remove_accounts:
            self._try("remove_account", self.handlers.account_removed, account_id)
        for file_id in todo.delete_files:
            self._try("delete_file", self.handlers.delete_file, file_id)
        for key, drive_id in todo.register.items():
            self._try("register", self._register, key, drive_id, accounts[key[1]])
        for key in todo.unregister:
            self._try("unregister", self.downloader.delete_replica, *key)
        for drive_id, account_id, file_id in todo.orphans:
            self._try("orphan", self._delete_orphan, drive_id, accounts[account_id], file_id)
        for file_id, account_id in todo.forget_replicas:
            self._try("forget_replica", self.files.remove_replica, file_id, account_id)
        for file_id in todo.replicate:
            self._try("replicate", self.handlers.replicate, file_id)

    def _try(self, action: str, call, *args) -> None:  # noqa: ANN001
        try:
            call(*args)
            self.metrics.repairs.labels(action=action).inc()
        except Exception as exc:
            log.warning("reconcile %s %s failed: %s: %s", action, args, type(exc).__name__, exc)

    def _register(self, key: Key, drive_id: str, account: Account) -> None:
        record = self.files.get(key[0])  # its size chooses the link form (large files)
        url = self.drives.for_account(account).download_url(
            drive_id, record.size if record else None)
        self.downloader.put_replica(key[0], key[1], drive_id, url)

    def _delete_orphan(self, drive_id: str, account: Account, file_id: str) -> None:
        """Re-check under the file's lock: the snapshot may be older than a job's work."""
        with self.handlers.locks.hold(file_id):
            record = self.files.get(file_id)
            replica = record.replicas.get(account.id) if record else None
            if replica is not None and replica.drive_file_id == drive_id:
                return
            delete_quietly(self.drives.for_account(account), drive_id)
