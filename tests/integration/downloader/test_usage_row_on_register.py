"""A registered account has today's usage row at once (migration 008)."""

from __future__ import annotations

from datetime import UTC, datetime

from fileserver.downloader.db import Database
from fileserver.downloader.repository import RegistryRepository
from fileserver.downloader.service import DownloadService


def usage_accounts(db: Database) -> set[str]:
    today = datetime.now(UTC).date()
    return {r["account_id"] for r in db.run("SELECT account_id FROM account_usage WHERE day = :d",
                                            d=today)}


def test_registered_and_reactivated_accounts_get_todays_row(db: Database) -> None:
    registry = RegistryRepository(db)
    registry.put_account("a1", "a1@x.test", 10**9, True, 1)
    registry.put_account("a2", "a2@x.test", 10**9, False, 1)
    assert usage_accounts(db) == {"a1"}
    registry.put_account("a2", "a2@x.test", 10**9, True, 2)
    assert usage_accounts(db) == {"a1", "a2"}


def test_get_url_serves_an_account_registered_just_before(db: Database) -> None:
    registry = RegistryRepository(db)
    registry.put_file("f1", "f.bin", 100, None, 1)
    for account in ("a1", "a2"):
        registry.put_account(account, f"{account}@x.test", 10**9, True, 1)
        registry.put_replica("f1", account, f"d-{account}", f"http://x/uc?id={account}", 1)
    service = DownloadService(db)
    holders = {service.get_url("f1")["account_id"] for _ in range(4)}
    registry.put_account("a3", "a3@x.test", 10**9, True, 1)  # between two get-url calls
    registry.put_replica("f1", "a3", "d-a3", "http://x/uc?id=a3", 1)
    holders |= {service.get_url("f1")["account_id"] for _ in range(3)}
    assert holders == {"a1", "a2", "a3"}
