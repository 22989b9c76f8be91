"""Use cases of the Uploader: Drive accounts, uploads, and file management.

Every change is stored first and then announced as a replication job. A job that cannot be
published is logged and counted, never fatal: the replicator's reconciliation finds files
stuck in ``replicating`` and accounts whose state it has not applied.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from fileserver.contracts.timestamps import utc_stamp
from fileserver.errors import BadRequest
from fileserver.uploader import metrics, validation
from fileserver.uploader.model import ACCOUNT_STATES, FILE_STATUSES, Account, StoredFile
from fileserver.uploader.repository import SORTS, AccountRepository, BlobStore, FileRepository
from fileserver.uploader.storage import StoragePlanner

log = logging.getLogger("fileserver.uploader")


class Publisher(Protocol):
    def publish(self, kind: str, target_id: str, version: int) -> int: ...


Prober = Callable[[dict[str, Any]], Any]  # probe.probe_account: -> ProbeResult


def announce(publisher: Publisher, kind: str, target_id: str, version: int) -> bool:
    """Publish a job; on failure log (ids only) and count it. True if published."""
    try:
        publisher.publish(kind, target_id, version)
    except Exception as exc:  # noqa: BLE001 - any transport error; reconciliation repairs it
        metrics.JOBS_PUBLISHED.labels(kind, "error").inc()
        log.warning("job %s for %s v%d not published: %s", kind, target_id, version,
                    type(exc).__name__)
        return False
    metrics.JOBS_PUBLISHED.labels(kind, "ok").inc()
    return True


class AccountService:
    """``probe`` checks a key live (``probe.probe_account``): who the account is and whether
    it can hold files; ``verify=False`` skips it for service-account keys (offline setups)."""

    def __init__(self, accounts: AccountRepository, publisher: Publisher,
                 default_limit: int, probe: Prober) -> None:
        self.accounts = accounts
        self.publisher = publisher
        self.default_limit = default_limit
        self.probe = probe

    def create(self, body: dict[str, Any], verify: bool) -> Account:
        validation.only_fields(body, {"name", "key", "daily_limit_bytes", "shared_drive_id",
                                      "subject"})
        name = validation.account_name(body.get("name"))
        key = validation.credential(body.get("key"), body.get("shared_drive_id"),
                                    body.get("subject"))
        limit = validation.daily_limit(body.get("daily_limit_bytes", self.default_limit))
        checked = self._check(key, verify)
        account = self.accounts.create(uuid.uuid4().hex, name, key, limit,
                                       email=checked.email if checked else None,
                                       storage=checked.storage if checked else None)
        announce(self.publisher, "account-added", account.id, account.version)
        return account

    def _check(self, key: dict[str, Any], verify: bool) -> Any:
        if verify:
            return self.probe(key)
        if key.get("type") == "authorized_user":
            raise BadRequest("an authorized_user key is always checked live (its e-mail address "
                             "is Google's answer): register it without verify=false")
        return None

    def list(self, state: str | None, limit: int, offset: int) -> tuple[list[Account], int]:
        if state is not None and state not in ACCOUNT_STATES:
            raise BadRequest("state must be one of " + ", ".join(ACCOUNT_STATES))
        return self.accounts.list(state, limit, offset)

    def get(self, account_id: str) -> Account:
        return self.accounts.require(account_id)

    def update(self, account_id: str, body: dict[str, Any], verify: bool) -> Account:
        validation.only_fields(body, {"name", "key", "daily_limit_bytes", "state",
                                      "shared_drive_id", "subject"})
        if not body:
            raise BadRequest("nothing to change: send name, daily_limit_bytes, state or key")
        if "key" not in body and ({"shared_drive_id", "subject"} & set(body)):
            raise BadRequest("send the key together with shared_drive_id or subject")
        checks = {"name": validation.account_name, "daily_limit_bytes": validation.daily_limit,
                  "state": validation.account_state}
        changes = {field: checks[field](value) for field, value in body.items()
                   if field in checks}
        checked = None
        if "key" in body:
            self.accounts.require(account_id)  # 404 before Google is asked anything
            changes["key"] = validation.credential(body["key"], body.get("shared_drive_id"),
                                                   body.get("subject"))
            checked = self._check(changes["key"], verify)
        account = self.accounts.update(account_id, changes,
                                       email=checked.email if checked else None)
        if checked is not None:
            self.accounts.set_storage(account.id, checked.storage_limit, checked.storage_usage)
            account = self.accounts.require(account.id)
        announce(self.publisher, "account-updated", account.id, account.version)
        return account

    def remove(self, account_id: str) -> Account:
        account = self.accounts.mark_removing(account_id)
        announce(self.publisher, "account-removed", account.id, account.version)
        return account


class FileService:
    def __init__(self, files: FileRepository, publisher: Publisher) -> None:
        self.files = files
        self.publisher = publisher

    def list(self, status: str | None, sort: str | None, limit: int,
             offset: int) -> tuple[list[StoredFile], int]:
        if status is not None and status not in FILE_STATUSES:
            raise BadRequest("status must be one of " + ", ".join(FILE_STATUSES))
        sort = sort or "-created_at"
        if sort not in SORTS:
            raise BadRequest("sort must be one of " + ", ".join(SORTS))
        return self.files.list(status, sort, limit, offset)

    def get(self, file_id: str) -> StoredFile:
        return self.files.require(file_id)

    def rename(self, file_id: str, body: dict[str, Any]) -> StoredFile:
        validation.only_fields(body, {"name"})
        renamed = self.files.rename(file_id, validation.filename(body.get("name")))
        announce(self.publisher, "rename-file", renamed.id, renamed.version)
        return renamed

    def delete(self, file_id: str) -> StoredFile:
        deleting = self.files.mark_deleting(file_id)
        announce(self.publisher, "delete-file", deleting.id, deleting.version)
        return deleting


class UploadService:
    """``register`` tells the Downloader about a new file at once (best effort, never raises;
    see ``registration.DownloaderRegistration``); the replicator does it anyway. ``planner``
    refuses (507) a file that does not fit on every active account (``storage``)."""

    def __init__(self, accounts: AccountRepository, files: FileRepository, blobs: BlobStore,
                 publisher: Publisher, max_bytes: int,
                 register: Callable[[StoredFile], None] | None = None) -> None:
        self.accounts = accounts
        self.files = files
        self.blobs = blobs
        self.publisher = publisher
        self.max_bytes = max_bytes
        self.register = register
        self.planner = StoragePlanner(accounts, files)

    def check_room(self, declared_size: int) -> None:
        """507 before any byte is stored if ``declared_size`` does not fit everywhere."""
        self.planner.check(declared_size)

    def upload(self, name: str, content_type: str, blocks: Iterable[bytes]) -> StoredFile:
        """Store the blocks in GridFS, create the file document, announce ``replicate``.

        Any failure while reading the body removes the chunks already written; so does a
        body larger than the room the accounts have (a body of undeclared size).
        """
        with self.blobs.writer(name, self.max_bytes) as writer:
            for block in blocks:
                writer.write(block)
        try:
            self.planner.check(writer.size)
            stored = self.files.create(self._document(name, content_type, writer))
        except Exception:
            self.blobs.delete(writer.blob_id)
            raise
        metrics.UPLOAD_BYTES.inc(stored.size)
        announce(self.publisher, "replicate", stored.id, stored.version)
        if self.register is not None:
            self.register(stored)
        return stored

    def _document(self, name: str, content_type: str, writer: Any) -> dict[str, Any]:
        now = utc_stamp()
        return {"_id": uuid.uuid4().hex, "name": name, "size": writer.size,
                "content_type": content_type, "md5": writer.md5, "sha256": writer.sha256,
                "status": "replicating", "replicas": self.planner.replica_entries(now),
                "blob_id": writer.blob_id, "created_at": now, "updated_at": now, "version": 1}
