"""get-url: choose the account, reserve its bytes and record the download event, atomically
(for a limited client: after its token bucket and de-duplication window, same call)."""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fileserver.contracts.timestamps import format_utc
from fileserver.downloader import metrics
from fileserver.downloader.db import Database
from fileserver.downloader.limits import ClientLimits
from fileserver.downloader.repository import DownloadRepository
from fileserver.downloader.validation import ident
from fileserver.errors import Conflict, NotFound, ServiceUnavailable, TooManyRequests


def utc_now() -> datetime:
    return datetime.now(UTC)


def seconds_to_midnight(now: datetime) -> int:
    """Seconds until the next UTC midnight, when every daily quota starts again."""
    tomorrow = (now + timedelta(days=1)).date()
    midnight = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC)
    return max(1, int((midnight - now).total_seconds() + 0.999))


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
                 clock: Callable[[], datetime] = utc_now,
                 limits: ClientLimits | None = None, prune_every: float = 60.0) -> None:
        self.db = db
        self.on_event = on_event  # wakes the outbox relay
        self.clock = clock
        self.limits = limits or ClientLimits(rate_per_minute=0, dedup_seconds=0)
        self.pruner = Every(prune_every)

    def get_url(self, file_id: Any, client: str | None = None) -> dict[str, Any]:
        """Choose the account (the balancing policy, run inside PostgreSQL by ``fs_get_url``;
        its Python reference is ``tests/support/balancer_reference.py``), reserve its bytes
        and queue the download event, in one transaction.

        With ``client`` (the key from ``ClientLimits.client``) the same transaction first
        takes a token from the client's bucket (429 without one) and answers a repeat of the
        same file within the de-duplication window with the same account and link, booking
        nothing (``fs_get_url_client``)."""
        file_id = ident(file_id, "id")
        now = self.clock()
        event_id = uuid.uuid4().hex
        found = self._book(file_id, now, event_id, client)
        if found["outcome"] == "missing_usage":  # first download of the day on these accounts
            DownloadRepository.ensure_usage_rows(self.db, found["missing"], now.date())
            found = self._book(file_id, now, event_id, client)
        self._raise_for(found, file_id, now)
        size = int(found["size"])
        answer = {"url": found["url"], "file_id": file_id, "account_id": found["account_id"],
                  "name": found["name"], "size": size,
                  "event_id": found.get("event_id") or event_id}
        if found["outcome"] == "repeated":
            metrics.CLIENT_LIMITED.labels("repeated").inc()
            return {**answer, "repeated": True}
        self._observe(found["account_id"], size, int(found["bytes_today"]),
                      int(found["daily_limit_bytes"]))
        self.on_event()
        return {**answer, "repeated": False}

    def _book(self, file_id: str, now: datetime, event_id: str,
              client: str | None) -> dict[str, Any]:
        if client is None or not self.limits.enabled:
            return DownloadRepository.get_url(self.db, file_id, now.date(), event_id,
                                              format_utc(now))
        if self.pruner.due():
            DownloadRepository.prune_client_state(self.db, now)
        limits = self.limits
        return DownloadRepository.get_url_for_client(
            self.db, file_id, now.date(), event_id, format_utc(now), client, now,
            limits.rate_per_second, float(limits.burst), limits.dedup_seconds)

    @staticmethod
    def _raise_for(found: dict[str, Any], file_id: str, now: datetime) -> None:
        """The error for every outcome that hands out no link."""
        outcome = found["outcome"]
        if outcome in ("ok", "repeated"):
            return
        if outcome == "limited":
            metrics.CLIENT_LIMITED.labels("limited").inc()
            retry = max(1, math.ceil(float(found["retry_after"])))
            raise TooManyRequests("too many download requests from this client",
                                  details={"retry_after_seconds": retry},
                                  headers={"Retry-After": str(retry)})
        if outcome == "not_found":
            raise file_not_found(file_id)
        if outcome == "no_replica":
            raise no_ready_replica(file_id)
        raise every_holder_full(now)  # "full" (or usage rows that keep vanishing)

    @staticmethod
    def _observe(account_id: str, size: int, total: int, limit: int) -> None:
        metrics.DOWNLOAD_URLS.labels(account_id).inc()
        metrics.BYTES_HANDED_OUT.labels(account_id).inc(size)
        if limit > 0:
            metrics.DAILY_LIMIT_SHARE.labels(account_id).set(total / limit)


class Every:
    """True from ``due()`` at most once per ``seconds`` in this process (thread-safe)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.next = 0.0
        self.lock = threading.Lock()

    def due(self) -> bool:
        now = time.monotonic()
        with self.lock:
            if now < self.next:
                return False
            self.next = now + self.seconds
            return True
