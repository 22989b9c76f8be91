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
    """Plays account-stats and stats-ingest like the real one: stores a batch of increments
    all or nothing, refusing it whole (naming the ids) if an event was stored before or is
    of a day before ``horizon``; adds today's account bytes to the rows."""

    def __init__(self, rows: list[dict[str, Any]], horizon: str = "1970-01-01") -> None:
        self.rows = rows
        self.horizon = horizon
        self.payloads: list[dict[str, Any]] = []
        self.seen: set[str] = set()
        self.fail_rows = False

    def account_rows(self) -> list[dict[str, Any]]:
        if self.fail_rows:
            raise UpstreamError("account-stats answered 503")
        return self.rows

    def ingest(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.payloads.append(payload)
        days = {e: d["day"] for f in payload.get("increments", {}).get("files", [])
                for d in f["days"] for e in d["event_ids"]}
        expired = sorted(e for e, day in days.items() if day < self.horizon)
        known = [] if expired else sorted(set(days) & self.seen)
        if expired or known:
            return {"applied": 0, "duplicates": len(known), "expired": len(expired),
                    "refused": {"duplicates": known, "expired": expired}}
        self.seen.update(days)
        for account in payload.get("increments", {}).get("accounts", []):
            for row in self.rows:
                if row["account_id"] == account["account_id"]:
                    row["bytes_today"] += sum(d["bytes"] for d in account["days"]
                                              if d["day"] == "2026-11-25")
        return {"applied": len(days), "duplicates": 0, "expired": 0}


def sent_ids(payload: dict[str, Any]) -> list[str]:
    """The event ids a stats-ingest payload covers (none for a summary)."""
    files = payload.get("increments", {}).get("files", [])
    return sorted(e for f in files for d in f["days"] for e in d["event_ids"])


def service(downloader: FakeDownloader) -> StatsService:
    return StatsService(downloader, CapacityTarget(1_000_000, 500, 100 * GB), clock=lambda: NOW)


def ev(event_id: str, size: int, at: str, account: str = "a1") -> dict[str, Any]:
    return {"event_id": event_id, "file_id": "f1", "account_id": account, "bytes": size, "at": at}


def test_a_batch_with_duplicates_is_sent_as_increments_per_file_account_and_day():
    fake = FakeDownloader([{"account_id": "a1", "bytes_today": 0, "daily_limit_bytes": 10 * GB}])
    answer = service(fake).compute([
        ev("e1", 5 * GB, "2026-11-25T00:00:10Z"),
        ev("e0", 7, "2026-11-24T23:59:59Z"),  # arrives after midnight, counts on the 24th
        ev("e1", 5 * GB, "2026-11-25T00:00:10Z"),  # a duplicate: counted once
        ev("e9", 1, "2026-11-25T00:00:11Z", account="deleted-account"),
    ])
    sent, refreshed = fake.payloads
    assert sent == {"increments": {
        "files": [{"file_id": "f1", "downloads": 3, "bytes": 5 * GB + 8, "days": [
            {"day": "2026-11-24", "downloads": 1, "bytes": 7, "event_ids": ["e0"]},
            {"day": "2026-11-25", "downloads": 2, "bytes": 5 * GB + 1,
             "event_ids": ["e1", "e9"]}]}],
        "accounts": [
            {"account_id": "a1", "downloads": 2, "bytes": 5 * GB + 7, "days": [
                {"day": "2026-11-24", "downloads": 1, "bytes": 7, "event_ids": ["e0"]},
                {"day": "2026-11-25", "downloads": 1, "bytes": 5 * GB, "event_ids": ["e1"]}]},
            {"account_id": "deleted-account", "downloads": 1, "bytes": 1, "days": [
                {"day": "2026-11-25", "downloads": 1, "bytes": 1, "event_ids": ["e9"]}]}]}}
    assert answer["received"] == 4 and answer["duplicates_in_batch"] == 1
    assert answer["applied"] == 3 and answer["increments"] == {"files": 1, "accounts": 2}
    # The summary is computed from the rows read after the increments were stored: only
    # today's bytes of known accounts count toward today's share.
    assert refreshed == {"summary": answer["summary"]}
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
    assert [list(p) for p in fake.payloads] == [["increments"], ["summary"]] * 2


def test_a_partly_known_batch_is_resent_without_the_refused_events():
    fake = FakeDownloader([{"account_id": "a1", "bytes_today": 0, "daily_limit_bytes": 100}],
                          horizon="2026-11-24")
    svc = service(fake)
    svc.compute([ev("e1", 10, "2026-11-25T00:00:01Z")])
    answer = svc.compute([ev("e1", 10, "2026-11-25T00:00:01Z"),  # stored before
                          ev("old", 5, "2026-11-20T10:00:00Z"),  # before the horizon
                          ev("e2", 20, "2026-11-25T00:00:02Z")])
    # Refused for the expired event, then for the duplicate; stored with e2 alone.
    assert [sent_ids(p) for p in fake.payloads[2:]] == [
        ["e1", "e2", "old"], ["e1", "e2"], ["e2"], []]
    assert (answer["applied"], answer["duplicates_at_ingest"], answer["expired_at_ingest"]) == (
        1, 1, 1)
    assert fake.rows[0]["bytes_today"] == 30  # e1 and e2, each once


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
    assert [list(p) for p in fake.payloads] == [["increments"]]  # no summary sent


def test_an_unreachable_ingest_is_an_upstream_error():
    fake = FakeDownloader([])

    def down(payload: dict[str, Any]) -> dict[str, Any]:
        raise UpstreamError("stats-ingest answered 503")

    fake.ingest = down  # type: ignore[method-assign]
    with pytest.raises(UpstreamError):
        service(fake).compute([ev("e1", 1, "2026-11-25T00:00:01Z")])
