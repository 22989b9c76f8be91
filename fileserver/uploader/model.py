"""The Uploader's documents: Drive accounts and uploaded files, with their JSON views.

Documents live in MongoDB with ``_id`` = a uuid4 hex string. Every change increments
``version`` so that consumers (the replicator, the Downloader) can order updates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ACCOUNT_STATES = ("active", "disabled", "removing")
FILE_STATUSES = ("replicating", "uploaded", "deleting", "failed")
REPLICA_STATES = ("pending", "ready", "failed", "removing")


def utcnow() -> str:
    """Now in UTC as ISO-8601 with milliseconds, e.g. ``2026-11-25T10:00:00.123Z``.

    Timestamps are stored as these strings, not BSON dates: they sort the same way, and
    nx-27017 turns a date inside ``findAndModify``'s ``$set`` into a differently formatted
    string, which would mix types in one field.
    """
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    name: str
    daily_limit_bytes: int
    state: str
    version: int
    created_at: str
    updated_at: str

    @property
    def active(self) -> bool:
        return self.state == "active"

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Account:
        return cls(id=doc["_id"], email=doc["email"], name=doc.get("name", ""),
                   daily_limit_bytes=int(doc["daily_limit_bytes"]), state=doc["state"],
                   version=int(doc["version"]), created_at=doc["created_at"],
                   updated_at=doc["updated_at"])

    def to_json(self) -> dict[str, Any]:
        """The public view: never the (encrypted) key."""
        return {"id": self.id, "email": self.email, "name": self.name,
                "daily_limit_bytes": self.daily_limit_bytes, "state": self.state,
                "version": self.version, "created_at": self.created_at,
                "updated_at": self.updated_at}


@dataclass(frozen=True)
class Replica:
    account_id: str
    state: str
    drive_file_id: str | None
    updated_at: str | None


@dataclass(frozen=True)
class StoredFile:
    id: str
    name: str
    size: int
    content_type: str
    md5: str
    sha256: str
    status: str
    version: int
    blob_id: str | None
    created_at: str
    updated_at: str
    replicas: dict[str, Replica] = field(default_factory=dict)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> StoredFile:
        replicas = {
            account_id: Replica(account_id, r.get("state", "pending"), r.get("drive_file_id"),
                                r.get("updated_at"))
            for account_id, r in (doc.get("replicas") or {}).items()
        }
        return cls(id=doc["_id"], name=doc["name"], size=int(doc["size"]),
                   content_type=doc["content_type"], md5=doc["md5"], sha256=doc["sha256"],
                   status=doc["status"], version=int(doc["version"]),
                   blob_id=doc.get("blob_id"), created_at=doc["created_at"],
                   updated_at=doc["updated_at"], replicas=replicas)

    def to_json(self) -> dict[str, Any]:
        accounts = [{"account_id": r.account_id, "state": r.state,
                     "drive_file_id": r.drive_file_id}
                    for r in sorted(self.replicas.values(), key=lambda r: r.account_id)]
        ready = sum(1 for r in self.replicas.values() if r.state == "ready")
        return {"id": self.id, "name": self.name, "size": self.size,
                "content_type": self.content_type, "md5": self.md5, "sha256": self.sha256,
                "status": self.status, "version": self.version,
                "replicas": {"total": len(accounts), "ready": ready, "accounts": accounts},
                "created_at": self.created_at, "updated_at": self.updated_at}
