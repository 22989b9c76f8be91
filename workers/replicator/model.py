"""What the replicator reads from the Uploader's store: accounts, files and their replicas.

Plain values so that the replication logic does not depend on how the Uploader stores them;
``bootstrap`` adapts the Uploader's repositories to these shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ACTIVE = "active"
REPLICATING = "replicating"
UPLOADED = "uploaded"
DELETING = "deleting"
FAILED = "failed"


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    state: str
    version: int
    daily_limit_bytes: int

    @property
    def active(self) -> bool:
        return self.state == ACTIVE


@dataclass(frozen=True)
class Replica:
    account_id: str
    drive_file_id: str


@dataclass(frozen=True)
class FileRecord:
    id: str
    name: str
    size: int
    md5: str
    content_type: str
    status: str
    version: int
    blob_id: str | None
    replicas: dict[str, Replica] = field(default_factory=dict)
    sha256: str | None = None  # sent to the Downloader (the redirector's Repr-Digest)

    @property
    def wanted(self) -> bool:
        """A file that should exist on Drive (not being deleted)."""
        return self.status != DELETING


@dataclass(frozen=True)
class DriveFile:
    """One file as a Drive account lists it."""

    id: str
    name: str
    size: int
    md5: str
    fileserver_id: str | None
