"""Reports and stats ingest: precomputed rows in and out (never aggregated at read time)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fileserver.contracts.timestamps import format_utc
from fileserver.downloader import metrics
from fileserver.downloader import validation as v
from fileserver.downloader.health import HealthService
from fileserver.downloader.increments import parse_increments
from fileserver.downloader.service import utc_now
from fileserver.downloader.stats_repository import StatsRepository
from fileserver.errors import BadRequest, NotFound

log = logging.getLogger("fileserver.downloader.reports")
MB = 1_000_000
FILE_SORTS = {"file_id", "name", "downloads", "bytes_today", "bytes_total"}
ACCOUNT_SORTS = {"account_id", "email", "downloads", "bytes_today", "bytes_total",
                 "daily_limit_bytes", "share_of_limit_today", "state", "storage_free_bytes"}


def sort_args(sort: str | None, order: str | None, allowed: set[str],
              default: str) -> tuple[str, str]:
    """Whitelisted sort column and direction (they are written into SQL, so never raw input)."""
    sort = sort or default
    if sort not in allowed:
        raise BadRequest(f"sort must be one of {', '.join(sorted(allowed))}")
    order = (order or "desc").lower()
    if order not in ("asc", "desc"):
        raise BadRequest("order must be asc or desc")
    return sort, order.upper()


def with_mb(row: dict[str, Any]) -> dict[str, Any]:
    row["mb_today"] = round(row["bytes_today"] / MB, 6)
    row["mb_total"] = round(row["bytes_total"] / MB, 6)
    return row


def page(items: list[dict[str, Any]], total: int, limit: int, offset: int) -> dict[str, Any]:
    return {"items": [with_mb(r) for r in items], "total": total, "limit": limit, "offset": offset}


class ReportService:
    """Reports out of precomputed rows, and the ingest that keeps them.

    ``retention_days``: how long an ingested event id is kept to recognise a duplicate of it
    (see ``StatsRepository.prune_events``); ingest prunes at most every ``prune_every`` s.
    """

    def __init__(self, stats: StatsRepository, clock: Callable[[], datetime] = utc_now,
                 retention_days: int = 7, prune_every: float = 3600.0,
                 health: HealthService | None = None) -> None:
        if retention_days < 1:
            raise ValueError("retention_days must be at least 1")
        self.stats = stats
        self.health = health  # adds blocked/missing replicas and healthy capacity
        self.clock = clock
        self.retention = timedelta(days=retention_days)
        self.prune_every = prune_every
        self._last_prune = float("-inf")  # monotonic time; the first ingest of a process prunes
        self._prune_lock = threading.Lock()

    def ingest(self, body: dict[str, Any]) -> dict[str, Any]:
        """Store Stats' ``increments`` and ``summary`` (both optional) as they come, all or
        nothing: a batch naming an event already stored, or of a day before the horizon, is
        refused whole, with those ids in ``refused`` (Stats drops them and sends again)."""
        unknown = sorted(set(body) - {"increments", "summary"})
        if unknown:  # e.g. the raw events of an older stats-compute: never drop them silently
            raise BadRequest(f"unknown field(s) {', '.join(unknown)[:200]}: stats-ingest takes "
                             "increments and summary")
        batch = parse_increments(body.get("increments"))
        summary, computed_at = self._summary(body.get("summary"))
        verdict = self.stats.ingest(batch, computed_at, summary)
        metrics.EVENTS_INGESTED.labels("applied").inc(verdict.applied)
        metrics.EVENTS_INGESTED.labels("duplicate").inc(len(verdict.duplicates))
        metrics.EVENTS_INGESTED.labels("expired").inc(len(verdict.expired))
        self.prune_if_due()
        answer: dict[str, Any] = {"applied": verdict.applied,
                                  "duplicates": len(verdict.duplicates),
                                  "expired": len(verdict.expired)}
        if not verdict.stored:
            answer["refused"] = {"duplicates": verdict.duplicates, "expired": verdict.expired}
        return answer

    def prune_if_due(self) -> None:
        """Forget event ids older than the retention, at most once per ``prune_every`` s."""
        now = time.monotonic()
        if now - self._last_prune < self.prune_every or not self._prune_lock.acquire(False):
            return
        try:
            self._last_prune = now
            horizon, deleted = self.stats.prune_events(self.clock().date() - self.retention)
            metrics.EVENT_IDS_PRUNED.inc(deleted)
            if deleted:
                log.info("forgot %d event ids of days before %s", deleted, horizon)
        finally:
            self._prune_lock.release()

    @staticmethod
    def _summary(raw: Any) -> tuple[dict[str, Any] | None, datetime | None]:
        if raw is None:
            return None, None
        if not isinstance(raw, dict):
            raise BadRequest("summary must be an object")
        return raw, v.timestamp(raw.get("computed_at"), "summary.computed_at")

    def file_list(self, limit: int, offset: int, sort: str | None,
                  order: str | None) -> dict[str, Any]:
        column, direction = sort_args(sort, order, FILE_SORTS, "downloads")
        items, total = self.stats.file_rows(self.clock().date(), column, direction, limit, offset)
        return page(self._annotated(items, "file_id"), total, limit, offset)

    def account_list(self, limit: int, offset: int, sort: str | None,
                     order: str | None) -> dict[str, Any]:
        column, direction = sort_args(sort, order, ACCOUNT_SORTS, "account_id")
        day = self.clock().date()
        items, total = self.stats.account_rows(day, column, direction, limit, offset)
        return page(self._annotated(items, "account_id"), total, limit, offset)

    def file_one(self, file_id: str) -> dict[str, Any]:
        row = self.stats.file_row(self.clock().date(), v.ident(file_id, "file id"))
        if row is None:
            raise NotFound(f"file {file_id} does not exist")
        return with_mb(self._annotated([row], "file_id")[0])

    def account_one(self, account_id: str) -> dict[str, Any]:
        row = self.stats.account_row(self.clock().date(), v.ident(account_id, "account id"))
        if row is None:
            raise NotFound(f"account {account_id} does not exist")
        return with_mb(self._annotated([row], "account_id")[0])

    def _annotated(self, items: list[dict[str, Any]], column: str) -> list[dict[str, Any]]:
        return items if self.health is None else self.health.annotate(items, column)

    def summary(self) -> dict[str, Any]:
        found = self.stats.summary()
        if found is None:
            raise NotFound("no summary has been computed yet")
        horizon, pruned_at = self.stats.horizon()
        if self.health is not None:  # read now: health changes between Stats' summaries
            found = {**found, "daily_capacity": self.health.capacity()}
        return {**found, "event_ids": {
            "retention_days": self.retention.days, "horizon": horizon.isoformat(),
            "pruned_at": None if pruned_at is None else format_utc(pruned_at)}}
