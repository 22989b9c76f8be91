"""account-stats shows each account's kind, state and Drive storage (migration 005): a later
measurement applies at the same account version, an older one never."""

from __future__ import annotations

from datetime import date

from fileserver.downloader.db import Database
from fileserver.downloader.repository import RegistryRepository
from fileserver.downloader.stats_repository import StatsRepository
from fileserver.downloader.sync import SyncService

DAY = date(2026, 12, 1)


def body(version: int, checked: str | None, usage: int, state: str = "active") -> dict:
    return {"email": "u@example.org", "daily_limit_bytes": 10**11, "active": True,
            "version": version, "kind": "authorized_user", "state": state,
            "storage_limit_bytes": 40_000_000, "storage_usage_bytes": usage,
            "storage_checked_at": checked}


def row(db: Database) -> dict:
    return StatsRepository(db).account_row(DAY, "a1")


def test_kind_state_and_storage_reach_account_stats(db: Database) -> None:
    sync = SyncService(RegistryRepository(db))
    assert sync.put_account("a1", body(1, "2026-12-01T09:00:00.000Z", 10_000_000))["applied"]
    shown = row(db)
    assert shown["kind"] == "authorized_user" and shown["state"] == "active"
    assert shown["storage_limit_bytes"] == 40_000_000
    assert shown["storage_free_bytes"] == 30_000_000
    assert shown["storage_checked_at"] == "2026-12-01T09:00:00.000Z"

    later = body(1, "2026-12-01T09:05:00.000Z", 25_000_000)
    assert sync.put_account("a1", later)["applied"]  # same version, newer measurement
    assert row(db)["storage_free_bytes"] == 15_000_000
    older = body(1, "2026-12-01T08:00:00.000Z", 1)
    assert not sync.put_account("a1", older)["applied"]
    assert row(db)["storage_usage_bytes"] == 25_000_000

    full = body(2, "2026-12-01T09:06:00.000Z", 40_000_000, state="full")
    assert sync.put_account("a1", full)["applied"]
    assert row(db)["state"] == "full" and row(db)["storage_free_bytes"] == 0


def test_an_account_registered_before_005_shows_its_state_from_active(db: Database) -> None:
    RegistryRepository(db).put_account("a1", "old@example.org", 10**11, False, 1)
    shown = row(db)
    assert shown["state"] == "disabled" and shown["kind"] is None
    assert shown["storage_free_bytes"] is None
