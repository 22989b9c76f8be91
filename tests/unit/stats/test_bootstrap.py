"""Stats' wiring takes the Downloader client as an argument: stats-compute runs on a fake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fileserver.runtime.serve import load_handler_app
from fileserver.stats import bootstrap
from fileserver.stats.bootstrap import Stats
from fileserver.stats.compute import CapacityTarget

ROOT = Path(__file__).resolve().parents[3]


class FakeDownloader:
    """Plays stats-ingest and account-stats; records what Stats sent."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def ingest(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.sent.append(payload)
        return {"applied": True}

    def account_rows(self) -> list[dict[str, Any]]:
        return []


@pytest.fixture()
def downloader() -> Iterator[FakeDownloader]:
    fake = FakeDownloader()
    bootstrap.PROCESS.use(Stats(fake, CapacityTarget(1000, 500, 10**11)))
    yield fake
    bootstrap.PROCESS.clear()


def test_stats_compute_sends_the_increments_to_the_fake_downloader(downloader):
    client = load_handler_app(ROOT / "functions" / "stats-compute").test_client()
    event = {"event_id": "e1", "file_id": "f1", "account_id": "a1", "bytes": 10,
             "at": "2026-12-01T10:00:00.000Z"}
    answer = client.post("/", json={"events": [event, event]})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["unique"] == 1
    increments = [p["increments"] for p in downloader.sent if "increments" in p]
    assert len(increments) == 1 and increments[0]  # one batch, computed by Stats
