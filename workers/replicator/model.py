"""What the replicator reads from the Uploader's store: accounts, files and their replicas.

Plain values so that the replication logic does not depend on how the Uploader stores them;
``bootstrap`` adapts the Uploader's repositories to these shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fileserver.drive.files import DriveFile as DriveFile  # one file as a Drive account lists it

ACTIVE = "active"
FULL = "full"
PAUSED = "paused"
SERVING = (ACTIVE, FULL, PAUSED)  # accounts whose replicas get-url may hand out
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
    storage_free: int | None = None  # about.get's limit - usage, as last cached (None: unknown)
    paused_until: str | None = None
    kind: str = "service_account"
    storage_limit: int | None = None
    storage_usage: int = 0
    storage_checked_at: str | None = None

    @property
    def active(self) -> bool:
        """Receives new files."""
        return self.state == ACTIVE

    @property
    def serving(self) -> bool:
        """Keeps serving what it holds (active, full or paused)."""
        return self.state in SERVING


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
    # Accounts that cannot hold the file now: account id -> "full", "paused" or "failed"
    # (a copy Drive refused and no re-upload allowed); the file is uploaded without them.
    unplaced: dict[str, str] = field(default_factory=dict)
    entries: tuple[str, ...] = ()  # every account the file lists, whatever the entry's state

    @property
    def wanted(self) -> bool:
        """A file that should exist on Drive (not being deleted)."""
        return self.status != DELETING
