"""get-url's prepared-statement path (``Database.call``) against a real PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from fileserver.downloader.db import Database
from fileserver.downloader.repository import OutboxRepository
from fileserver.downloader.service import DownloadService
from tests.integration.downloader.test_repository_and_service import seed


def terminate_other_backends(db: Database) -> None:
    """Kill every other session, from the transaction pool: the autocommit pool's
    connections (get-url's) are all dropped while they sit idle in their pool."""
    with db.transaction() as conn:
        conn.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                   "WHERE pid <> pg_backend_pid() AND datname = current_database()")


def test_statements_are_prepared_once_per_connection(db: Database) -> None:
    seed(db, 2, {"f1": 10})
    service = DownloadService(db)
    accounts = [service.get_url("f1")["account_id"] for _ in range(4)]
    assert accounts == ["acc0", "acc1", "acc0", "acc1"]
    with db.records.get_engine().raw_connection() as conn:  # type: ignore[attr-defined]
        prepared = conn.info.get("prepared", set())
    assert prepared == {"fs_get_url_call"}


def test_a_failed_reservation_rolls_back_and_the_connection_is_reused(db: Database) -> None:
    seed(db, 1, {"f1": 10})
    service = DownloadService(db)
    service.get_url("f1")
    db.run("UPDATE accounts SET daily_limit_bytes = 15")  # the next 10 bytes do not fit
    with pytest.raises(Exception, match="daily limit"):
        service.get_url("f1")
    assert OutboxRepository(db).pending() == 1  # nothing written by the failed call
    db.run("UPDATE accounts SET daily_limit_bytes = 100")
    assert service.get_url("f1")["account_id"] == "acc0"


def test_dropped_connections_are_a_database_error_then_replaced(db: Database) -> None:
    seed(db, 2, {"f1": 10})
    service = DownloadService(db)
    service.get_url("f1")
    terminate_other_backends(db)
    outcomes = []
    for _ in range(30):
        try:
            service.get_url("f1")
            outcomes.append("ok")
        except OperationalError:  # mapped to 503 database_unavailable by the function
            outcomes.append("outage")
    assert "outage" in outcomes and outcomes[-5:] == ["ok"] * 5
    assert OutboxRepository(db).pending() == 1 + outcomes.count("ok")
