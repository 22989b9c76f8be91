"""Storage planning: an upload is refused (507) unless every active account has room for it.

Every file goes to every account, so the catalogue can never outgrow the smallest account.
An account's room is its cached ``about.get`` figures (limit - usage, refreshed by the
replicator after its work and raised by each file it places) minus the files still on their
way to it (replicas ``pending``). Accounts whose limit is unknown (registered with
``verify=false`` and not yet measured) or unlimited never refuse.
"""

from __future__ import annotations

from typing import Any

from fileserver.errors import InsufficientStorage
from fileserver.uploader.model import Account
from fileserver.uploader.repository import AccountRepository, FileRepository


def room(account: Account, pending: dict[str, int]) -> int | None:
    """Bytes the account can still take for new files (None: no known limit)."""
    free = account.storage.free
    return None if free is None else free - pending.get(account.id, 0)


def shortfalls(accounts: list[Account], pending: dict[str, int], size: int) -> list[dict]:
    """The active accounts ``size`` bytes do not fit on, with their room and the gap."""
    short = []
    for account in accounts:
        left = room(account, pending) if account.active else None
        if left is not None and left < size:
            short.append({"account_id": account.id, "email": account.email,
                          "free_bytes": max(left, 0), "short_by_bytes": size - max(left, 0)})
    return short


class StoragePlanner:
    def __init__(self, accounts: AccountRepository, files: FileRepository) -> None:
        self.accounts = accounts
        self.files = files

    def check(self, size: int) -> None:
        """Raise InsufficientStorage (507) if ``size`` bytes do not fit on every active
        account."""
        accounts = self.accounts.list_all()
        short = shortfalls(accounts, self.files.pending_bytes(), size)
        if short:
            active = sum(1 for a in accounts if a.active)
            worst = max(item["short_by_bytes"] for item in short)
            raise InsufficientStorage(
                f"{size} bytes do not fit on {len(short)} of {active} active Drive account(s) "
                f"(short by up to {worst} bytes): free space or add accounts with more storage",
                details={"size": size, "accounts": short})

    def replica_entries(self, now: str) -> dict[str, dict[str, Any]]:
        """The replicas a new file starts with: ``pending`` on active accounts, ``full`` or
        ``paused`` on accounts that cannot take it now (shown with the file)."""
        return {a.id: {"state": "pending" if a.active else a.state, "drive_file_id": None,
                       "updated_at": now}
                for a in self.accounts.list_all() if a.serving}
