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

from fileserver.errors import BadRequest
from fileserver.uploader import metrics, validation
from fileserver.uploader.model import FILE_STATUSES, Account, StoredFile, utcnow
from fileserver.uploader.repository import SORTS, AccountRepository, BlobStore, FileRepository

log = logging.getLogger("fileserver.uploader")


class Publisher(Protocol):
    def publish(self, kind: str, target_id: str, version: int) -> int: ...


KeyVerifier = Callable[[dict[str, Any]], None]


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
    def __init__(self, accounts: AccountRepository, publisher: Publisher,
                 default_limit: int, verify_key: KeyVerifier) -> None:
        self.accounts = accounts
        self.publisher = publisher
        self.default_limit = default_limit
        self.verify_key = verify_key

    def create(self, body: dict[str, Any], verify: bool) -> Account:
        validation.only_fields(body, {"name", "key", "daily_limit_bytes"})
        name = validation.account_name(body.get("name"))
        key = validation.service_account_key(body.get("key"))
        limit = validation.daily_limit(body.get("daily_limit_bytes", self.default_limit))
        if verify:
            self.verify_key(key)
        account = self.accounts.create(uuid.uuid4().hex, name, key, limit)
        announce(self.publisher, "account-added", account.id, account.version)
        return account

    def list(self, state: str | None, limit: int, offset: int) -> tuple[list[Account], int]:
        if state is not None and state not in ("active", "disabled", "removing"):
            raise BadRequest("state must be active, disabled or removing")
        return self.accounts.list(state, limit, offset)

    def get(self, account_id: str) -> Account:
        return self.accounts.require(account_id)

    def update(self, account_id: str, body: dict[str, Any], verify: bool) -> Account:
        validation.only_fields(body, {"name", "key", "daily_limit_bytes", "state"})
        if not body:
            raise BadRequest("nothing to change: send name, daily_limit_bytes, state or key")
        checks = {"name": validation.account_name, "daily_limit_bytes": validation.daily_limit,
                  "state": validation.account_state, "key": validation.service_account_key}
        changes = {field: checks[field](value) for field, value in body.items()}
        if verify and "key" in changes:
            self.verify_key(changes["key"])
        account = self.accounts.update(account_id, changes)
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
    see ``registration.DownloaderRegistration``); the replicator does it anyway."""

    def __init__(self, accounts: AccountRepository, files: FileRepository, blobs: BlobStore,
                 publisher: Publisher, max_bytes: int,
                 register: Callable[[StoredFile], None] | None = None) -> None:
        self.accounts = accounts
        self.files = files
        self.blobs = blobs
        self.publisher = publisher
        self.max_bytes = max_bytes
        self.register = register

    def upload(self, name: str, content_type: str, blocks: Iterable[bytes]) -> StoredFile:
        """Store the blocks in GridFS, create the file document, announce ``replicate``.

        Any failure while reading the body removes the chunks already written.
        """
        with self.blobs.writer(name, self.max_bytes) as writer:
            for block in blocks:
                writer.write(block)
        try:
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
        now = utcnow()
        pending = {account_id: {"state": "pending", "drive_file_id": None, "updated_at": now}
                   for account_id in self.accounts.active_ids()}
        return {"_id": uuid.uuid4().hex, "name": name, "size": writer.size,
                "content_type": content_type, "md5": writer.md5, "sha256": writer.sha256,
                "status": "replicating", "replicas": pending, "blob_id": writer.blob_id,
                "created_at": now, "updated_at": now, "version": 1}
