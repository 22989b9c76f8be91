"""Removing things: a deleted file from everywhere, a removed account's replicas and copies.

The Downloader is told first, so get-url stops handing out a replica before Drive loses it.
"""

from __future__ import annotations

import logging

from workers.replicator.errors import is_not_found, is_transient
from workers.replicator.model import DELETING, Account
from workers.replicator.ports import (
    AccountStore,
    BlobStore,
    Downloader,
    DriveFactory,
    FileStore,
    drive_file,
)
from workers.replicator.replication import delete_quietly

log = logging.getLogger("replicator.cleanup")
REMOVING = "removing"


class Cleaner:
    def __init__(self, files: FileStore, accounts: AccountStore, blobs: BlobStore,
                 drives: DriveFactory, downloader: Downloader) -> None:
        self.files = files
        self.accounts = accounts
        self.blobs = blobs
        self.drives = drives
        self.downloader = downloader

    def delete_file(self, file_id: str) -> str:
        """Remove a file in status ``deleting`` from the Downloader, every account and GridFS."""
        record = self.files.get(file_id)
        if record is None or record.status != DELETING:
            return "skipped"
        self.downloader.delete_file(file_id, record.version)
        for account in self.accounts.list_all():
            self.downloader.delete_replica(file_id, account.id)
            known = record.replicas.get(account.id)
            if account.state != REMOVING:  # removing an account deletes all its copies
                self._delete_copies(account, file_id, known.drive_file_id if known else None)
            self.files.remove_replica(file_id, account.id)
        if record.blob_id:
            self.blobs.delete(record.blob_id)
        self.files.purge(file_id)
        return "deleted"

    def _delete_copies(self, account: Account, file_id: str, known_id: str | None) -> None:
        try:
            drive = self.drives.for_account(account)
            ids = {drive_file(raw).id for raw in drive.find_by_fileserver_id(file_id)}
        except Exception as exc:
            if is_not_found(exc) and self.accounts.get(account.id) is None:
                return  # the account was removed meanwhile: its copies went with it
            if is_transient(exc) or account.active:
                raise
            log.warning("account %s unreachable (%s); its copy of %s stays until reconciled",
                        account.id, type(exc).__name__, file_id)
            return
        ids.update([known_id] if known_id else [])
        for drive_id in ids:
            delete_quietly(drive, drive_id)

    def remove_account(self, account_id: str) -> str:
        """An account in state ``removing``: Downloader first, then its Drive copies."""
        account = self.accounts.get(account_id)
        if account is None or account.state != REMOVING:
            return "skipped"
        self.downloader.delete_account(account.id, account.version)
        held = [record for record in self.files.iter_all() if account.id in record.replicas]
        for record in held:
            self.downloader.delete_replica(record.id, account.id)
        self._delete_account_copies(account)
        for record in held:
            self.files.remove_replica(record.id, account.id)
        self.accounts.finish_removal(account.id)
        return "removed"

    def _delete_account_copies(self, account: Account) -> None:
        """Delete every fileserver copy on the account, if the account is still reachable."""
        drive = self.drives.for_account(account)
        try:
            listed = [drive_file(raw) for raw in drive.list_files()]
            for item in listed:
                if item.fileserver_id:
                    delete_quietly(drive, item.id)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("account %s is unreachable (%s); its copies stay on Drive",
                        account.id, type(exc).__name__)
