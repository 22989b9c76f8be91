"""Per-client limits in PostgreSQL (fs_get_url_client): token bucket, de-duplication window,
one booking under concurrent repeats, pruning. Real database, clock under the test's control."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from fileserver.downloader.db import Database
from fileserver.downloader.limits import ClientLimits
from fileserver.downloader.repository import (
    DownloadRepository,
    OutboxRepository,
    RegistryRepository,
)
from fileserver.downloader.service import DownloadService
from fileserver.errors import TooManyRequests
from tests.support.downloader_rows import bytes_today

START = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
ALICE, BOB = "203.0.113.7", "198.51.100.9"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def seed(db: Database, accounts: int = 4, files: int = 5, size: int = 1000) -> None:
    registry = RegistryRepository(db)
    for i in range(accounts):
        registry.put_account(f"acc{i}", f"acc{i}@example.com", 10**12, True, 1)
    for f in range(files):
        registry.put_file(f"f{f}", f"f{f}.bin", size, None, 1)
        for i in range(accounts):
            registry.put_replica(f"f{f}", f"acc{i}", f"d{f}-{i}", f"http://d.test/f{f}-{i}", 1)


def booked(db: Database) -> int:
    return sum(bytes_today(db, START.date()).values())


def service(db: Database, clock: Clock, **limits: float) -> DownloadService:
    return DownloadService(db, clock=clock, limits=ClientLimits(**limits))  # type: ignore[arg-type]


def test_the_bucket_answers_429_with_retry_after_beyond_the_burst(db: Database) -> None:
    seed(db)
    clock = Clock()
    svc = service(db, clock, rate_per_minute=60, burst=3, dedup_seconds=0)
    for f in range(3):
        assert svc.get_url(f"f{f}", ALICE)["repeated"] is False
    with pytest.raises(TooManyRequests) as refused:
        svc.get_url("f3", ALICE)
    assert refused.value.headers == {"Retry-After": "1"}
    assert refused.value.details == {"retry_after_seconds": 1}
    assert booked(db) == 3000 and OutboxRepository(db).pending() == 3
    assert svc.get_url("f3", BOB)["size"] == 1000  # another client has its own bucket
    clock.advance(1.0)  # one token back
    svc.get_url("f3", ALICE)
    with pytest.raises(TooManyRequests):
        svc.get_url("f4", ALICE)
    assert svc.get_url("f4", None)  # an exempt client (None) is never limited


def test_a_repeat_within_the_window_gets_the_same_link_and_books_nothing(db: Database) -> None:
    seed(db)
    clock = Clock()
    svc = service(db, clock, rate_per_minute=0, dedup_seconds=600)
    first = svc.get_url("f0", ALICE)
    again = [svc.get_url("f0", ALICE) for _ in range(5)]
    assert {(a["account_id"], a["url"], a["event_id"], a["repeated"]) for a in again} == {
        (first["account_id"], first["url"], first["event_id"], True)}
    assert booked(db) == 1000 and OutboxRepository(db).pending() == 1
    other = svc.get_url("f0", BOB)  # another client books and rotates on
    assert other["account_id"] != first["account_id"] and booked(db) == 2000
    clock.advance(600)  # the window is over: a new booking
    later = svc.get_url("f0", ALICE)
    assert later["repeated"] is False and later["event_id"] != first["event_id"]
    assert booked(db) == 3000


def test_a_repeat_whose_replica_is_gone_books_a_live_one(db: Database) -> None:
    seed(db)
    svc = service(db, Clock(), rate_per_minute=0, dedup_seconds=600)
    first = svc.get_url("f0", ALICE)
    RegistryRepository(db).delete_replica("f0", first["account_id"], 2)
    again = svc.get_url("f0", ALICE)
    assert again["repeated"] is False and again["account_id"] != first["account_id"]


@pytest.mark.parametrize("rate", [0.0, 10_000.0])  # advisory lock alone, bucket row lock
def test_concurrent_repeats_of_one_client_book_once(db: Database, rate: float) -> None:
    seed(db, accounts=6)
    svc = service(db, Clock(), rate_per_minute=rate, burst=1000, dedup_seconds=600)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: svc.get_url("f0", ALICE), range(64)))
    assert len({a["account_id"] for a in answers}) == 1
    assert sum(not a["repeated"] for a in answers) == 1
    assert booked(db) == 1000 and OutboxRepository(db).pending() == 1


def test_the_first_call_of_the_day_pays_one_token(db: Database) -> None:
    seed(db)  # no usage rows yet: the first call goes round missing_usage once
    svc = service(db, Clock(), rate_per_minute=1, burst=1, dedup_seconds=0)
    assert svc.get_url("f0", ALICE)["size"] == 1000
    with pytest.raises(TooManyRequests):
        svc.get_url("f1", ALICE)


def test_pruning_forgets_full_buckets_and_expired_windows_only(db: Database) -> None:
    seed(db)
    clock = Clock()
    svc = service(db, clock, rate_per_minute=60, burst=10, dedup_seconds=30)
    for client in (ALICE, BOB):
        svc.get_url("f0", client)

    def rows() -> tuple[int, int]:
        count = "SELECT count(*) AS n FROM "
        return (int(db.run(count + "client_buckets")[0]["n"]),
                int(db.run(count + "client_downloads")[0]["n"]))

    assert DownloadRepository.prune_client_state(db, clock.now) == 0 and rows() == (2, 2)
    # Full again after (10 - 9) / 1 s; the window lasts 30 s.
    assert DownloadRepository.prune_client_state(db, clock.now + timedelta(seconds=1)) == 2
    assert rows() == (0, 2)
    assert DownloadRepository.prune_client_state(db, clock.now + timedelta(seconds=30)) == 2
    assert rows() == (0, 0)
    assert svc.get_url("f0", ALICE)["repeated"] is False  # forgotten: books again
