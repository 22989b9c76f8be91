"""stats_events is bounded: ids older than the retention are forgotten, their late
duplicates are refused as expired (never counted twice), and an event still in the outbox
is never refused. Increments are stored all or nothing: batches redelivered or overlapping,
racing each other and the prunes, count every event exactly once. Against a real PostgreSQL,
with the increments computed and resent by the real Stats service."""

from __future__ import annotations

import random
import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from fileserver.downloader.db import Database
from fileserver.downloader.reports import ReportService
from fileserver.downloader.repository import OutboxRepository
from fileserver.downloader.service import DownloadService
from fileserver.downloader.stats_repository import Ingested, StatsRepository
from fileserver.stats.compute import CapacityTarget, parse_batch
from fileserver.stats.service import StatsService
from tests.integration.downloader.stats_payload import DirectDownloader, body, increments
from tests.integration.downloader.test_repository_and_service import seed

NOW = datetime(2026, 11, 25, 23, 0, 0, tzinfo=UTC)
TODAY = NOW.date()


def event(event_id: str, day: date, nbytes: int = 10, file_id: str = "f1",
          account_id: str = "acc0") -> dict:
    return {"event_id": event_id, "file_id": file_id, "account_id": account_id,
            "bytes": nbytes, "at": f"{day.isoformat()}T10:00:00Z"}


def stats_over(reports: ReportService) -> StatsService:
    """The real Stats service storing through ``reports`` in this process."""
    return StatsService(DirectDownloader(reports), CapacityTarget(1, 1, 10**11),
                        clock=lambda: NOW)


def kept_ids(db: Database) -> set[str]:
    return {row["event_id"] for row in db.run("SELECT event_id FROM stats_events")}


def totals(db: Database) -> tuple[int, int]:
    found = db.run("SELECT downloads, bytes_total FROM file_totals WHERE file_id = 'f1'")
    return (int(found[0]["downloads"]), int(found[0]["bytes_total"])) if found else (0, 0)


def test_old_ids_are_forgotten_and_their_late_duplicates_expire(db: Database) -> None:
    reports = ReportService(StatsRepository(db), clock=lambda: NOW, retention_days=7)
    old, recent = event("old", TODAY - timedelta(days=15)), event("new", TODAY - timedelta(days=2))
    # The first ingest of a process counts both, then prunes: the horizon is today - 7 days.
    assert reports.ingest(body([old, recent])) == {"applied": 2, "duplicates": 0,
                                                    "expired": 0}
    assert StatsRepository(db).horizon()[0] == TODAY - timedelta(days=7)
    assert kept_ids(db) == {"new"}
    # A redelivered copy of each, weeks later: the batch is refused whole, naming the old
    # one as expired; Stats drops it and resends the recent one, a duplicate: neither is
    # counted again.
    assert reports.ingest(body([old, recent])) == {
        "applied": 0, "duplicates": 0, "expired": 1,
        "refused": {"duplicates": [], "expired": ["old"]}}
    stored = stats_over(reports).store(parse_batch([old, recent]))
    assert (stored.events, stored.duplicates, stored.expired) == ([], 1, 1)
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
    assert stats.ingest(increments([event(waiting, three_weeks_ago.date())]), None,
                        None) == Ingested(1, [], [])
    # Once it is ingested and its outbox row purged, the horizon moves on.
    assert OutboxRepository(db).purge_ingested() == 1
    assert stats.prune_events(TODAY - timedelta(days=7)) == (TODAY - timedelta(days=7), 1)
    assert stats.ingest(increments([event(waiting, three_weeks_ago.date())]), None,
                        None) == Ingested(0, [], [waiting])
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
    reports.ingest(body([event("a", TODAY - timedelta(days=1))]))
    moment[0] = NOW + timedelta(days=5)  # the clock moves on, but no prune is due yet
    reports.ingest(body([event("b", TODAY)]))
    assert kept_ids(db) == {"a", "b"}
    reports.prune_every = 0
    reports.ingest({})
    assert kept_ids(db) == set()
    with pytest.raises(ValueError):
        ReportService(StatsRepository(db), retention_days=0)


def test_duplicates_racing_with_prunes_are_never_counted_twice(db: Database) -> None:
    """Redelivered events arrive while the horizon moves day by day over them: each event
    counts exactly once (ingest reads the horizon FOR SHARE, the prune updates it first).
    Stats resends what is not refused, so a batch mixes duplicates and expired events."""
    start = TODAY - timedelta(days=60)
    events = [event(f"e{day:02d}-{n}", start + timedelta(days=day), nbytes=1)
              for day in range(60) for n in range(40)]
    stats = StatsRepository(db)
    assert stats.ingest(increments(events), None, None) == Ingested(len(events), [], [])
    # A retention far back: the ingests' own prune never moves the horizon past this test's.
    service = stats_over(ReportService(stats, clock=lambda: NOW, retention_days=3650))
    stop = threading.Event()
    errors: list[BaseException] = []

    def redeliver(seed_: int) -> None:
        rng = random.Random(seed_)
        try:
            while not stop.is_set():
                assert service.store(parse_batch(rng.sample(events, 400))).events == []
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


def test_overlapping_fresh_batches_racing_count_each_event_once(db: Database) -> None:
    """Stats instances store random, overlapping samples of new events at the same time:
    the ingest that inserts an id first counts it; the others are refused, drop it and
    resend the rest. At the end every total and every day equals the ground truth."""
    files, accounts = [f"f{n}" for n in range(7)], [f"acc{n}" for n in range(5)]
    events = [event(f"x{n:04d}", TODAY - timedelta(days=n % 3), nbytes=n + 1,
                    file_id=files[n % 7], account_id=accounts[n % 5]) for n in range(1500)]
    service = stats_over(ReportService(StatsRepository(db), clock=lambda: NOW))
    errors: list[BaseException] = []

    def race(seed_: int) -> None:
        rng = random.Random(seed_)
        try:
            for _ in range(15):
                service.store(parse_batch(rng.sample(events, 300)))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    workers = [threading.Thread(target=race, args=(n,)) for n in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors
    service.store(parse_batch(events))  # whatever no sample covered
    for table, key in (("file_totals", "file_id"), ("account_totals", "account_id")):
        found = {r["k"]: (int(r["downloads"]), int(r["bytes_total"])) for r in db.run(
            f"SELECT {key} AS k, downloads, bytes_total FROM {table}")}
        assert found == {k: (sum(1 for e in events if e[key] == k),
                             sum(e["bytes"] for e in events if e[key] == k))
                         for k in {e[key] for e in events}}
    daily = {(r["account_id"], r["day"].isoformat()): int(r["bytes"])
             for r in db.run("SELECT account_id, day, bytes FROM account_daily")}
    truth: dict[tuple[str, str], int] = {}
    for e in events:
        slot = (e["account_id"], e["at"][:10])
        truth[slot] = truth.get(slot, 0) + e["bytes"]
    assert daily == truth
    assert len(kept_ids(db)) == len(events)
