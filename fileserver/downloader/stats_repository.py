"""Precomputed statistics: the idempotent store of Stats' increments, and the report rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fileserver.downloader.db import Database, rows
from fileserver.downloader.increments import Increments

# One statement stores a batch of increments all or nothing. It records the event ids the
# increments cover (in id order, so concurrent ingests wait on each other in one order, never
# in a cycle) and adds the increments, as Stats computed them, to the totals and per-day
# rows, but only when every id is new and no event is of a day before the horizon; otherwise
# it adds nothing and names the refused ids, and the caller rolls the ids back. Data-modifying
# CTEs all run, on one snapshot, in one transaction; the guard reads ``fresh`` whole, so the
# rows are touched only after every id is in. An id another ingest is inserting waits for it:
# committed, it is a duplicate here; rolled back, it is new. The horizon row is read FOR
# SHARE: a prune moving it waits for this ingest, an ingest that waited on a prune reads the
# new horizon, and the prune deletes old ids only after the move is committed, so a duplicate
# never slips in between the deletion of its id and the move of the horizon.
INGEST_SQL = """
WITH input AS (
    SELECT * FROM jsonb_to_recordset(CAST(:events AS jsonb)) AS e(event_id text, day date)
), horizon AS (
    SELECT day FROM stats_horizon WHERE id = 1 FOR SHARE
), expired AS (
    SELECT event_id FROM input WHERE day < (SELECT day FROM horizon)
), fresh AS (
    INSERT INTO stats_events (event_id, day)
    SELECT event_id, day FROM input WHERE NOT EXISTS (SELECT 1 FROM expired) ORDER BY event_id
    ON CONFLICT (event_id) DO NOTHING RETURNING event_id
), verdict AS (
    SELECT (SELECT count(*) FROM fresh) = (SELECT count(*) FROM input) AS stored
), ft AS (
    INSERT INTO file_totals AS t (file_id, downloads, bytes_total)
    SELECT id, downloads, bytes FROM jsonb_to_recordset(CAST(:file_totals AS jsonb))
        AS r(id text, downloads bigint, bytes bigint)
     WHERE (SELECT stored FROM verdict) ORDER BY id
    ON CONFLICT (file_id) DO UPDATE SET downloads = t.downloads + EXCLUDED.downloads,
        bytes_total = t.bytes_total + EXCLUDED.bytes_total
), fd AS (
    INSERT INTO file_daily AS t (file_id, day, downloads, bytes)
    SELECT id, day, downloads, bytes FROM jsonb_to_recordset(CAST(:file_days AS jsonb))
        AS r(id text, day date, downloads bigint, bytes bigint)
     WHERE (SELECT stored FROM verdict) ORDER BY id, day
    ON CONFLICT (file_id, day) DO UPDATE SET downloads = t.downloads + EXCLUDED.downloads,
        bytes = t.bytes + EXCLUDED.bytes
), at AS (
    INSERT INTO account_totals AS t (account_id, downloads, bytes_total)
    SELECT id, downloads, bytes FROM jsonb_to_recordset(CAST(:account_totals AS jsonb))
        AS r(id text, downloads bigint, bytes bigint)
     WHERE (SELECT stored FROM verdict) ORDER BY id
    ON CONFLICT (account_id) DO UPDATE SET downloads = t.downloads + EXCLUDED.downloads,
        bytes_total = t.bytes_total + EXCLUDED.bytes_total
), ad AS (
    INSERT INTO account_daily AS t (account_id, day, downloads, bytes)
    SELECT id, day, downloads, bytes FROM jsonb_to_recordset(CAST(:account_days AS jsonb))
        AS r(id text, day date, downloads bigint, bytes bigint)
     WHERE (SELECT stored FROM verdict) ORDER BY id, day
    ON CONFLICT (account_id, day) DO UPDATE SET downloads = t.downloads + EXCLUDED.downloads,
        bytes = t.bytes + EXCLUDED.bytes
)
SELECT ARRAY(SELECT event_id FROM expired ORDER BY 1) AS expired,
       ARRAY(SELECT event_id FROM input WHERE NOT EXISTS (SELECT 1 FROM expired)
             EXCEPT SELECT event_id FROM fresh ORDER BY 1) AS duplicates
"""

STORE_SUMMARY_SQL = (
    "INSERT INTO stats_summary AS s (id, computed_at, summary) "
    "VALUES (1, :at, CAST(:body AS jsonb)) ON CONFLICT (id) DO UPDATE SET "
    "computed_at = EXCLUDED.computed_at, summary = EXCLUDED.summary "
    "WHERE s.computed_at < EXCLUDED.computed_at")


@dataclass(frozen=True)
class Ingested:
    """What one ingest did: ``applied`` events stored, or nothing and the refused ids."""

    applied: int
    duplicates: list[str]  # ids stored before: their events are counted already
    expired: list[str]  # ids of days before the horizon: counted before, ids forgotten

    @property
    def stored(self) -> bool:
        return not self.duplicates and not self.expired


class _Refused(Exception):
    """Rolls the ingest's transaction back (the ids it recorded) and carries the verdict."""

    def __init__(self, verdict: Ingested) -> None:
        super().__init__("batch refused")
        self.verdict = verdict


# The horizon moves to ``:cutoff`` but never backwards and never past the UTC day of the
# oldest event still in the outbox (not confirmed ingested: it must never be refused).
MOVE_HORIZON_SQL = """
UPDATE stats_horizon h
   SET day = GREATEST(h.day, LEAST(CAST(:cutoff AS date), COALESCE(
           (SELECT (min(CAST(event->>'at' AS timestamptz)) AT TIME ZONE 'UTC')::date
              FROM outbox), CAST(:cutoff AS date)))),
       pruned_at = now()
 WHERE id = 1
RETURNING day
"""

DELETE_OLD_IDS_SQL = """
WITH gone AS (
    DELETE FROM stats_events WHERE event_id IN (
        SELECT event_id FROM stats_events WHERE day < :day LIMIT :n)
    RETURNING 1
)
SELECT count(*) AS n FROM gone
"""

FILE_ROWS_SQL = """
SELECT f.id AS file_id, f.name, COALESCE(t.downloads, 0) AS downloads,
       COALESCE(d.bytes, 0) AS bytes_today, COALESCE(t.bytes_total, 0) AS bytes_total
FROM files f LEFT JOIN file_totals t ON t.file_id = f.id
LEFT JOIN file_daily d ON d.file_id = f.id AND d.day = :day
WHERE NOT f.deleted AND (CAST(:id AS text) IS NULL OR f.id = :id)
"""

ACCOUNT_ROWS_SQL = """
SELECT a.id AS account_id, a.email, COALESCE(t.downloads, 0) AS downloads,
       COALESCE(d.bytes, 0) AS bytes_today, COALESCE(t.bytes_total, 0) AS bytes_total,
       a.daily_limit_bytes, a.kind, COALESCE(a.state, CASE WHEN a.active THEN 'active'
       ELSE 'disabled' END) AS state, a.storage_limit_bytes, a.storage_usage_bytes,
       CASE WHEN a.storage_limit_bytes IS NOT NULL
            THEN GREATEST(a.storage_limit_bytes - COALESCE(a.storage_usage_bytes, 0), 0)
       END AS storage_free_bytes,
       to_char(a.storage_checked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
           AS storage_checked_at,
       CASE WHEN a.daily_limit_bytes > 0
            THEN COALESCE(d.bytes, 0)::float8 / a.daily_limit_bytes ELSE 0
       END AS share_of_limit_today
FROM accounts a LEFT JOIN account_totals t ON t.account_id = a.id
LEFT JOIN account_daily d ON d.account_id = a.id AND d.day = :day
WHERE NOT a.deleted AND (CAST(:id AS text) IS NULL OR a.id = :id)
"""


class StatsRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def ingest(self, batch: Increments, computed_at: datetime | None,
               summary: dict[str, Any] | None) -> Ingested:
        """Store ``batch`` and a newer summary atomically, or nothing if any of its events
        is a duplicate or expired (see :meth:`prune_events`); answer which it was."""
        params = {name: json.dumps(getattr(batch, name)) for name in (
            "events", "file_totals", "file_days", "account_totals", "account_days")}
        try:
            with self.db.transaction() as conn:
                found = rows(conn, INGEST_SQL, **params)[0]
                verdict = Ingested(len(batch.events), list(found["duplicates"]),
                                   list(found["expired"]))
                if not verdict.stored:
                    raise _Refused(Ingested(0, verdict.duplicates, verdict.expired))
                if summary is not None and computed_at is not None:
                    conn.query(STORE_SUMMARY_SQL, at=computed_at, body=json.dumps(summary))
        except _Refused as refused:
            return refused.verdict
        return verdict

    def prune_events(self, cutoff: date, batch: int = 10_000) -> tuple[date, int]:
        """Forget the event ids of days before ``cutoff`` (bounded by the outbox).

        Return the horizon now in force and how many ids were deleted. The horizon is moved
        and committed first, alone: every ingest that read the old one held the row FOR
        SHARE, so it finished before the move, and every later ingest refuses the days
        before it. The old ids are then deleted in batches of ``batch``, each its own
        transaction, without holding up ingest.
        """
        with self.db.transaction() as conn:
            moved = rows(conn, MOVE_HORIZON_SQL, cutoff=cutoff)
        if not moved:  # migration 004 inserts it; without it ingest could not be locked out
            raise RuntimeError("stats_horizon has no row: the schema is damaged")
        horizon = moved[0]["day"]
        deleted = 0
        while True:
            gone = int(self.db.run(DELETE_OLD_IDS_SQL, day=horizon, n=batch)[0]["n"])
            deleted += gone
            if gone < batch:
                return horizon, deleted

    def horizon(self) -> tuple[date, datetime | None]:
        """The horizon day and when it was last moved (None: never)."""
        found = self.db.run("SELECT day, pruned_at FROM stats_horizon WHERE id = 1")[0]
        return found["day"], found["pruned_at"]

    def summary(self) -> dict[str, Any] | None:
        found = self.db.run("SELECT summary FROM stats_summary WHERE id = 1")
        return found[0]["summary"] if found else None

    def _page(self, base: str, day: date, sort: str, order: str, limit: int, offset: int,
              tiebreak: str) -> tuple[list[dict[str, Any]], int]:
        # ``sort``/``order``/``tiebreak`` come from whitelists in reports.py, never from input.
        ordered = f"{base} ORDER BY {sort} {order}, {tiebreak} LIMIT :limit OFFSET :offset"
        items = self.db.run(ordered, day=day, id=None, limit=limit, offset=offset)
        total = self.db.run(f"SELECT count(*) AS n FROM ({base}) q", day=day, id=None)[0]["n"]
        return items, int(total)

    def file_rows(self, day: date, sort: str, order: str, limit: int,
                  offset: int) -> tuple[list[dict[str, Any]], int]:
        return self._page(FILE_ROWS_SQL, day, sort, order, limit, offset, "file_id")

    def account_rows(self, day: date, sort: str, order: str, limit: int,
                     offset: int) -> tuple[list[dict[str, Any]], int]:
        return self._page(ACCOUNT_ROWS_SQL, day, sort, order, limit, offset, "account_id")

    def file_row(self, day: date, file_id: str) -> dict[str, Any] | None:
        found = self.db.run(FILE_ROWS_SQL, day=day, id=file_id)
        return found[0] if found else None

    def account_row(self, day: date, account_id: str) -> dict[str, Any] | None:
        found = self.db.run(ACCOUNT_ROWS_SQL, day=day, id=account_id)
        return found[0] if found else None
