"""Google's per-file download limit, as users meet it on public links.

Google limits how often one file may be downloaded, opaquely ("Too many users have viewed or
downloaded this file recently ... it may take up to 24 hours"; no published number): past
it, the public link answers an HTML page with 403 until the limit lifts. Here the limit is a
number of downloads per file per UTC day (``--file-download-quota``; 0, the default, means
none, since Google publishes none), and an admin can block one file (one account's copy) for
a while. State is in memory: a restart or ``/_emulator/reset`` clears it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from emulators.drive.faults import Clock

DEFAULT_BLOCK_HOURS = 24  # Google: "it may take up to 24 hours"


def next_utc_midnight(moment: float) -> float:
    day = datetime.fromtimestamp(moment, UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


class FileDownloadQuota:
    """Downloads per (file, UTC day) and admin blocks per file, on the emulator's clock."""

    def __init__(self, clock: Clock, per_file_per_day: int = 0) -> None:
        self.clock = clock
        self.per_file_per_day = per_file_per_day
        self._counts: dict[tuple[str, str], int] = {}
        self._blocked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def blocked(self, file_id: str) -> bool:
        """Whether the public link of ``file_id`` answers the quota page now."""
        now = self.clock.now()
        with self._lock:
            if self._blocked_until.get(file_id, 0) > now:
                return True
            used = self._counts.get((file_id, self.clock.utc_day()), 0)
            return bool(self.per_file_per_day) and used >= self.per_file_per_day

    def count(self, file_id: str) -> None:
        """One more download of ``file_id`` today (a resumed Range request is not one)."""
        key = (file_id, self.clock.utc_day())
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def block(self, file_id: str, hours: float | None) -> float:
        """Block until ``hours`` from now (default 24); answer the time it lifts."""
        until = self.clock.now() + 3600 * (DEFAULT_BLOCK_HOURS if hours is None else hours)
        with self._lock:
            self._blocked_until[file_id] = until
        return until

    def unblock(self, file_id: str) -> None:
        with self._lock:
            self._blocked_until.pop(file_id, None)

    def state(self, file_id: str) -> dict[str, object]:
        with self._lock:
            until = self._blocked_until.get(file_id)
            used = self._counts.get((file_id, self.clock.utc_day()), 0)
        return {"file_id": file_id, "blocked": self.blocked(file_id),
                "blocked_until": until if until and until > self.clock.now() else None,
                "downloads_today": used, "per_file_per_day": self.per_file_per_day}

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
            self._blocked_until.clear()
