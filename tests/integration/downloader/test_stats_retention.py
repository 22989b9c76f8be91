"""stats_events is bounded: ids older than the retention are forgotten, their late
duplicates are refused as expired (never counted twice), and an event still in the outbox
is never refused. Against a real PostgreSQL."""

from __future__ import annotations

import random
import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from fileserver.downloader.db import Database
from fileserver.downloader.reports import ReportService
from fileserver.downloader.repository import OutboxRepository
from fileserver.downloader.service import DownloadService
from fileserver.downloader.stats_repository import StatsRepository
from tests.integration.downloader.test_repository_and_service import seed

NOW = datetime(2026, 11, 25, 23, 0, 0, tzinfo=UTC)
TODAY = NOW.date()


def event(event_id: str, day: date, nbytes: int = 10) -> dict:
    return {"event_id": event_id, "file_id": "f1", "account_id": "acc0", "bytes": nbytes,
            "day": day.isoformat(), "at": f"{day.isoformat()}T10:00:00Z"}


def kept_ids(db: Database) -> set[str]:
    return {row["event_id"] for row in db.run("SELECT event_id FROM stats_events")}


def totals(db: Database) -> tuple[int, int]:
    found = db.run("SELECT downloads, bytes_total FROM file_totals WHERE file_id = 'f1'")
    return (int(found[0]["downloads"]), int(found[0]["bytes_total"])) if found else (0, 0)


def test_old_ids_are_forgotten_and_their_late_duplicates_expire(db: Database) -> None:
    reports = ReportService(StatsRepository(db), clock=lambda: NOW, retention_days=7)
    old, recent = event("old", TODAY - timedelta(days=15)), event("new", TODAY - timedelta(days=2))
    # The first ingest of a process counts both, then prunes: the horizon is today - 7 days.
    assert reports.ingest({"events": [old, recent]}) == {"applied": 2, "duplicates": 0,
                                                          "expired": 0}
    assert StatsRepository(db).horizon()[0] == TODAY - timedelta(days=7)
    assert kept_ids(db) == {"new"}
    # A redelivered copy of each, weeks later: the old one expires, the recent one is a
    # duplicate; neither is counted again.
    assert reports.ingest({"events": [old, recent]}) == {"applied": 0, "duplicates": 1,
                                                          "expired": 1}
    assert totals(db) == (2, 20)
    day = db.run("SELECT downloads FROM file_daily WHERE file_id = 'f1' AND day = :d",
                 d=TODAY - timedelta(days=15))
    assert day[0]["downloads"] == 1


def test_the_horizon_never_passes_an_event_still_in_the_outbox(db: Database) -> None:
    seed(db, 1, {"f1": 10})
    three_weeks_ago = NOW - timedelta(days=21)
    # A URL handed out three weeks ago whose event never reached Stats (queue down since).
    waiting = DownloadService(db, clock=lambda: three_weeks_ago).get_url("f1")["event_id"]
    stats = StatsRepository(db)
    horizon, _deleted = stats.prune_events(TODAY - timedelta(days=7))
    assert horizon == three_weeks_ago.date()
    applied, expired = stats.ingest([event(waiting, three_weeks_ago.date())], None, None)
    assert (applied, expired) == (1, 0)
    # Once it is ingested and its outbox row purged, the horizon moves on.
    assert OutboxRepository(db).purge_ingested() == 1
    assert stats.prune_events(TODAY - timedelta(days=7)) == (TODAY - timedelta(days=7), 1)
    assert stats.ingest([event(waiting, three_weeks_ago.date())], None, None) == (0, 1)
    assert totals(db) == (1, 10)


def test_the_horizon_never_moves_backwards(db: Database) -> None:
    stats = StatsRepository(db)
    assert stats.prune_events(TODAY - timedelta(days=3))[0] == TODAY - timedelta(days=3)
    assert stats.prune_events(TODAY - timedelta(days=30))[0] == TODAY - timedelta(days=3)
    assert stats.horizon()[0] == TODAY - timedelta(days=3)


def test_ingest_prunes_at_most_once_per_interval(db: Database) -> None:
    moment = [NOW]
    reports = ReportService(StatsRepository(db), clock=lambda: moment[0], retention_days=1,
                            prune_every=3600)
    reports.ingest({"events": [event("a", TODAY - timedelta(days=1))]})
    moment[0] = NOW + timedelta(days=5)  # the clock moves on, but no prune is due yet
    reports.ingest({"events": [event("b", TODAY)]})
    assert kept_ids(db) == {"a", "b"}
    reports.prune_every = 0
    reports.ingest({"events": []})
    assert kept_ids(db) == set()
    with pytest.raises(ValueError):
        ReportService(StatsRepository(db), retention_days=0)


def test_duplicates_racing_with_prunes_are_never_counted_twice(db: Database) -> None:
    """Redelivered events arrive while the horizon moves day by day over them: each event
    counts exactly once (ingest reads the horizon FOR SHARE, the prune updates it first)."""
    start = TODAY - timedelta(days=60)
    events = [event(f"e{day:02d}-{n}", start + timedelta(days=day), nbytes=1)
              for day in range(60) for n in range(40)]
    stats = StatsRepository(db)
    assert stats.ingest(events, None, None) == (len(events), 0)
    stop = threading.Event()
    errors: list[BaseException] = []

    def redeliver(seed_: int) -> None:
        rng = random.Random(seed_)
        try:
            while not stop.is_set():
                stats.ingest(rng.sample(events, 400), None, None)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    workers = [threading.Thread(target=redeliver, args=(n,)) for n in range(6)]
    for worker in workers:
        worker.start()
    try:
        for day in range(1, 61):
            stats.prune_events(start + timedelta(days=day), batch=7)  # several batches a day
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert not errors
    assert totals(db) == (len(events), len(events))
    assert kept_ids(db) == set()
