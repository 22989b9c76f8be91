"""The Stats service: turn a batch of download events into the increments the Downloader
stores, then refresh the derived figures."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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


@dataclass
class Stored:
    """What stats-ingest finally stored of a batch, and what it refused on the way."""

    events: list[compute.DownloadEvent]
    increments: dict[str, list[dict[str, Any]]]
    duplicates: int = 0
    expired: int = 0


class StatsService:
    """Validates and de-duplicates events, computes their increments, has them stored.

    No storage of its own: stats-ingest stores a batch's increments all or nothing, and
    refuses the whole batch, naming the ids, if any of its events was stored before
    (duplicate) or is older than its retention horizon (expired); this service then drops
    those events, recomputes and sends again. The derived figures are computed from the
    account rows read back through ``account-stats`` and stored with a second call.
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
        stored = self.store(unique)
        self._observe_stored(stored)
        summary = self._summary_after_ingest()
        return {"received": len(events), "unique": len(unique), "duplicates_in_batch": dropped,
                "applied": len(stored.events), "duplicates_at_ingest": stored.duplicates,
                "expired_at_ingest": stored.expired,
                "increments": {k: len(v) for k, v in stored.increments.items()},
                "summary": summary}

    def store(self, events: Sequence[compute.DownloadEvent]) -> Stored:
        """Send the increments of ``events``; on a refusal drop the ids it names, resend.

        Every refusal drops at least one event (or this raises), so this ends; it takes more
        than two rounds only while other batches with the same events are being stored.
        """
        result = Stored(list(events), compute.batch_increments(events))
        while result.events:
            answer = self.downloader.ingest({"increments": result.increments})
            refused = answer.get("refused")
            if not refused:
                return result
            sent = {e.event_id for e in result.events}
            duplicates = _refused_ids(refused, "duplicates") & sent
            expired = (_refused_ids(refused, "expired") & sent) - duplicates
            if not duplicates and not expired:
                raise UpstreamError("stats-ingest refused the batch without naming its events")
            remaining = [e for e in result.events
                         if e.event_id not in duplicates and e.event_id not in expired]
            result = Stored(remaining, compute.batch_increments(remaining),
                            result.duplicates + len(duplicates), result.expired + len(expired))
        return result

    def _summary_after_ingest(self) -> dict[str, Any] | None:
        """The derived figures from the Downloader's rows read *after* this batch was stored.

        Batches are computed concurrently; a summary built from a snapshot read before the
        ingest plus the batch's own increments would miss the batches stored in between. The
        clock is read before the snapshot, and the Downloader keeps the summary with the
        latest ``computed_at``: any ingest the snapshot missed finished after that moment, so
        its own batch's summary is newer and wins.
        """
        now = self.clock()
        try:
            summary = compute.summary(self.downloader.account_rows(), now, self.target)
            self.downloader.ingest({"summary": summary})
        except UpstreamError as exc:  # the increments are stored; the next batch refreshes it
            log.warning("summary not refreshed: %s", exc)
            return None
        return summary

    def _observe_stored(self, stored: Stored) -> None:
        metrics.DUPLICATES_DROPPED.inc(stored.duplicates)
        metrics.EVENTS_COMPUTED.inc(len(stored.events))
        done = self.clock()
        for event in stored.events:
            metrics.LAG.observe(max((done - event.at).total_seconds(), 0.0))


def _refused_ids(refused: Any, kind: str) -> set[str]:
    """The ids stats-ingest named under ``refused[kind]`` (a list of strings)."""
    ids = refused.get(kind, []) if isinstance(refused, dict) else []
    if not isinstance(ids, list):
        raise UpstreamError(f"stats-ingest answered refused.{kind} that is not a list")
    return {i for i in ids if isinstance(i, str)}
