"""Replica health in the Downloader's PostgreSQL (migration 010): the prober's reads and
writes, its lease and clock offset, and the counts reports show. SQL only, no HTTP.

A health row is about one Drive file: it counts only while its ``drive_file_id`` is the
replica's (``CURRENT`` below); a repaired replica (new Drive id) is healthy until probed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fileserver.downloader.db import Database

CURRENT = ("hh.file_id = r.file_id AND hh.account_id = r.account_id "
           "AND hh.drive_file_id = r.drive_file_id")
LIVE = ("JOIN files f ON f.id = r.file_id AND NOT f.deleted "
        "JOIN accounts a ON a.id = r.account_id AND a.active AND NOT a.deleted")

# Replicas due for a probe, best first. Due: never probed (this copy), blocked and its
# ``until`` passed, else last checked :hot_recheck s ago (hot files: a link handed out within
# :hot s) or :cold_recheck s ago. Three bounded parts, so a round does not scan every
# replica: the hot files' replicas (file_cursor.handed_at index), the expired blocks (few
# rows), and, only when :sweep, the cold sweep over all replicas (the caller runs it about
# once a minute). Times of health rows are the prober's clock (:now); handed_at is
# PostgreSQL's.
_COLUMNS = ("r.file_id, r.account_id, r.drive_file_id, r.url, hh.state, hh.reason, "
            "hh.repair_requested_at, hh.checked_at")
_READY = ("NOT r.deleted AND r.url IS NOT NULL AND r.drive_file_id IS NOT NULL")
_EXPIRED = "(hh.state = 'blocked' AND hh.until <= :now)"
DUE_SQL = (
    "WITH hot AS (SELECT " + _COLUMNS + ", 0 AS part FROM file_cursor c "
    "JOIN replicas r ON r.file_id = c.file_id " + LIVE + " "
    "LEFT JOIN replica_health hh ON " + CURRENT + " "
    "WHERE c.handed_at > now() - make_interval(secs => :hot) AND " + _READY + " AND ("
    "hh.file_id IS NULL OR " + _EXPIRED + " OR (hh.state <> 'blocked' "
    "AND hh.checked_at <= :now - make_interval(secs => :hot_recheck))) "
    "ORDER BY hh.checked_at NULLS FIRST LIMIT :n), "
    "expired AS (SELECT " + _COLUMNS + ", 1 AS part FROM replica_health hh "
    "JOIN replicas r ON " + CURRENT + " " + LIVE + " "
    "WHERE hh.state = 'blocked' AND hh.until <= :now AND " + _READY + " "
    "ORDER BY hh.until LIMIT :n), "
    "cold AS (SELECT " + _COLUMNS + ", 2 AS part FROM replicas r " + LIVE + " "
    "LEFT JOIN replica_health hh ON " + CURRENT + " "
    "WHERE :sweep AND " + _READY + " AND (hh.file_id IS NULL OR " + _EXPIRED + " OR "
    "(hh.state <> 'blocked' AND hh.checked_at <= :now - make_interval(secs => :cold_recheck)))"
    " LIMIT :n) "
    "SELECT * FROM (SELECT DISTINCT ON (file_id, account_id) * FROM "
    "(SELECT * FROM hot UNION ALL SELECT * FROM expired UNION ALL SELECT * FROM cold) u "
    "ORDER BY file_id, account_id, part) d "
    "ORDER BY part, checked_at NULLS FIRST, file_id, account_id LIMIT :n")


class HealthRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- the prober ---------------------------------------------------------------------
    def take_lease(self, holder: str, seconds: float) -> float | None:
        """Hold (or renew) the one prober lease; answer the clock offset, None if another
        process holds it."""
        found = self.db.run(
            "INSERT INTO prober_state AS p (id, holder, lease_until) VALUES (1, :h, now() + "
            "make_interval(secs => :s)) ON CONFLICT (id) DO UPDATE SET holder = EXCLUDED.holder, "
            "lease_until = EXCLUDED.lease_until WHERE p.holder = :h OR p.lease_until IS NULL "
            "OR p.lease_until < now() RETURNING p.clock_offset_seconds", h=holder, s=seconds)
        return float(found[0]["clock_offset_seconds"]) if found else None

    def release_lease(self, holder: str) -> None:
        self.db.run("UPDATE prober_state SET lease_until = NULL WHERE id = 1 AND holder = :h",
                    h=holder)

    def set_clock_offset(self, seconds: float) -> None:
        self.db.run("INSERT INTO prober_state (id, clock_offset_seconds) VALUES (1, :s) "
                    "ON CONFLICT (id) DO UPDATE SET clock_offset_seconds = :s", s=seconds)

    def due(self, now: datetime, limit: int, hot: float, hot_recheck: float,
            cold_recheck: float, sweep: bool = True) -> list[dict[str, Any]]:
        """Up to ``limit`` replicas to probe, hot files first (``sweep``: also look for cold
        ones, which reads every replica)."""
        return self.db.run(DUE_SQL, now=now, n=limit, hot=hot, hot_recheck=hot_recheck,
                           cold_recheck=cold_recheck, sweep=sweep)

    def record(self, row: dict[str, Any], state: str, reason: str | None,
               until: datetime | None, now: datetime) -> None:
        """Store what a probe of ``row``'s copy saw; a new Drive id starts afresh."""
        self.db.run(
            "INSERT INTO replica_health AS h (file_id, account_id, drive_file_id, state, reason, "
            "until, checked_at, changed_at) VALUES (:f, :a, :d, :state, :reason, :until, :now, "
            ":now) ON CONFLICT (file_id, account_id) DO UPDATE SET "
            "changed_at = CASE WHEN h.state = EXCLUDED.state AND h.drive_file_id = "
            "EXCLUDED.drive_file_id THEN h.changed_at ELSE EXCLUDED.changed_at END, "
            "repair_requested_at = CASE WHEN h.drive_file_id = EXCLUDED.drive_file_id "
            "AND EXCLUDED.state <> 'ok' THEN h.repair_requested_at END, "
            "drive_file_id = EXCLUDED.drive_file_id, state = EXCLUDED.state, "
            "reason = EXCLUDED.reason, until = EXCLUDED.until, checked_at = EXCLUDED.checked_at",
            f=row["file_id"], a=row["account_id"], d=row["drive_file_id"], state=state,
            reason=reason, until=until, now=now)

    def touch(self, row: dict[str, Any], now: datetime) -> None:
        """An inconclusive probe: keep the state, move ``checked_at`` (a copy never probed
        gets an ``ok`` row, which is what unknown means)."""
        if row["state"] is None:
            self.record(row, "ok", None, None, now)
            return
        self.db.run("UPDATE replica_health SET checked_at = :now WHERE file_id = :f AND "
                    "account_id = :a", now=now, f=row["file_id"], a=row["account_id"])

    def share_of_limit_spent(self, account_id: str, day: date) -> float:
        """Bytes handed out on ``account_id`` on ``day`` over its daily limit (0 if unknown)."""
        found = self.db.run(
            "SELECT u.bytes_today, a.daily_limit_bytes FROM accounts a JOIN account_usage u "
            "ON u.account_id = a.id AND u.day = :d WHERE a.id = :a", a=account_id, d=day)
        if not found or not found[0]["daily_limit_bytes"]:
            return 0.0
        return int(found[0]["bytes_today"]) / int(found[0]["daily_limit_bytes"])

    def mark_repair_requested(self, row: dict[str, Any], now: datetime) -> None:
        self.db.run("UPDATE replica_health SET repair_requested_at = :now WHERE file_id = :f "
                    "AND account_id = :a AND drive_file_id = :d", now=now, f=row["file_id"],
                    a=row["account_id"], d=row["drive_file_id"])

    def counts(self) -> dict[str, int]:
        """Live replicas by health (``ok`` includes not probed yet)."""
        found = self.db.run(
            "SELECT COALESCE(hh.state, 'ok') AS state, count(*) AS n FROM replicas r " + LIVE
            + " LEFT JOIN replica_health hh ON " + CURRENT + " WHERE NOT r.deleted "
            "GROUP BY 1")
        counts = {"ok": 0, "blocked": 0, "missing": 0}
        counts.update({row["state"]: int(row["n"]) for row in found})
        return counts

    # --- reports ------------------------------------------------------------------------
    def unhealthy(self, file_id: str | None = None,
                  account_id: str | None = None) -> list[dict[str, Any]]:
        """Blocked and missing replicas (current copies only), optionally of one file or
        account: file, account, Drive id, state, reason, until, checked and changed at."""
        return self.db.run(
            "SELECT hh.file_id, hh.account_id, hh.drive_file_id, hh.state, hh.reason, hh.until, "
            "hh.checked_at, hh.changed_at, hh.repair_requested_at FROM replica_health hh "
            "JOIN replicas r ON " + CURRENT + " AND NOT r.deleted "
            "WHERE hh.state <> 'ok' AND (CAST(:f AS text) IS NULL OR hh.file_id = :f) "
            "AND (CAST(:a AS text) IS NULL OR hh.account_id = :a) "
            "ORDER BY hh.file_id, hh.account_id", f=file_id, a=account_id)

    def unhealthy_counts(self, column: str, ids: list[str]) -> dict[str, dict[str, int]]:
        """``{id: {"blocked": n, "missing": n}}`` per file or account (``column`` is
        ``file_id`` or ``account_id``) for ``ids``; ids with none are absent."""
        if column not in ("file_id", "account_id"):
            raise ValueError(column)
        found = self.db.run(
            f"SELECT hh.{column} AS id, hh.state, count(*) AS n FROM replica_health hh "
            "JOIN replicas r ON " + CURRENT + " AND NOT r.deleted "
            f"WHERE hh.state <> 'ok' AND hh.{column} = ANY(:ids) GROUP BY 1, 2", ids=ids)
        counts: dict[str, dict[str, int]] = {}
        for row in found:
            counts.setdefault(row["id"], {"blocked": 0, "missing": 0})[row["state"]] = \
                int(row["n"])
        return counts

    def capacity(self) -> dict[str, int]:
        """Daily download capacity of the active accounts (nominal) and of those with no
        blocked or missing replica (healthy), in bytes per day, with their counts."""
        found = self.db.run(
            "SELECT count(*) AS accounts, COALESCE(sum(a.daily_limit_bytes), 0) AS nominal, "
            "count(*) FILTER (WHERE u.account_id IS NULL) AS healthy_accounts, "
            "COALESCE(sum(a.daily_limit_bytes) FILTER (WHERE u.account_id IS NULL), 0) "
            "AS healthy FROM accounts a LEFT JOIN (SELECT DISTINCT hh.account_id "
            "FROM replica_health hh JOIN replicas r ON " + CURRENT + " AND NOT r.deleted "
            "WHERE hh.state <> 'ok') u ON u.account_id = a.id "
            "WHERE a.active AND NOT a.deleted")[0]
        return {"nominal_bytes_per_day": int(found["nominal"]),
                "healthy_bytes_per_day": int(found["healthy"]),
                "accounts": int(found["accounts"]),
                "healthy_accounts": int(found["healthy_accounts"])}
