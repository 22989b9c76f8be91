"""Per-account conditions: an account that is full or rate-limited stops receiving new files
(and keeps serving the ones it holds) instead of failing the whole job again and again.

- ``storageQuotaExceeded`` -> ``full`` with Google's message; back to ``active`` once
  ``about.get`` shows room for the smallest file it misses (checked by reconciliation).
- ``userRateLimitExceeded``/``rateLimitExceeded`` that outlived the client's retries ->
  ``paused``: until the next UTC day when the bytes this process placed on the account today
  reach Drive's 750 GB/day upload+copy cap, else for a backoff that doubles per consecutive
  pause of that account (only that account waits).
- Storage figures are refreshed from ``about.get`` after replication work (at most every
  ``storage_refresh_seconds`` per account) and raised by each file placed in between.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fileserver.contracts.timestamps import format_utc
from workers.replicator.errors import is_rate_limited, is_storage_full
from workers.replicator.metrics import ReplicatorMetrics
from workers.replicator.model import FULL, PAUSED, Account, FileRecord
from workers.replicator.ports import AccountStore, Downloader, DriveFactory, FileStore

log = logging.getLogger("replicator.conditions")
DAILY_UPLOAD_CAP = 750 * 10**9  # Drive: 750 GB a day of uploads and copies per user


@dataclass(frozen=True)
class ConditionSettings:
    pause_seconds: float = 60.0
    pause_cap_seconds: float = 3600.0
    daily_upload_cap: int = DAILY_UPLOAD_CAP
    storage_refresh_seconds: float = 300.0


def next_utc_day(now: datetime) -> datetime:
    return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)


class AccountConditions:
    def __init__(self, accounts: AccountStore, files: FileStore, downloader: Downloader,
                 drives: DriveFactory, metrics: ReplicatorMetrics,
                 settings: ConditionSettings | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.accounts, self.files, self.downloader = accounts, files, downloader
        self.drives, self.metrics = drives, metrics
        self.settings = settings or ConditionSettings()
        self.now = now
        self._lock = threading.Lock()
        self._placed: dict[tuple[str, str], int] = {}   # (account, UTC day) -> bytes
        self._pauses: dict[str, int] = {}               # consecutive pauses per account
        self._measured: dict[str, float] = {}           # account -> monotonic time

    def placed(self, account: Account, size: int) -> None:
        """Count a file placed on the account (daily cap, cached usage)."""
        key = (account.id, self.now().date().isoformat())
        with self._lock:
            self._placed[key] = self._placed.get(key, 0) + size
            self._pauses.pop(account.id, None)
        self.accounts.add_usage(account.id, size)

    def settle(self, account: Account, record: FileRecord, exc: BaseException) -> str | None:
        """``full`` or ``paused`` if ``exc`` is such a condition of the account (recorded
        at once, with the file's entry); None for any other failure."""
        if is_storage_full(exc):
            self._set(account, record, FULL, str(exc), None)
            return FULL
        if is_rate_limited(exc):
            until, why = self._pause_until(account, record.size)
            self._set(account, record, PAUSED, f"{why} ({exc})", format_utc(until))
            return PAUSED
        return None

    def _pause_until(self, account: Account, size: int) -> tuple[datetime, str]:
        now = self.now()
        with self._lock:
            today = self._placed.get((account.id, now.date().isoformat()), 0)
            if today + size > self.settings.daily_upload_cap:
                return next_utc_day(now), "daily upload cap of Drive reached"
            count = self._pauses[account.id] = self._pauses.get(account.id, 0) + 1
        wait = min(self.settings.pause_cap_seconds, self.settings.pause_seconds * 2 ** (count - 1))
        return now + timedelta(seconds=wait), "rate limited"

    def _set(self, account: Account, record: FileRecord, state: str, reason: str,
             until: str | None) -> None:
        changed = self.accounts.set_condition(account.id, state, reason, until)
        self.files.mark_unplaced(record.id, account.id, state)
        self.metrics.account_conditions.labels(state=state).inc()
        if changed is not None:
            self.downloader.put_account(changed)  # it keeps serving what it holds
            log.warning("account %s (%s) is %s%s: %s", account.id, account.email, state,
                        f" until {until}" if until else "", reason)

    def refresh_storage(self, accounts: list[Account], force: bool = False) -> None:
        """``about.get`` for accounts not measured for ``storage_refresh_seconds``."""
        for account in accounts:
            last = self._measured.get(account.id)
            if not force and last is not None and \
                    time.monotonic() - last < self.settings.storage_refresh_seconds:
                continue
            try:
                about = self.drives.for_account(account).about()
            except Exception as exc:  # noqa: BLE001 - a measurement; the next one may work
                log.info("about.get of %s failed: %s", account.id, type(exc).__name__)
                continue
            self._measured[account.id] = time.monotonic()
            self.accounts.set_storage(account.id, about["storage_limit"], about["storage_usage"])
            fresh = self.accounts.get(account.id)
            if fresh is not None:
                self.downloader.put_account(fresh)  # account-stats shows the storage

    def resumable(self, account: Account, smallest_missing: int) -> bool:
        """A paused account whose pause is over, or a full one with room again."""
        if account.state == PAUSED:
            return account.paused_until is None or account.paused_until <= format_utc(self.now())
        if account.state != FULL:
            return False
        self.refresh_storage([account], force=True)
        fresh = self.accounts.get(account.id)
        free = fresh.storage_free if fresh is not None else None
        return free is None or free >= smallest_missing
