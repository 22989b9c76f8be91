"""get-url: choose the account, reserve its bytes and record the download event, atomically."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fileserver.downloader import metrics
from fileserver.downloader.db import Database
from fileserver.downloader.repository import DownloadRepository
from fileserver.downloader.validation import ident
from fileserver.errors import Conflict, NotFound, ServiceUnavailable


def utc_now() -> datetime:
    return datetime.now(UTC)


def seconds_to_midnight(now: datetime) -> int:
    """Seconds until the next UTC midnight, when every daily quota starts again."""
    tomorrow = (now + timedelta(days=1)).date()
    midnight = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC)
    return max(1, int((midnight - now).total_seconds() + 0.999))


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def file_not_found(file_id: str) -> NotFound:
    return NotFound(f"file {file_id} does not exist")


def no_ready_replica(file_id: str) -> Conflict:
    return Conflict(f"file {file_id} has no ready replica yet", details={"status": "replicating"})


def every_holder_full(now: datetime) -> ServiceUnavailable:
    retry = seconds_to_midnight(now)
    return ServiceUnavailable("every account holding this file reached its daily limit",
                              details={"retry_after_seconds": retry},
                              headers={"Retry-After": str(retry)})


class DownloadService:
    def __init__(self, db: Database, on_event: Callable[[], None] = lambda: None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.db = db
        self.on_event = on_event  # wakes the outbox relay
        self.clock = clock

    def get_url(self, file_id: Any) -> dict[str, Any]:
        """Choose the account (``balancer.preference``, run inside PostgreSQL by
        ``fs_get_url``), reserve its bytes and queue the download event, in one transaction."""
        file_id = ident(file_id, "id")
        now = self.clock()
        event_id = uuid.uuid4().hex
        args = (self.db, file_id, now.date(), event_id, iso_z(now))
        found = DownloadRepository.get_url(*args)
        if found["outcome"] == "missing_usage":  # first download of the day on these accounts
            DownloadRepository.ensure_usage_rows(self.db, found["missing"], now.date())
            found = DownloadRepository.get_url(*args)
        if found["outcome"] == "not_found":
            raise file_not_found(file_id)
        if found["outcome"] == "no_replica":
            raise no_ready_replica(file_id)
        if found["outcome"] != "ok":  # "full" (or usage rows that keep vanishing)
            raise every_holder_full(now)
        size = int(found["size"])
        self._observe(found["account_id"], size, int(found["bytes_today"]),
                      int(found["daily_limit_bytes"]))
        self.on_event()
        return {"url": found["url"], "file_id": file_id, "account_id": found["account_id"],
                "name": found["name"], "size": size, "event_id": event_id}

    @staticmethod
    def _observe(account_id: str, size: int, total: int, limit: int) -> None:
        metrics.DOWNLOAD_URLS.labels(account_id).inc()
        metrics.BYTES_HANDED_OUT.labels(account_id).inc(size)
        if limit > 0:
            metrics.DAILY_LIMIT_SHARE.labels(account_id).set(total / limit)
