"""Repositories over the Downloader's PostgreSQL: SQL lives here and nowhere else.

Registry writes are versioned upserts: a message applies only when its version is newer than
the stored one; a delete leaves a tombstone (payload cleared, ``deleted``) that carries its
version and also wins a tie, so any order of duplicated messages ends in the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from fileserver.downloader.db import Database, Prepared, rows

_NEWER = "{t}.version < EXCLUDED.version"
REPLICAS_SQL = (
    "SELECT file_id, account_id, drive_file_id, url, version FROM replicas "
    "WHERE NOT deleted AND (CAST(:f AS text) IS NULL OR file_id = :f) "
    "AND (CAST(:a AS text) IS NULL OR account_id = :a) ORDER BY file_id, account_id")
_DELETE_WINS = ("({t}.version < EXCLUDED.version "
                "OR ({t}.version = EXCLUDED.version AND NOT {t}.deleted))")


class RegistryRepository:
    """Accounts, files and replicas mirrored from the Uploader (downloader-sync)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _applied(self, sql: str, **params: Any) -> bool:
        return bool(self.db.run(sql, **params))

    def put_account(self, account_id: str, email: str, limit: int, active: bool,
                    version: int, shown: dict[str, Any] | None = None) -> bool:
        """Upsert when ``version`` is newer. ``shown`` (kind, state, storage_limit_bytes,
        storage_usage_bytes, storage_checked_at) is what account-stats shows; storage measured
        later than the stored one also applies at the same version."""
        shown = {"kind": None, "state": None, "storage_limit_bytes": None,
                 "storage_usage_bytes": None, "storage_checked_at": None, **(shown or {})}
        return self._applied(
            "INSERT INTO accounts AS a (id, email, daily_limit_bytes, active, version, kind, state,"
            " storage_limit_bytes, storage_usage_bytes, storage_checked_at) "
            "VALUES (:id, :email, :limit, :active, :v, :kind, :state, :slimit, :susage, "
            "CAST(:schecked AS timestamptz)) ON CONFLICT (id) DO UPDATE SET "
            "email = EXCLUDED.email, daily_limit_bytes = EXCLUDED.daily_limit_bytes, "
            "active = EXCLUDED.active, version = EXCLUDED.version, deleted = false, "
            "kind = EXCLUDED.kind, state = EXCLUDED.state, "
            "storage_limit_bytes = EXCLUDED.storage_limit_bytes, "
            "storage_usage_bytes = EXCLUDED.storage_usage_bytes, "
            "storage_checked_at = EXCLUDED.storage_checked_at, updated_at = now() "
            f"WHERE {_NEWER.format(t='a')} OR (a.version = EXCLUDED.version AND NOT a.deleted "
            "AND EXCLUDED.storage_checked_at IS NOT NULL AND (a.storage_checked_at IS NULL OR "
            "a.storage_checked_at < EXCLUDED.storage_checked_at)) RETURNING id",
            id=account_id, email=email, limit=limit, active=active, v=version,
            kind=shown["kind"], state=shown["state"], slimit=shown["storage_limit_bytes"],
            susage=shown["storage_usage_bytes"], schecked=shown["storage_checked_at"])

    def put_file(self, file_id: str, name: str, size: int, md5: str | None, version: int,
                 sha256: str | None = None) -> bool:
        """A file's sha-256 never changes with its version: a message without one (an older
        sender) keeps the stored one."""
        return self._applied(
            "INSERT INTO files (id, name, size, md5, sha256, version) "
            "VALUES (:id, :name, :size, :md5, :sha, :v) "
            "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, size = EXCLUDED.size, "
            "md5 = EXCLUDED.md5, sha256 = COALESCE(EXCLUDED.sha256, files.sha256), "
            "version = EXCLUDED.version, deleted = false, updated_at = now() "
            f"WHERE {_NEWER.format(t='files')} RETURNING id",
            id=file_id, name=name, size=size, md5=md5, sha=sha256, v=version)

    def put_replica(self, file_id: str, account_id: str, drive_file_id: str, url: str,
                    version: int) -> bool:
        return self._applied(
            "INSERT INTO replicas (file_id, account_id, drive_file_id, url, version) "
            "VALUES (:f, :a, :d, :url, :v) ON CONFLICT (file_id, account_id) DO UPDATE SET "
            "drive_file_id = EXCLUDED.drive_file_id, url = EXCLUDED.url, version = "
            "EXCLUDED.version, "
            f"deleted = false, updated_at = now() WHERE {_NEWER.format(t='replicas')} RETURNING "
            "file_id",
            f=file_id, a=account_id, d=drive_file_id, url=url, v=version)

    def delete_account(self, account_id: str, version: int) -> bool:
        return self._applied(
            "INSERT INTO accounts (id, version, deleted) VALUES (:id, :v, true) "
            "ON CONFLICT (id) DO UPDATE SET email = NULL, daily_limit_bytes = NULL, active = "
            "false, "
            "version = EXCLUDED.version, deleted = true, updated_at = now() "
            f"WHERE {_DELETE_WINS.format(t='accounts')} RETURNING id", id=account_id, v=version)

    def delete_file(self, file_id: str, version: int) -> bool:
        return self._applied(
            "INSERT INTO files (id, version, deleted) VALUES (:id, :v, true) "
            "ON CONFLICT (id) DO UPDATE SET name = NULL, size = NULL, md5 = NULL, sha256 = NULL, "
            "version = EXCLUDED.version, deleted = true, updated_at = now() "
            f"WHERE {_DELETE_WINS.format(t='files')} RETURNING id", id=file_id, v=version)

    def delete_replica(self, file_id: str, account_id: str, version: int) -> bool:
        return self._applied(
            "INSERT INTO replicas (file_id, account_id, version, deleted) VALUES (:f, :a, :v, "
            "true) "
            "ON CONFLICT (file_id, account_id) DO UPDATE SET drive_file_id = NULL, url = NULL, "
            "version = EXCLUDED.version, deleted = true, updated_at = now() "
            f"WHERE {_DELETE_WINS.format(t='replicas')} RETURNING file_id",
            f=file_id, a=account_id, v=version)

    def replicas(self, file_id: str | None, account_id: str | None) -> list[dict[str, Any]]:
        """Live replicas, optionally of one file and/or one account."""
        return self.db.run(REPLICAS_SQL, f=file_id, a=account_id)

    def iter_replicas(self, file_id: str | None,
                      account_id: str | None) -> Iterator[dict[str, Any]]:
        """The same rows as ``replicas``, streamed in batches (200,000 rows stay cheap)."""
        return self.db.stream(REPLICAS_SQL, f=file_id, a=account_id)

    def replica_accounts(self) -> list[str]:
        """The accounts with live replicas (index ``replicas_account``), ordered."""
        return [row["account_id"] for row in self.db.run(
            "SELECT DISTINCT account_id FROM replicas WHERE NOT deleted ORDER BY account_id")]


# A file and its live holders with today's usage, least loaded first: read only, books
# nothing (the download redirector's duplicates, Metalink and HEAD). ``healthy``: the
# replica's health (migration 010) is ok or not known yet.
HOLDERS = Prepared("fs_holders", (
    "SELECT f.name, f.size, f.md5, f.sha256, h.account_id, h.url, h.bytes_today, "
    "h.daily_limit_bytes, h.healthy FROM files f LEFT JOIN LATERAL ("
    "SELECT r.account_id, r.url, COALESCE(u.bytes_today, 0) AS bytes_today, "
    "a.daily_limit_bytes, (hh.state IS NULL OR hh.state = 'ok') AS healthy FROM replicas r "
    "JOIN accounts a ON a.id = r.account_id AND a.active AND NOT a.deleted "
    "LEFT JOIN account_usage u ON u.account_id = r.account_id AND u.day = :d "
    "LEFT JOIN replica_health hh ON hh.file_id = r.file_id AND hh.account_id = r.account_id "
    "AND hh.drive_file_id = r.drive_file_id "
    "WHERE r.file_id = f.id AND NOT r.deleted) h ON true "
    "WHERE f.id = :f AND NOT f.deleted "
    'ORDER BY h.bytes_today, h.account_id COLLATE "C"'))

# One call does the whole get-url transaction (migration 003_get_url_function.sql).
GET_URL = Prepared("fs_get_url_call", "SELECT * FROM fs_get_url(:f, :d, :eid, :at)")
# The same for one limited client: bucket, de-duplication and booking (migration 006).
GET_URL_CLIENT = Prepared(
    "fs_get_url_client_call",
    "SELECT * FROM fs_get_url_client(:f, :d, :eid, :at, :client, :now, :rate, :burst, :window)")


class DownloadRepository:
    """get-url's one statement, and the usage rows it needs.

    The call runs prepared, on a plain psycopg2 cursor (``Database.call``): get-url is the
    hot path, and records/SQLAlchemy's per-statement overhead and three round trips per call
    (BEGIN + read, reserve, COMMIT) were most of its cost.
    """

    @staticmethod
    def get_url(db: Database, file_id: str, day: date, event_id: str, at: str) -> dict[str, Any]:
        """The outcome of one get-url (see the SQL function for the outcomes and columns)."""
        return db.call(GET_URL, f=file_id, d=day, eid=event_id, at=at)[0]

    @staticmethod
    def get_url_for_client(db: Database, file_id: str, day: date, event_id: str, at: str,
                           client: str, now: datetime, rate: float, burst: float,
                           window: float) -> dict[str, Any]:
        """get-url for a limited client (``fs_get_url_client``: its outcomes add ``limited``
        and ``repeated``; ``event_id`` is the booking's, ``retry_after`` in seconds)."""
        return db.call(GET_URL_CLIENT, f=file_id, d=day, eid=event_id, at=at, client=client,
                       now=now, rate=rate, burst=burst, window=window)[0]

    @staticmethod
    def prune_client_state(db: Database, now: datetime, batch: int = 10_000) -> int:
        """Forget full buckets and expired de-duplication rows; return how many rows went."""
        return int(db.run("SELECT fs_prune_client_state(:now, :n) AS n", now=now,
                          n=batch)[0]["n"])

    @staticmethod
    def holders(db: Database, file_id: str, day: date) -> list[dict[str, Any]]:
        """No row: no such file; one row with ``account_id`` None: no live holder; else one
        row per holder (file columns repeated), least bytes today first."""
        return db.call(HOLDERS, f=file_id, d=day)

    @staticmethod
    def ensure_usage_rows(db: Database, account_ids: list[str], day: date) -> None:
        """Create missing (account, day) rows outside the get-url transaction, so a reservation
        is a plain conditional UPDATE: one that fails its WHERE leaves the row unlocked, which
        keeps concurrent get-url transactions free of deadlocks.

        New rows (a new UTC day) are followed by ``ANALYZE account_usage``: until then the
        planner believes the day has no rows and joins a file's holders to their usage by
        scanning every usage row per holder (200 holders: ~3x slower), which autovacuum
        would only fix a minute or more later."""
        created = db.run("INSERT INTO account_usage (account_id, day) SELECT a, :d FROM "
                         "unnest(:ids) AS a ON CONFLICT (account_id, day) DO NOTHING "
                         "RETURNING 1", ids=account_ids, d=day)
        if created:
            db.run("ANALYZE account_usage")


# Claiming a row marks it sent (sent_at = now, one more attempt): other relays skip it until
# ``resend_after`` has passed, far longer than a POST may last.
CLAIM_SQL = """
UPDATE outbox o SET sent_at = now(), attempts = o.attempts + 1
  FROM (SELECT id FROM outbox
         WHERE sent_at IS NULL OR sent_at < now() - make_interval(secs => :resend)
         ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED) due
 WHERE o.id = due.id
RETURNING o.id, o.event
"""


class OutboxRepository:
    """Download events not yet confirmed by stats-ingest (their id in ``stats_events``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def claim(self, batch: int, resend_after: float) -> list[dict[str, Any]]:
        """Claim up to ``batch`` due rows, oldest first, marking them sent; answer them.

        Due: never sent, or sent ``resend_after`` s ago and still not ingested. One
        statement in its own short transaction: its row locks (SKIP LOCKED, so concurrent
        claims take disjoint rows) last only for it, never for the POST that follows, and a
        claimed row is not due again for ``resend_after`` s, so no other relay sends it
        meanwhile.
        """
        # On the transaction pool, as get-url's hot path owns the autocommit one: a claim
        # there would push a get-url call onto a fresh overflow connection.
        with self.db.transaction() as conn:
            found = rows(conn, CLAIM_SQL, n=batch, resend=resend_after)
        return sorted(found, key=lambda row: row["id"])

    def release(self, ids: list[int]) -> None:
        """The POST failed: make these rows due again at once (the next pass retries)."""
        with self.db.transaction() as conn:
            conn.query("UPDATE outbox SET sent_at = NULL WHERE id = ANY(:ids)", ids=ids)

    def purge_ingested(self) -> int:
        """Delete the rows whose event stats-ingest has recorded; return how many."""
        return len(self.db.run("DELETE FROM outbox o USING stats_events s "
                               "WHERE s.event_id = o.event_id RETURNING o.id"))

    def pending(self) -> int:
        """Events not yet confirmed ingested (sent or not)."""
        return int(self.db.run("SELECT count(*) AS n FROM outbox")[0]["n"])
