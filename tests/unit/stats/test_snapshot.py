"""The account snapshot is re-read only when older than max_age."""

from __future__ import annotations

from typing import Any

from fileserver.stats.snapshot import CachingDownloader


class FakeDownloader:
    def __init__(self) -> None:
        self.reads = 0
        self.ingested: list[dict[str, Any]] = []

    def account_rows(self) -> list[dict[str, Any]]:
        self.reads += 1
        return [{"account_id": "a", "bytes_today": self.reads}]

    def ingest(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.ingested.append(payload)
        return {"applied": 1, "duplicates": 0}


def test_rows_are_reused_until_they_are_max_age_old():
    now = [100.0]
    fake = FakeDownloader()
    cached = CachingDownloader(fake, 1.0, clock=lambda: now[0])
    assert cached.account_rows()[0]["bytes_today"] == 1
    now[0] = 100.9
    assert cached.account_rows()[0]["bytes_today"] == 1
    now[0] = 101.0
    assert cached.account_rows()[0]["bytes_today"] == 2
    assert fake.reads == 2


def test_max_age_zero_reads_every_time_and_ingest_passes_through():
    fake = FakeDownloader()
    cached = CachingDownloader(fake, 0.0)
    cached.account_rows()
    cached.account_rows()
    assert fake.reads == 2
    assert cached.ingest({"events": []}) == {"applied": 1, "duplicates": 0}
    assert fake.ingested == [{"events": []}]
