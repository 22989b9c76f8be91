"""The Uploader's documents: Drive accounts and uploaded files, with their JSON views.

Documents live in MongoDB with ``_id`` = a uuid4 hex string. Every change increments
``version`` so that consumers (the replicator, the Downloader) can order updates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fileserver.contracts.timestamps import parse_utc

# ``full`` (no room for new files) and ``paused`` (Drive's daily upload cap or a rate limit,
# until ``paused_until``) are set by the replicator: such an account keeps serving the files
# it holds but receives no new ones until it is ``active`` again.
ACCOUNT_STATES = ("active", "full", "paused", "disabled", "removing")
SERVING_STATES = ("active", "full", "paused")
FILE_STATUSES = ("replicating", "uploaded", "deleting", "failed")
# ``full``: the account has no room for this file; ``paused``: it gets it once it resumes.
REPLICA_STATES = ("pending", "ready", "full", "paused", "failed", "removing")


# Timestamps are stored as ``fileserver.contracts.timestamps`` strings, not BSON dates: they
# sort the same way, and nx-27017 turns a date inside ``findAndModify``'s ``$set`` into a
# differently formatted string, which would mix types in one field.


def age_seconds(stamp: str | None) -> float | None:
    """Seconds since a ``utc_stamp()`` stamp (None for None)."""
    if not stamp:
        return None
    then = parse_utc(stamp)
    return max(0.0, (datetime.now(UTC) - then).total_seconds())


@dataclass(frozen=True)
class Storage:
    """An account's Drive storage as ``about.get`` last answered (``limit`` None: unlimited
    or not known yet; ``checked_at`` None: never asked)."""

    limit: int | None = None
    usage: int = 0
    checked_at: str | None = None

    @property
    def free(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.usage)

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> Storage:
        doc = doc or {}
        limit = doc.get("limit")
        return cls(None if limit is None else int(limit), int(doc.get("usage") or 0),
                   doc.get("checked_at"))

    def to_json(self) -> dict[str, Any]:
        return {"limit_bytes": self.limit, "usage_bytes": self.usage, "free_bytes": self.free,
                "checked_at": self.checked_at, "age_seconds": age_seconds(self.checked_at)}


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
    kind: str = "service_account"
    shared_drive_id: str | None = None
    subject: str | None = None
    storage: Storage = field(default_factory=Storage)
    state_reason: str | None = None
    paused_until: str | None = None

    @property
    def active(self) -> bool:
        return self.state == "active"

    @property
    def serving(self) -> bool:
        """Holds files get-url may hand out (active, full or paused)."""
        return self.state in SERVING_STATES

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Account:
        return cls(id=doc["_id"], email=doc["email"], name=doc.get("name", ""),
                   daily_limit_bytes=int(doc["daily_limit_bytes"]), state=doc["state"],
                   version=int(doc["version"]), created_at=doc["created_at"],
                   updated_at=doc["updated_at"], kind=doc.get("kind") or "service_account",
                   shared_drive_id=doc.get("shared_drive_id"), subject=doc.get("subject"),
                   storage=Storage.from_doc(doc.get("storage")),
                   state_reason=doc.get("state_reason"), paused_until=doc.get("paused_until"))

    def to_json(self) -> dict[str, Any]:
        """The public view: never the (encrypted) key."""
        return {"id": self.id, "email": self.email, "name": self.name, "kind": self.kind,
                "shared_drive_id": self.shared_drive_id, "subject": self.subject,
                "daily_limit_bytes": self.daily_limit_bytes, "state": self.state,
                "state_reason": self.state_reason, "paused_until": self.paused_until,
                "storage": self.storage.to_json(), "version": self.version,
                "created_at": self.created_at, "updated_at": self.updated_at}


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
        states = [r.state for r in self.replicas.values()]
        return {"id": self.id, "name": self.name, "size": self.size,
                "content_type": self.content_type, "md5": self.md5, "sha256": self.sha256,
                "status": self.status, "version": self.version,
                "replicas": {"total": len(accounts), "ready": states.count("ready"),
                             "full": states.count("full"), "paused": states.count("paused"),
                             "accounts": accounts},
                "created_at": self.created_at, "updated_at": self.updated_at}
