"""The Stats service: turn a batch of download events into what the Downloader stores."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from fileserver.errors import BadRequest, UpstreamError
from fileserver.stats import compute, metrics

log = logging.getLogger("fileserver.stats")


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
        answer = self.downloader.ingest({"events": [e.to_json() for e in unique]})
        self._observe_ingested(unique, answer)
        summary = self._summary_after_ingest()
        return {"received": len(events), "unique": len(unique), "duplicates_in_batch": dropped,
                "applied": answer.get("applied"), "duplicates_at_ingest": answer.get("duplicates"),
                "expired_at_ingest": answer.get("expired"),
                "summary": summary}

    def _summary_after_ingest(self) -> dict[str, Any] | None:
        """The derived figures from the Downloader's rows read *after* this batch was stored.

        Batches are computed concurrently; a summary built from a snapshot read before the
        ingest plus the batch's own increments would miss the other batches (and count a
        resent event twice). The clock is read before the snapshot, and the Downloader keeps
        the summary with the latest ``computed_at``: any ingest the snapshot missed finished
        after that moment, so its own batch's summary is newer and wins.
        """
        now = self.clock()
        try:
            summary = compute.summary(self.downloader.account_rows(), {}, now, self.target)
            self.downloader.ingest({"events": [], "summary": summary})
        except UpstreamError as exc:  # the events are stored; the next batch refreshes it
            log.warning("summary not refreshed: %s", exc)
            return None
        return summary

    def _observe_ingested(self, events: list[compute.DownloadEvent],
                          answer: dict[str, Any]) -> None:
        known = answer.get("duplicates")
        if isinstance(known, int) and known > 0:
            metrics.DUPLICATES_DROPPED.inc(known)
        metrics.EVENTS_COMPUTED.inc(len(events))
        done = self.clock()
        for event in events:
            metrics.LAG.observe(max((done - event.at).total_seconds(), 0.0))
