"""The download redirector's service: get-url's own booking, plus the file's other holders
and its hashes (for ``Link: rel=duplicate``, ``Repr-Digest`` and Metalink).

``redirect`` books through ``DownloadService.get_url`` (the one service path get-url uses:
same transaction, same reservation, same outbox event, and whatever limits apply there), then
reads the other holders without booking. ``peek`` (HEAD) only reads, uncached: nothing is
reserved and no download event is queued.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar

from fileserver.downloader.repository import DownloadRepository
from fileserver.downloader.service import (
    DownloadService,
    every_holder_full,
    file_not_found,
    no_ready_replica,
)
from fileserver.downloader.validation import ident


@dataclass(frozen=True)
class Holder:
    account_id: str
    url: str


@dataclass(frozen=True)
class Redirect:
    """Where to send the client: ``location`` first, then ``duplicates`` in priority order."""

    file_id: str
    name: str
    size: int
    md5: str | None
    sha256: str | None
    location: Holder
    duplicates: list[Holder] = field(default_factory=list)
    event_id: str | None = None  # None: nothing was booked (HEAD)


@dataclass(frozen=True)
class HolderSet:
    """What the holders query said of one file: the holders that had room (``_fitting``, in
    its order) and the file's hashes."""

    fitting: tuple[Holder, ...]
    md5: str | None
    sha256: str | None

    @classmethod
    def of(cls, rows: list[dict[str, Any]]) -> HolderSet:
        first = rows[0] if rows else {"md5": None, "sha256": None}
        return cls(tuple(_fitting(rows)), first["md5"], first["sha256"])


T = TypeVar("T")


class HoldersCache(Generic[T]):
    """What ``load`` made of a file's holders (``RedirectService``: a ``HolderSet``), per
    file and day, for ``ttl`` seconds: the duplicates change slowly (a replica added or
    removed, an account filling up), and skipping the second round trip (and the rows' sift)
    keeps the redirector as fast as get-url. 0 disables it."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._rows: dict[tuple[str, date], tuple[float, T]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, date], load: Callable[[], T]) -> T:
        now = self.clock()
        with self._lock:
            found = self._rows.get(key)
        if found and found[0] > now:
            return found[1]
        rows = load()
        if self.ttl > 0:
            with self._lock:
                if len(self._rows) > 10_000:  # bounded: drop everything, refill on demand
                    self._rows.clear()
                self._rows[key] = (now + self.ttl, rows)
        return rows


class RedirectService:
    def __init__(self, downloads: DownloadService, cache_seconds: float = 0) -> None:
        self.downloads = downloads
        self.cache: HoldersCache[HolderSet] = HoldersCache(cache_seconds)

    def redirect(self, file_id: object, duplicates: int, client: str | None = None) -> Redirect:
        """Book one download exactly as get-url does (with the same per-client limits for
        ``client``); list up to ``duplicates`` other holders that had room today for this
        file (as of at most ``cache_seconds`` ago), least loaded first."""
        chosen = self.downloads.get_url(file_id, client)
        key = (chosen["file_id"], self.downloads.clock().date())
        known = self.cache.get(
            key, lambda: HolderSet.of(DownloadRepository.holders(self.downloads.db, *key)))
        others = [h for h in known.fitting if h.account_id != chosen["account_id"]]
        return Redirect(chosen["file_id"], chosen["name"], chosen["size"], known.md5,
                        known.sha256, Holder(chosen["account_id"], chosen["url"]),
                        others[:duplicates], chosen["event_id"])

    def peek(self, file_id: object, duplicates: int) -> Redirect:
        """What ``redirect`` would answer now (the least loaded holder first), without
        booking; the same 404, 409 and 503 as get-url."""
        file_id = ident(file_id, "id")
        now = self.downloads.clock()
        rows = DownloadRepository.holders(self.downloads.db, file_id, now.date())
        if not rows:
            raise file_not_found(file_id)
        if rows[0]["account_id"] is None:
            raise no_ready_replica(file_id)
        fitting = _fitting(rows)
        if not fitting:
            raise every_holder_full(now)
        first = rows[0]
        return Redirect(file_id, first["name"], int(first["size"]), first["md5"],
                        first["sha256"], fitting[0], fitting[1:duplicates + 1])


def _fitting(rows: list[dict]) -> list[Holder]:
    """Holders whose daily limit still takes the whole file, in the rows' order; only the
    healthy ones (replica health ok or unknown) while any holder is healthy."""
    live = [row for row in rows if row["account_id"] is not None]
    if any(row["healthy"] for row in live):
        live = [row for row in live if row["healthy"]]
    return [Holder(row["account_id"], row["url"]) for row in live
            if int(row["bytes_today"]) + int(row["size"]) <= int(row["daily_limit_bytes"])]
