"""Reconciliation: compare desired state (Mongo) with the Downloader and Drive, repair drift.

``plan`` is a pure function of four snapshots. ``Reconciler`` builds the same plan paged, with
bounded memory: the files once as a compact ``Catalogue``, then one account at a time (its
registry rows, its Drive listing). It runs the plan through the same idempotent handlers the
jobs use, never relies on a queue retry, and re-checks registry changes under the file's lock
against a fresh record (the snapshots are not taken at one instant).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable
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


def plan(files: Iterable[FileRecord], accounts: list[Account], registry: dict[Key, str],
         listings: dict[str, list[DriveFile]]) -> Plan:
    """What to repair. ``listings`` holds only the accounts that could be listed. The same
    plan the paged ``Reconciler`` builds one account at a time (``plan_account``)."""
    catalogue = Catalogue.of(files)
    result = plan_files(catalogue, accounts)
    by_account: dict[str, dict[str, str]] = {}
    for (file_id, account_id), drive_id in registry.items():
        by_account.setdefault(account_id, {})[file_id] = drive_id
    known = {account.id: account for account in accounts}
    for account_id in sorted(known.keys() | by_account.keys()):
        plan_account(account_id, known.get(account_id), catalogue,
                     by_account.get(account_id, {}), listings.get(account_id), result)
    return result


@dataclass(frozen=True, slots=True)
class Desired:
    """What reconciliation keeps of one file record: 200,000 replicas of these stay small
    (interned account ids, one Drive id string each; no names, hashes or unplaced entries)."""

    id: str
    status: str
    size: int
    has_blob: bool
    replicas: dict[str, str]  # account id -> Drive file id, ready replicas only

    @property
    def wanted(self) -> bool:
        return self.status != DELETING

    @classmethod
    def of(cls, record: FileRecord) -> Desired:
        return cls(record.id, record.status, record.size, bool(record.blob_id),
                   {sys.intern(a): r.drive_file_id for a, r in record.replicas.items()})


class Catalogue(dict[str, Desired]):
    """Every file record as ``Desired``, by id: the one side of a pass held whole."""

    @classmethod
    def of(cls, records: Iterable[FileRecord]) -> Catalogue:
        """Reads ``records`` as a stream: one full record at a time is in memory."""
        catalogue = cls()
        for record in records:
            catalogue[record.id] = Desired.of(record)
        return catalogue


def plan_files(catalogue: Catalogue, accounts: list[Account]) -> Plan:
    """The part of a plan that needs no registry or listing: removals, deletions, files not
    uploaded yet or still holding their blob."""
    result = Plan(remove_accounts={a.id for a in accounts if a.state == REMOVING})
    for desired in catalogue.values():
        if not desired.wanted:
            result.delete_files.add(desired.id)
        elif desired.status != UPLOADED or desired.has_blob:
            result.replicate.add(desired.id)
    return result


def plan_account(account_id: str, account: Account | None, catalogue: Catalogue,
                 registry: dict[str, str], listing: list[DriveFile] | None,
                 result: Plan) -> None:
    """Add to ``result`` what one account needs. ``account`` is None for an account the
    registry knows and the store does not; ``registry``: file id -> Drive id of its rows;
    ``listing``: None if the account was not listed (never taken for empty)."""
    listed = None if listing is None else {item.id for item in listing}
    if account is not None and account.active:
        for desired in catalogue.values():
            if desired.wanted:
                _plan_replica(desired, account_id, registry, listed, result)
    serving = account is not None and account.serving
    for file_id in registry:
        if not serving or not _registrable(catalogue.get(file_id), account_id):
            result.unregister.add((file_id, account_id))
    for item in listing or ():
        if item.fileserver_id and _is_orphan(item, catalogue.get(item.fileserver_id),
                                             account_id):
            result.orphans.add((item.id, account_id, item.fileserver_id))


def _plan_replica(desired: Desired, account_id: str, registry: dict[str, str],
                  listed: set[str] | None, result: Plan) -> None:
    drive_id = desired.replicas.get(account_id)
    if drive_id is None:
        result.replicate.add(desired.id)
    elif listed is not None and drive_id not in listed:
        result.forget_replicas.add((desired.id, account_id))
        result.replicate.add(desired.id)
    elif registry.get(desired.id) != drive_id:
        result.register[(desired.id, account_id)] = drive_id


def _registrable(desired: Desired | None, account_id: str) -> bool:
    """The store holds a wanted file with a ready replica on the account."""
    return desired is not None and desired.wanted and account_id in desired.replicas


def _is_orphan(item: DriveFile, desired: Desired | None, account_id: str) -> bool:
    """A tagged copy of a purged file, or a second copy beside the registered replica."""
    if desired is None:
        return True
    drive_id = desired.replicas.get(account_id)
    return drive_id is not None and drive_id != item.id and desired.wanted


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

    def run_once(self) -> Plan:
        """One pass, paged: the store's files are read once as a compact ``Catalogue``, then
        each account's registry rows and Drive listing are read, compared and dropped before
        the next account's. Returns the plan it carried out (errors are logged, not raised)."""
        started = time.monotonic()
        accounts = self.accounts.list_all()
        catalogue = Catalogue.of(self.files.iter_all())
        self._count_statuses(catalogue)
        self._resume_accounts(catalogue, accounts)
        todo = plan_files(catalogue, accounts)
        known = {account.id: account for account in accounts}
        rows = 0
        for account_id in self._account_ids(known):
            account = known.get(account_id)
            registry = self._registry(account_id)
            rows += len(registry)
            plan_account(account_id, account, catalogue, registry, self._listing(account),
                         todo)
        if todo.size():
            log.info("reconcile: %s", {k: len(v) for k, v in vars(todo).items() if v})
        self._apply(todo, known, catalogue)
        seconds = time.monotonic() - started
        self.metrics.reconcile_seconds.set(seconds)
        log.info("reconciliation pass: %.1f s, %d files, %d accounts, %d registry rows, "
                 "%d repairs planned", seconds, len(catalogue), len(accounts), rows, todo.size())
        return todo

    def _account_ids(self, known: dict[str, Account]) -> list[str]:
        """The store's accounts and those the registry still has rows of."""
        return sorted(known.keys() | set(self.downloader.replica_accounts()))

    def _registry(self, account_id: str) -> dict[str, str]:
        """One account's registry rows: file id -> Drive id."""
        return {str(item["file_id"]): str(item["drive_file_id"])
                for item in self.downloader.replicas(account_id=account_id)}

    def _listing(self, account: Account | None) -> list[DriveFile] | None:
        """A serving account's Drive files; None if it does not serve or cannot be listed."""
        if account is None or not account.serving:
            return None
        try:
            return [drive_file(raw) for raw in self.drives.for_account(account).list_files()]
        except Exception as exc:
            log.warning("cannot list account %s: %s", account.id, type(exc).__name__)
            return None

    def _resume_accounts(self, catalogue: Catalogue, accounts: list[Account]) -> None:
        """Full accounts with room again and paused ones whose pause is over: active, then
        backfilled (``JobHandlers.resume``)."""
        for account in accounts:
            if account.state not in (FULL, PAUSED):
                continue
            missing = [d.size for d in catalogue.values()
                       if d.wanted and account.id not in d.replicas]
            if self.handlers.replicator.conditions.resumable(account, min(missing, default=0)):
                self._try("resume_account", self.handlers.resume, account.id)
        states: dict[str, int] = {}
        for account in self.accounts.list_all():
            states[account.state] = states.get(account.state, 0) + 1
        for state in ("active", FULL, PAUSED, "disabled", REMOVING):
            self.metrics.accounts_by_state.labels(state=state).set(states.get(state, 0))

    def _count_statuses(self, catalogue: Catalogue) -> None:
        counts: dict[str, int] = {"replicating": 0, "uploaded": 0, "deleting": 0, "failed": 0}
        for record in catalogue.values():
            counts[record.status] = counts.get(record.status, 0) + 1
        for status, count in counts.items():
            self.metrics.files_by_status.labels(status=status).set(count)

    def _apply(self, todo: Plan, accounts: dict[str, Account], catalogue: Catalogue) -> None:
        for account_id in todo.remove_accounts:
            self._try("remove_account", self.handlers.account_removed, account_id)
        for file_id in todo.delete_files:
            self._try("delete_file", self.handlers.delete_file, file_id)
        for key, drive_id in todo.register.items():
            self._try("register", self._register, key, drive_id, accounts[key[1]])
        for key in todo.unregister:
            self._try("unregister", self._unregister, key, accounts.get(key[1]))
        for drive_id, account_id, file_id in todo.orphans:
            self._try("orphan", self._delete_orphan, drive_id, accounts[account_id], file_id)
        for file_id, account_id in todo.forget_replicas:
            self._try("forget_replica", self._forget, (file_id, account_id),
                      catalogue[file_id].replicas[account_id])
        for file_id in todo.replicate:
            self._try("replicate", self.handlers.replicate, file_id)

    def _try(self, action: str, call, *args) -> None:  # noqa: ANN001
        """Run one repair; counted unless it returns False (nothing left to repair)."""
        try:
            if call(*args) is not False:
                self.metrics.repairs.labels(action=action).inc()
        except Exception as exc:
            log.warning("reconcile %s %s failed: %s: %s", action, args, type(exc).__name__, exc)

    def _register(self, key: Key, drive_id: str, account: Account) -> bool:
        """Re-check under the file's lock: a replica removed since the catalogue was read (a
        delete between the two reads) is not registered again."""
        with self.handlers.locks.hold(key[0]):
            record = self.files.get(key[0])  # its size chooses the link form (large files)
            replica = record.replicas.get(key[1]) if record and record.wanted else None
            if replica is None or replica.drive_file_id != drive_id:
                return False
            url = self.drives.for_account(account).download_url(drive_id, record.size)
            self.downloader.put_replica(key[0], key[1], drive_id, url)
            return True

    def _unregister(self, key: Key, account: Account | None) -> bool:
        """Re-check under the file's lock against a fresh record: the registry rows are read
        after the catalogue, so a replica a job set and registered in between looks unknown;
        it is kept."""
        with self.handlers.locks.hold(key[0]):
            record = self.files.get(key[0])
            if account is not None and account.serving and record is not None \
                    and _registrable(Desired.of(record), key[1]):
                return False
            self.downloader.delete_replica(*key)
            return True

    def _forget(self, key: Key, drive_id: str) -> bool:
        """Re-check under the file's lock: forget the replica the listing missed only if the
        record still names that copy (a job may have replaced it since the catalogue)."""
        with self.handlers.locks.hold(key[0]):
            record = self.files.get(key[0])
            replica = record.replicas.get(key[1]) if record else None
            if replica is None or replica.drive_file_id != drive_id:
                return False
            self.files.remove_replica(*key)
            return True

    def _delete_orphan(self, drive_id: str, account: Account, file_id: str) -> None:
        """Re-check under the file's lock: the snapshot may be older than a job's work."""
        with self.handlers.locks.hold(file_id):
            record = self.files.get(file_id)
            replica = record.replicas.get(account.id) if record else None
            if replica is not None and replica.drive_file_id == drive_id:
                return
            delete_quietly(self.drives.for_account(account), drive_id)
