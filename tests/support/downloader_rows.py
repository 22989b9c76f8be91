"""Reads of the Downloader's tables that only tests make (product code never needs them).

They used to be repository methods (``UsageRepository.bytes_today``,
``OutboxRepository.unsent``, ``RegistryRepository.snapshot``); the product's repositories
keep only what a function or the relay calls.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fileserver.downloader.db import Database


def bytes_today(db: Database, day: date) -> dict[str, int]:
    """Bytes handed out per account on ``day`` (get-url's reservations in ``account_usage``)."""
    found = db.run("SELECT account_id, bytes_today FROM account_usage WHERE day = :d", d=day)
    return {row["account_id"]: int(row["bytes_today"]) for row in found}


def unsent(db: Database) -> int:
    """Outbox rows the relay has not sent yet (``pending`` also counts sent, unconfirmed ones)."""
    return int(db.run("SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL")[0]["n"])


def registry_snapshot(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every row of the registry (tombstones included), for convergence checks."""
    return {
        "accounts": db.run("SELECT id, email, daily_limit_bytes, active, deleted, version "
                           "FROM accounts ORDER BY id"),
        "files": db.run("SELECT id, name, size, md5, deleted, version FROM files ORDER BY id"),
        "replicas": db.run("SELECT file_id, account_id, drive_file_id, url, deleted, version "
                           "FROM replicas ORDER BY file_id, account_id"),
    }
