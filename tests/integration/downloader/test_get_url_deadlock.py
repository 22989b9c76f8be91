"""Concurrent get-url calls for different files never pass a limit, never lose a booking and
never deadlock while they fill the same accounts.

Calls for different files run in parallel and would all pick the same least-loaded account:
they pass over its locked usage row (SKIP LOCKED) or, with every row locked or full, wait
for each row in turn and recheck the limit (migrations 011, 012).

Migration 011's function failed here with "deadlock detected" in 12 of 40 runs: a usage row
locked and then found full on PostgreSQL's recheck stayed locked while the call waited for
another account's row. Migration 012 undoes each such attempt before waiting. Each run is a
fresh database: 3 accounts with room for exactly 30 URLs, 45 calls over 6 files from 12
threads, so the accounts fill up while calls race for them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from fileserver.downloader.db import Database
from fileserver.downloader.service import DownloadService
from fileserver.errors import ServiceUnavailable
from tests.integration.downloader.test_repository_and_service import NOW, seed
from tests.support.downloader_rows import bytes_today, unsent


@pytest.mark.parametrize("run", range(20))
def test_racing_calls_fill_every_account_exactly_without_a_deadlock(db: Database,
                                                                    run: int) -> None:
    seed(db, 3, {f"f{i}": 100 for i in range(6)}, limit=1000)
    service = DownloadService(db, clock=lambda: NOW)

    def attempt(n: int) -> str:
        try:
            return service.get_url(f"f{n % 6}")["account_id"]
        except ServiceUnavailable:
            return "full"

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(attempt, range(45)))  # a deadlock raises OperationalError
    assert results.count("full") == 15
    assert bytes_today(db, NOW.date()) == {"acc0": 1000, "acc1": 1000, "acc2": 1000}
    assert unsent(db) == 30
