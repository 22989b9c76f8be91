"""StatsService with a fake Downloader: what it sends to stats-ingest and what it answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from fileserver.errors import BadRequest, UpstreamError
from fileserver.stats.compute import CapacityTarget
from fileserver.stats.service import StatsService

GB = 10**9
NOW = datetime(2026, 11, 25, 0, 0, 30, tzinfo=UTC)


class FakeDownloader:
    """Plays account-stats and stats-ingest like the real one: keeps event ids across batches
    and adds fresh events of known accounts to their bytes today."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.payloads: list[dict[str, Any]] = []
        self.seen: set[str] = set()
        self.fail_rows = False

    def account_rows(self) -> list[dict[str, Any]]:
        if self.fail_rows:
            raise UpstreamError("account-stats answered 503")
        return self.rows

    def ingest(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.payloads.append(payload)
        fresh = [e for e in payload["events"] if e["event_id"] not in self.seen]
        self.seen.update(e["event_id"] for e in fresh)
        for event in fresh:
            for row in self.rows:
                if row["account_id"] == event["account_id"] and event["day"] == "2026-11-25":
                    row["bytes_today"] += event["bytes"]
        return {"applied": len(fresh), "duplicates": len(payload["events"]) - len(fresh)}


def service(downloader: FakeDownloader) -> StatsService:
    return StatsService(downloader, CapacityTarget(1_000_000, 500, 100 * GB), clock=lambda: NOW)


def ev(event_id: str, size: int, at: str, account: str = "a1") -> dict[str, Any]:
    return {"event_id": event_id, "file_id": "f1", "account_id": account, "bytes": size, "at": at}


def test_a_batch_is_normalized_deduplicated_and_summarized():
    fake = FakeDownloader([{"account_id": "a1", "bytes_today": 0, "daily_limit_bytes": 10 * GB}])
    answer = service(fake).compute([
        ev("e1", 5 * GB, "2026-11-25T00:00:10Z"),
        ev("e0", 7, "2026-11-24T23:59:59Z"),  # arrives after midnight, counts on the 24th
        ev("e1", 5 * GB, "2026-11-25T00:00:10Z"),
        ev("e9", 1, "2026-11-25T00:00:11Z", account="deleted-account"),
    ])
    sent, refreshed = fake.payloads
    assert [(e["event_id"], e["day"]) for e in sent["events"]] == [
        ("e1", "2026-11-25"), ("e0", "2026-11-24"), ("e9", "2026-11-25")]
    assert answer["received"] == 4 and answer["duplicates_in_batch"] == 1
    assert answer["applied"] == 3
    # The summary is computed from the rows read after the events were stored: only today's
    # bytes of known accounts count toward today's share.
    assert refreshed["events"] == [] and refreshed["summary"] == answer["summary"]
    assert answer["summary"]["share_of_limit"] == {"a1": 0.5}
    assert answer["summary"]["computed_at"] == "2026-11-25T00:00:30.000Z"


def test_the_summary_counts_every_batch_stored_before_it_and_resends_once():
    """Batches computed at the same time (or a resent batch) must not leave a summary that
    misses some of them or counts an event twice."""
    fake = FakeDownloader([{"account_id": "a1", "bytes_today": 0, "daily_limit_bytes": 100},
                           {"account_id": "a2", "bytes_today": 0, "daily_limit_bytes": 100}])
    svc = service(fake)
    first = [ev("e1", 10, "2026-11-25T00:00:10Z"), ev("e2", 20, "2026-11-25T00:00:11Z", "a2")]
    svc.compute(first)
    last = svc.compute([ev("e3", 30, "2026-11-25T00:00:12Z"), *first])  # e1, e2 resent
    assert last["summary"]["share_of_limit"] == {"a1": 0.4, "a2": 0.2}
    assert last["summary"]["balance"]["bytes_today_max"] == 40


def test_a_redelivered_batch_reports_the_downloaders_duplicates():
    fake = FakeDownloader([])
    svc = service(fake)
    batch = [ev("e1", 1, "2026-11-25T00:00:01Z"), ev("e2", 1, "2026-11-25T00:00:02Z")]
    svc.compute(batch)
    again = svc.compute(batch)
    assert again["applied"] == 0 and again["duplicates_at_ingest"] == 2


def test_invalid_input_sends_nothing():
    fake = FakeDownloader([])
    with pytest.raises(BadRequest):
        service(fake).compute([ev("e1", -1, "2026-11-25T00:00:01Z")])
    assert fake.payloads == []


def test_an_unreachable_account_report_leaves_the_events_stored_and_the_summary_stale():
    fake = FakeDownloader([])
    fake.fail_rows = True
    answer = service(fake).compute([ev("e1", 1, "2026-11-25T00:00:01Z")])
    assert answer["applied"] == 1 and answer["summary"] is None
    assert [p["events"][0]["event_id"] for p in fake.payloads] == ["e1"]  # no summary sent


def test_an_unreachable_ingest_is_an_upstream_error():
    fake = FakeDownloader([])

    def down(payload: dict[str, Any]) -> dict[str, Any]:
        raise UpstreamError("stats-ingest answered 503")

    fake.ingest = down  # type: ignore[method-assign]
    with pytest.raises(UpstreamError):
        service(fake).compute([ev("e1", 1, "2026-11-25T00:00:01Z")])
