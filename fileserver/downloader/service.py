"""get-url: choose the account, reserve its bytes and record the download event, atomically."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fileserver.downloader import metrics
from fileserver.downloader.balancer import Holder, preference
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


class DownloadService:
    def __init__(self, db: Database, on_event: Callable[[], None] = lambda: None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.db = db
        self.on_event = on_event  # wakes the outbox relay
        self.clock = clock

    def get_url(self, file_id: Any) -> dict[str, Any]:
        file_id = ident(file_id, "id")
        now = self.clock()
        with self.db.hot_transaction(DownloadRepository.STATEMENTS) as conn:
            found = DownloadRepository.open_file(conn, file_id, now.date())
            if not found:
                raise NotFound(f"file {file_id} does not exist")
            holders = self._holders(found, now)
            if not holders:
                raise Conflict(f"file {file_id} has no ready replica yet",
                               details={"status": "replicating"})
            size = int(found[0]["size"])
            event = {"event_id": uuid.uuid4().hex, "file_id": file_id, "account_id": "",
                     "bytes": size, "at": iso_z(now)}
            chosen, total = self._reserve(conn, holders, found[0]["last_account_id"] or None,
                                          event, now)
        self._observe(chosen, size, total)
        self.on_event()
        return {"url": chosen.url, "file_id": file_id, "account_id": chosen.account_id,
                "name": found[0]["name"], "size": size, "event_id": event["event_id"]}

    def _holders(self, found: list[dict[str, Any]], now: datetime) -> list[Holder]:
        live = [row for row in found if row["account_id"] is not None]
        missing = [row["account_id"] for row in live if not row["has_usage_row"]]
        if missing:  # first download of the day on these accounts
            DownloadRepository.ensure_usage_rows(self.db, missing, now.date())
        return [Holder(row["account_id"], row["url"], int(row["daily_limit_bytes"]),
                       int(row["bytes_today"])) for row in live]

    @staticmethod
    def _reserve(conn: Any, holders: list[Holder], last: str | None, event: dict[str, Any],
                 now: datetime) -> tuple[Holder, int]:
        """Reserve on the first preferred holder whose quota still takes the file's bytes."""
        for holder in preference(holders, last, event["bytes"]):
            event["account_id"] = holder.account_id
            total = DownloadRepository.reserve(conn, holder.account_id, now.date(),
                                               event["bytes"], holder.daily_limit_bytes, event)
            if total is not None:
                return holder, total
        retry = seconds_to_midnight(now)
        raise ServiceUnavailable("every account holding this file reached its daily limit",
                                 details={"retry_after_seconds": retry},
                                 headers={"Retry-After": str(retry)})

    @staticmethod
    def _observe(holder: Holder, size: int, total: int) -> None:
        metrics.DOWNLOAD_URLS.labels(holder.account_id).inc()
        metrics.BYTES_HANDED_OUT.labels(holder.account_id).inc(size)
        if holder.daily_limit_bytes > 0:
            share = total / holder.daily_limit_bytes
            metrics.DAILY_LIMIT_SHARE.labels(holder.account_id).set(share)
