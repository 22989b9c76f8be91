"""The Stats service: turn a batch of download events into what the Downloader stores."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from fileserver.errors import BadRequest
from fileserver.stats import compute, metrics


class Downloader(Protocol):
    def account_rows(self) -> list[dict[str, Any]]: ...

    def ingest(self, payload: dict[str, Any]) -> dict[str, Any]: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


class StatsService:
    """Validates, de-duplicates and buckets events, computes derived figures, hands them on.

    No storage of its own: the account snapshot comes from the Downloader and the result goes
    back to it; de-duplication across batches is the Downloader's (it keeps the event ids).
    """

    def __init__(self, downloader: Downloader, target: compute.CapacityTarget,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.downloader = downloader
        self.target = target
        self.clock = clock

    def compute(self, raw_events: Any) -> dict[str, Any]:
        try:
            events = compute.parse_batch(raw_events)
        except BadRequest:
            metrics.EVENTS_INGESTED.labels("invalid").inc(
                len(raw_events) if isinstance(raw_events, list) else 1)
            raise
        unique, dropped = compute.dedupe(events)
        metrics.EVENTS_INGESTED.labels("accepted").inc(len(unique))
        metrics.EVENTS_INGESTED.labels("duplicate").inc(dropped)
        metrics.DUPLICATES_DROPPED.inc(dropped)
        rows = self.downloader.account_rows()
        now = self.clock()
        summary = compute.summary(rows, compute.increments(unique, "account_id"), now, self.target)
        answer = self.downloader.ingest({"events": [e.to_json() for e in unique],
                                         "summary": summary})
        self._observe_ingested(unique, answer)
        return {"received": len(events), "unique": len(unique), "duplicates_in_batch": dropped,
                "applied": answer.get("applied"), "duplicates_at_ingest": answer.get("duplicates"),
                "summary": summary}

    def _observe_ingested(self, events: list[compute.DownloadEvent],
                          answer: dict[str, Any]) -> None:
        known = answer.get("duplicates")
        if isinstance(known, int) and known > 0:
            metrics.DUPLICATES_DROPPED.inc(known)
        metrics.EVENTS_COMPUTED.inc(len(events))
        done = self.clock()
        for event in events:
            metrics.LAG.observe(max((done - event.at).total_seconds(), 0.0))
