"""MongoDB repositories of the Uploader: accounts, files, and GridFS upload blobs.

Shared with the replicator (the Uploader's worker), which reads accounts and files, gets a
decrypted key with ``AccountRepository.get_key``, streams blobs with ``BlobStore.open_stream``
and records progress with ``FileRepository.set_replica``/``mark_uploaded``/``purge``.

Written to work both on a real MongoDB and on nx-27017: no ``$setOnInsert``, no
``count_documents`` on GridFS collections, no single GridFS read over ~45 MB.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from bson import Binary, ObjectId
from bson.errors import InvalidId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from fileserver.contracts.timestamps import utc_stamp
from fileserver.drive.kinds import key_kind
from fileserver.errors import Conflict, NotFound, PayloadTooLarge
from fileserver.uploader.crypto import KeyCipher
from fileserver.uploader.model import SERVING_STATES, Account, StoredFile

BLOB_BUCKET = "blobs"
BLOB_CHUNK_BYTES = 1 << 20  # 1 MiB GridFS chunks
READ_CHUNKS_PER_QUERY = 8   # 8 MiB per cursor: far below nx-27017's 48 MB message limit
WRITE_CHUNKS_PER_BATCH = 4  # 4 MiB per insert_many


class AccountRepository:
    def __init__(self, db: Database, cipher: KeyCipher) -> None:
        self.col = db["accounts"]
        self.cipher = cipher

    def ensure_indexes(self) -> None:
        self.col.create_index([("email", ASCENDING)], unique=True, name="email_unique")
        self.col.create_index([("state", ASCENDING)], name="state")

    def create(self, account_id: str, name: str, key: dict[str, Any],
               daily_limit_bytes: int, email: str | None = None,
               storage: dict[str, Any] | None = None) -> Account:
        """A new ``active`` account. ``email``: the account's as Google answered it (an
        ``authorized_user`` key has none of its own); default the key's ``subject`` or
        ``client_email``. ``storage``: ``{"limit", "usage"}`` from ``about.get``, if asked."""
        now = utc_stamp()
        email = email or key.get("subject") or key["client_email"]
        doc = {"_id": account_id, "email": email, "name": name, "kind": key_kind(key),
               "shared_drive_id": key.get("shared_drive_id"), "subject": key.get("subject"),
               "key": self.cipher.encrypt(key), "daily_limit_bytes": daily_limit_bytes,
               "state": "active", "created_at": now, "updated_at": now, "version": 1}
        if storage is not None:
            doc["storage"] = {**storage, "checked_at": now}
        try:
            self.col.insert_one(doc)
        except DuplicateKeyError as exc:
            raise Conflict("an account with this e-mail address already exists",
                           details={"email": email}) from exc
        return Account.from_doc(doc)

    def get(self, account_id: str) -> Account | None:
        doc = self.col.find_one({"_id": account_id}, {"key": 0})
        return Account.from_doc(doc) if doc else None

    def require(self, account_id: str) -> Account:
        account = self.get(account_id)
        if account is None:
            raise NotFound(f"account {account_id} not found")
        return account

    def get_key(self, account_id: str) -> dict[str, Any]:
        """The decrypted key, with its shared drive or subject (for the Drive client only;
        never log it)."""
        doc = self.col.find_one({"_id": account_id}, {"key": 1})
        if doc is None:
            raise NotFound(f"account {account_id} not found")
        return self.cipher.decrypt(doc["key"])

    def list(self, state: str | None, limit: int, offset: int) -> tuple[list[Account], int]:
        query = {"state": state} if state else {}
        cursor = self.col.find(query, {"key": 0}).sort([("created_at", ASCENDING),
                                                        ("_id", ASCENDING)])
        docs = list(cursor.skip(offset).limit(limit))
        return [Account.from_doc(d) for d in docs], self.col.count_documents(query)

    def list_all(self) -> list[Account]:
        return [Account.from_doc(d) for d in self.col.find({}, {"key": 0}).sort("_id")]

    def update(self, account_id: str, changes: dict[str, Any],
               email: str | None = None) -> Account:
        """Apply ``changes`` (name, daily_limit_bytes, state, key) and bump the version.

        A ``key`` change also changes ``email`` (``email`` if given: Google's answer), the
        kind and the shared drive or subject. Setting ``state`` clears the replicator's
        reason and pause. An account being removed cannot change.
        """
        fields = dict(changes)
        if "key" in fields:
            key = fields.pop("key")
            fields.update(email=email or key.get("subject") or key["client_email"],
                          key=self.cipher.encrypt(key), kind=key_kind(key),
                          shared_drive_id=key.get("shared_drive_id"),
                          subject=key.get("subject"))
        if "state" in fields:
            fields.update(state_reason=None, paused_until=None)
        fields["updated_at"] = utc_stamp()
        try:
            doc = self.col.find_one_and_update(
                {"_id": account_id, "state": {"$ne": "removing"}},
                {"$set": fields, "$inc": {"version": 1}},
                projection={"key": 0}, return_document=ReturnDocument.AFTER)
        except DuplicateKeyError as exc:
            raise Conflict("an account with this e-mail address already exists") from exc
        if doc is None:
            self._raise_missing_or_removing(account_id)
        return Account.from_doc(doc)

    def set_storage(self, account_id: str, limit: int | None, usage: int) -> None:
        """Cache ``about.get``'s storage figures with the time they were read (no version
        bump: they are a measurement, not a change of the account)."""
        self.col.update_one({"_id": account_id}, {"$set": {"storage": {
            "limit": limit, "usage": usage, "checked_at": utc_stamp()}}})

    def add_usage(self, account_id: str, size: int) -> None:
        """Count a file just placed on the account until the next ``about.get``."""
        self.col.update_one({"_id": account_id}, {"$inc": {"storage.usage": size}})

    def set_condition(self, account_id: str, state: str, reason: str,
                      paused_until: str | None = None) -> Account | None:
        """``full`` or ``paused`` (until ``paused_until``) for an account that serves
        (active, full or paused), with the reason; None if it is disabled or removed."""
        if state not in ("full", "paused"):
            raise ValueError(f"not a condition: {state}")
        doc = self.col.find_one_and_update(
            {"_id": account_id, "state": {"$in": list(SERVING_STATES)}},
            {"$set": {"state": state, "state_reason": reason[:500],
                      "paused_until": paused_until, "updated_at": utc_stamp()},
             "$inc": {"version": 1}},
            projection={"key": 0}, return_document=ReturnDocument.AFTER)
        return Account.from_doc(doc) if doc else None

    def resume(self, account_id: str) -> Account | None:
        """``full``/``paused`` -> ``active`` (room again, or the pause is over)."""
        doc = self.col.find_one_and_update(
            {"_id": account_id, "state": {"$in": ["full", "paused"]}},
            {"$set": {"state": "active", "state_reason": None, "paused_until": None,
                      "updated_at": utc_stamp()}, "$inc": {"version": 1}},
            projection={"key": 0}, return_document=ReturnDocument.AFTER)
        return Account.from_doc(doc) if doc else None

    def disable_if_active(self, account_id: str, reason: str = "") -> Account | None:
        """State ``disabled`` for a serving account (the replicator, when Google refuses its
        key or its refresh token), with the reason; None if it does not serve any more. An
        admin sets it active again."""
        doc = self.col.find_one_and_update(
            {"_id": account_id, "state": {"$in": list(SERVING_STATES)}},
            {"$set": {"state": "disabled", "state_reason": reason[:500] or None,
                      "paused_until": None, "updated_at": utc_stamp()}, "$inc": {"version": 1}},
            projection={"key": 0}, return_document=ReturnDocument.AFTER)
        return Account.from_doc(doc) if doc else None

    def mark_removing(self, account_id: str) -> Account:
        """State ``removing`` (the replicator deletes its copies, then ``finish_removal``)."""
        doc = self.col.find_one_and_update(
            {"_id": account_id, "state": {"$ne": "removing"}},
            {"$set": {"state": "removing", "updated_at": utc_stamp()}, "$inc": {"version": 1}},
            projection={"key": 0}, return_document=ReturnDocument.AFTER)
        return Account.from_doc(doc) if doc else self.require(account_id)

    def finish_removal(self, account_id: str) -> None:
        """Forget an account in state ``removing`` once its copies are gone."""
        self.col.delete_one({"_id": account_id, "state": "removing"})

    def _raise_missing_or_removing(self, account_id: str) -> None:
        self.require(account_id)
        raise Conflict(f"account {account_id} is being removed and cannot change")


SORTS = {"created_at": ("created_at", ASCENDING), "-created_at": ("created_at", DESCENDING),
         "name": ("name", ASCENDING), "-name": ("name", DESCENDING),
         "size": ("size", ASCENDING), "-size": ("size", DESCENDING),
         "updated_at": ("updated_at", ASCENDING), "-updated_at": ("updated_at", DESCENDING)}


class FileRepository:
    def __init__(self, db: Database) -> None:
        self.col = db["files"]

    def ensure_indexes(self) -> None:
        self.col.create_index([("status", ASCENDING), ("created_at", ASCENDING)], name="status")
        self.col.create_index([("created_at", ASCENDING)], name="created_at")

    def create(self, doc: dict[str, Any]) -> StoredFile:
        self.col.insert_one(doc)
        return StoredFile.from_doc(doc)

    def get(self, file_id: str) -> StoredFile | None:
        doc = self.col.find_one({"_id": file_id})
        return StoredFile.from_doc(doc) if doc else None

    def require(self, file_id: str) -> StoredFile:
        found = self.get(file_id)
        if found is None:
            raise NotFound(f"file {file_id} not found")
        return found

    def list(self, status: str | None, sort: str, limit: int,
             offset: int) -> tuple[list[StoredFile], int]:
        query = {"status": status} if status else {}
        key, direction = SORTS[sort]
        cursor = self.col.find(query).sort([(key, direction), ("_id", ASCENDING)])
        docs = list(cursor.skip(offset).limit(limit))
        return [StoredFile.from_doc(d) for d in docs], self.col.count_documents(query)

    def iter_all(self) -> Iterator[StoredFile]:
        for doc in self.col.find({}).sort("_id"):
            yield StoredFile.from_doc(doc)

    def pending_bytes(self) -> dict[str, int]:
        """Bytes each account is still to receive: files not yet on it (replica ``pending``)
        of files being replicated. With the cached usage this is what the account will hold."""
        pending: dict[str, int] = {}
        for doc in self.col.find({"status": {"$in": ["replicating", "failed"]}},
                                 {"size": 1, "replicas": 1}):
            for account_id, replica in (doc.get("replicas") or {}).items():
                if replica.get("state") == "pending":
                    pending[account_id] = pending.get(account_id, 0) + int(doc["size"])
        return pending

    def _update(self, query: dict[str, Any], sets: dict[str, Any],
                unset: dict[str, Any] | None = None) -> StoredFile | None:
        """One atomic conditional update that also bumps ``version`` and ``updated_at``."""
        update: dict[str, Any] = {"$set": {**sets, "updated_at": utc_stamp()},
                                  "$inc": {"version": 1}}
        if unset:
            update["$unset"] = unset
        doc = self.col.find_one_and_update(query, update, return_document=ReturnDocument.AFTER)
        return StoredFile.from_doc(doc) if doc else None

    def rename(self, file_id: str, name: str) -> StoredFile:
        updated = self._update({"_id": file_id, "status": {"$ne": "deleting"}}, {"name": name})
        if updated is None:
            self.require(file_id)
            raise Conflict(f"file {file_id} is being deleted")
        return updated

    def mark_deleting(self, file_id: str) -> StoredFile:
        updated = self._update({"_id": file_id, "status": {"$ne": "deleting"}},
                               {"status": "deleting"})
        return updated or self.require(file_id)

    def set_replica(self, file_id: str, account_id: str, drive_file_id: str | None,
                    state: str = "ready") -> StoredFile | None:
        """Record the replica of ``file_id`` held by ``account_id`` (atomic, bumps version)."""
        replica = {"state": state, "drive_file_id": drive_file_id, "updated_at": utc_stamp()}
        return self._update({"_id": file_id}, {f"replicas.{account_id}": replica})

    def remove_replica(self, file_id: str, account_id: str) -> None:
        self._update({"_id": file_id}, {}, unset={f"replicas.{account_id}": ""})

    def mark_uploaded(self, file_id: str) -> bool:
        """Status ``uploaded`` unless the file is being deleted; True if it is now uploaded."""
        if self._update({"_id": file_id, "status": {"$in": ["replicating", "failed"]}},
                        {"status": "uploaded"}):
            return True
        current = self.get(file_id)
        return current is not None and current.status == "uploaded"

    def mark_failed(self, file_id: str, reason: str) -> None:
        self._update({"_id": file_id, "status": {"$ne": "deleting"}},
                     {"status": "failed", "failure": reason[:500]})

    def clear_blob(self, file_id: str) -> None:
        self._update({"_id": file_id}, {"blob_id": None})

    def purge(self, file_id: str) -> None:
        """Remove a deleted file's document once it is gone everywhere."""
        self.col.delete_one({"_id": file_id, "status": "deleting"})


class BlobWriter:
    """Writes one upload into GridFS chunk by chunk while hashing it (bounded memory).

    Chunks and the ``blobs.files`` document follow the GridFS layout, written directly
    (not through ``GridIn``) so that cleanup is explicit: leaving the context manager by an
    exception deletes every chunk written so far, and the files document is only written
    once the whole body arrived.
    """

    def __init__(self, store: BlobStore, filename: str, max_bytes: int) -> None:
        self._store = store
        self.filename = filename
        self.max_bytes = max_bytes
        self.oid = ObjectId()
        self.size = 0
        self._n = 0
        self._pending = bytearray()
        self._batch: list[dict[str, Any]] = []
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise PayloadTooLarge(f"the upload exceeds MAX_UPLOAD_BYTES ({self.max_bytes})",
                                  details={"max_bytes": self.max_bytes})
        self._md5.update(data)
        self._sha256.update(data)
        self._pending += data
        while len(self._pending) >= BLOB_CHUNK_BYTES:
            self._add_chunk(bytes(self._pending[:BLOB_CHUNK_BYTES]))
            del self._pending[:BLOB_CHUNK_BYTES]

    def _add_chunk(self, chunk: bytes) -> None:
        self._batch.append({"files_id": self.oid, "n": self._n, "data": Binary(chunk)})
        self._n += 1
        if len(self._batch) >= WRITE_CHUNKS_PER_BATCH:
            self._flush()

    def _flush(self) -> None:
        """One insert per batch of chunks: a write per chunk is several times slower."""
        if self._batch:
            self._store.chunks.insert_many(self._batch, ordered=True)
            self._batch = []

    @property
    def blob_id(self) -> str:
        return str(self.oid)

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self._store.chunks.delete_many({"files_id": self.oid})
            return
        if self._pending:
            self._add_chunk(bytes(self._pending))
            self._pending.clear()
        self._flush()
        self._store.files.insert_one({
            "_id": self.oid, "length": self.size, "chunkSize": BLOB_CHUNK_BYTES,
            "uploadDate": datetime.now(UTC), "filename": self.filename})


class ChunkRangeReader(io.RawIOBase):
    """A readable stream over a GridFS blob that fetches a few chunks per query."""

    def __init__(self, chunks: Any, files_id: ObjectId, length: int) -> None:
        self._chunks = chunks
        self._files_id = files_id
        self.length = length
        self._next_n = 0
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def _fetch(self) -> bytes:
        query = {"files_id": self._files_id,
                 "n": {"$gte": self._next_n, "$lt": self._next_n + READ_CHUNKS_PER_QUERY}}
        docs = list(self._chunks.find(query).sort("n", ASCENDING))
        self._next_n += READ_CHUNKS_PER_QUERY
        return b"".join(bytes(d["data"]) for d in docs)

    def readinto(self, target: Any) -> int:
        if not self._buffer:
            self._buffer = self._fetch()
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


class BlobStore:
    """Temporary upload blobs in the GridFS bucket ``blobs`` until every replica exists."""

    def __init__(self, db: Database) -> None:
        self.files = db[f"{BLOB_BUCKET}.files"]
        self.chunks = db[f"{BLOB_BUCKET}.chunks"]

    def writer(self, filename: str, max_bytes: int) -> BlobWriter:
        return BlobWriter(self, filename, max_bytes)

    def open_stream(self, blob_id: str) -> io.BufferedReader:
        """A file-like reader of the blob (chunk ranges, never one huge cursor)."""
        oid = _object_id(blob_id)
        meta = self.files.find_one({"_id": oid})
        if meta is None:
            raise NotFound(f"blob {blob_id} not found")
        raw = ChunkRangeReader(self.chunks, oid, int(meta["length"]))
        return io.BufferedReader(raw, buffer_size=BLOB_CHUNK_BYTES)

    def exists(self, blob_id: str) -> bool:
        return self.files.find_one({"_id": _object_id(blob_id)}, {"_id": 1}) is not None

    def delete(self, blob_id: str) -> None:
        """Delete the blob's metadata and chunks; deleting a missing blob is a no-op."""
        oid = _object_id(blob_id)
        self.files.delete_one({"_id": oid})
        self.chunks.delete_many({"files_id": oid})


def _object_id(blob_id: str) -> ObjectId:
    try:
        return ObjectId(blob_id)
    except (InvalidId, TypeError) as exc:
        raise NotFound(f"blob {blob_id} not found") from exc
