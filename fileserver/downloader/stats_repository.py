"""Precomputed statistics: idempotent ingest of download events, and the report rows."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from fileserver.downloader.db import Database, rows

# One statement: drop the events of days before the horizon (expired), record the ids of the
# others, then add only the fresh events, grouped, to every total and per-day table.
# Data-modifying CTEs all run, on one snapshot, in one transaction. The horizon row is read
# FOR SHARE: a prune moving it waits for this ingest, an ingest that waited on a prune reads
# the new horizon, and the prune deletes old ids only after the move is committed, so a
# duplicate never slips in between the deletion of its id and the move of the horizon.
INGEST_SQL = """
WITH input AS (
    SELECT * FROM jsonb_to_recordset(CAST(:events AS jsonb))
        AS e(event_id text, file_id text, account_id text, bytes bigint, day date)
), horizon AS (
    SELECT day FROM stats_horizon WHERE id = 1 FOR SHARE
), current AS (
    SELECT * FROM input WHERE day >= (SELECT day FROM horizon)
), fresh_ids AS (
    INSERT INTO stats_events (event_id, day) SELECT event_id, day FROM current
    ON CONFLICT (event_id) DO NOTHING RETURNING event_id
), fresh AS (
    SELECT current.* FROM current JOIN fresh_ids USING (event_id)
), ft AS (
    INSERT INTO file_totals AS t (file_id, downloads, bytes_total)
    SELECT file_id, count(*), sum(bytes) FROM fresh GROUP BY file_id
    ON CONFLICT (file_id) DO UPDATE SET downloads = t.downloads + EXCLUDED.downloads,
        bytes_total = t.bytes_total + EXCLUDED.bytes_total
), fd AS (
    INSERT INTO file_daily AS t (file_id, day, downloads, bytes)
    SELECT file_id, day, count(*), sum(bytes) FROM fresh GROUP BY file_id, day
    ON CONFLICT (file_id, day) DO UPDATE SET downloads = t.downloads + EXCLUDED.downloads,
        bytes = t.bytes + EXCLUDED.bytes
), at AS (
    INSERT INTO account_totals AS t (account_id, downloads, bytes_total)
    SELECT account_id, count(*), sum(bytes) FROM fresh GROUP BY account_id
    ON CONFLICT (account_id) DO UPDATE SET downloads = t.downloads + EXCLUDED.downloads,
        bytes_total = t.bytes_total + EXCLUDED.bytes_total
), ad AS (
    INSERT INTO account_daily AS t (account_id, day, downloads, bytes)
    SELECT account_id, day, count(*), sum(bytes) FROM fresh GROUP BY account_id, day
    ON CONFLICT (account_id, day) DO UPDATE SET downloads = t.downloads + EXCLUDED.downloads,
        bytes = t.bytes + EXCLUDED.bytes
)
SELECT (SELECT count(*) FROM fresh) AS applied,
       (SELECT count(*) FROM input) - (SELECT count(*) FROM current) AS expired
"""

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

    def ingest(self, events: list[dict[str, Any]], computed_at: datetime | None,
               summary: dict[str, Any] | None) -> tuple[int, int]:
        """Apply the fresh events (and a newer summary) atomically.

        Return ``(applied, expired)``: how many were fresh, and how many were refused for a
        day before the horizon (see :meth:`prune_events`).
        """
        with self.db.transaction() as conn:
            counts = rows(conn, INGEST_SQL, events=json.dumps(events))[0]
            applied, expired = int(counts["applied"]), int(counts["expired"])
            if summary is not None and computed_at is not None:
                conn.query(
                    "INSERT INTO stats_summary AS s (id, computed_at, summary) "
                    "VALUES (1, :at, CAST(:body AS jsonb)) ON CONFLICT (id) DO UPDATE SET "
                    "computed_at = EXCLUDED.computed_at, summary = EXCLUDED.summary "
                    "WHERE s.computed_at < EXCLUDED.computed_at",
                    at=computed_at, body=json.dumps(summary))
        return applied, expired

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
