"""Which (file, account) placements were attempted before: a retry looks on Drive, a first
attempt need not.

Before the replicator places a file on accounts it claims them here in one atomic write and
learns which of them an earlier job (a crashed or redelivered one, or another process) had
claimed already. Only those can have a copy on Drive the file's record does not show, so only
for those is Drive listed for an existing copy (``files.list`` by ``appProperties``) before
creating one; a first attempt goes straight to ``files.copy``. The claim is written before
any Drive call, so a crash at any later point leaves it behind for the retry.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from pymongo import ReturnDocument

from fileserver.contracts.timestamps import utc_stamp

FIELD = "copy_attempts"  # in the file's document: {account_id: first claim, ISO time}


class CopyAttempts(Protocol):
    def claim(self, file_id: str, account_ids: Iterable[str]) -> set[str]:
        """Record an attempt to place ``file_id`` on ``account_ids``; answer those of them
        claimed before this call (their placement may have left a copy on Drive)."""
        ...


class AlwaysLook:
    """No record kept: every placement counts as a retry (Drive is always listed first)."""

    def claim(self, file_id: str, account_ids: Iterable[str]) -> set[str]:
        return set(account_ids)


class MongoCopyAttempts:
    """The claims in the file's own document (``copy_attempts``), gone when it is purged.

    One ``find_one_and_update`` per claim (one round trip for all the accounts), answering the
    document as it was before: of two concurrent claims of one account, exactly one sees it
    unclaimed. Each account keeps the time of its latest claim. A file not found counts as
    claimed (nothing is placed for it anyway)."""

    def __init__(self, files_collection: Any) -> None:
        self.col = files_collection

    def claim(self, file_id: str, account_ids: Iterable[str]) -> set[str]:
        ids = set(account_ids)
        if not ids:
            return set()
        now = utc_stamp()
        before = self.col.find_one_and_update(
            {"_id": file_id}, {"$set": {f"{FIELD}.{a}": now for a in sorted(ids)}},
            projection={FIELD: 1}, return_document=ReturnDocument.BEFORE)
        if before is None:
            return ids
        return ids & set(before.get(FIELD) or {})
