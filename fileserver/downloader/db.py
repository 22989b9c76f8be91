"""PostgreSQL access through ``records`` (over SQLAlchemy + psycopg2), and the migrations.

records 0.6 on SQLAlchemy 2 never commits ``Database.query``, and its ``transaction()`` is not
atomic on an AUTOCOMMIT engine and swallows exceptions. So: one pooled AUTOCOMMIT engine for
single statements (``run``), and ``transaction()`` that takes a connection of a second pool
(READ COMMITTED) and wraps it in a real SQLAlchemy transaction (commit or roll back, re-raise).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg2
import records
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant shared by every Downloader process: they serialize migrations on it.
MIGRATION_LOCK_KEY = 0x46534D49  # "FSMI"


class Database:
    """A pooled connection to the Downloader's PostgreSQL."""

    def __init__(self, url: str, pool_size: int = 10) -> None:
        pool = {"pool_size": pool_size, "max_overflow": pool_size, "pool_recycle": 300}
        self.records = records.Database(url, isolation_level="AUTOCOMMIT", **pool)
        # A second pool at the default READ COMMITTED level for transactions: switching the
        # isolation level per checkout would cost two extra round trips per request.
        self.tx_records = records.Database(url, **pool)

    def run(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        """Run one statement on its own (autocommit); return its rows as dicts."""
        with self.records.get_connection() as conn:
            return rows(conn, sql, **params)

    @contextmanager
    def transaction(self) -> Iterator[records.Connection]:
        """A records connection inside one atomic transaction."""
        with self.sqlalchemy_transaction() as raw:
            yield records.Connection(raw)

    @contextmanager
    def sqlalchemy_transaction(self) -> Iterator[Connection]:
        """The underlying SQLAlchemy connection in one transaction (for raw SQL scripts)."""
        raw = self.tx_records.get_engine().connect()
        try:
            with raw.begin():
                yield raw
        finally:
            raw.close()

    def call(self, statement: Prepared, **params: Any) -> list[dict[str, Any]]:
        """Run ``statement`` on its own (autocommit: one statement, one transaction), prepared
        server-side once per pooled connection, on a plain psycopg2 cursor.

        For the hot path (get-url, one PL/pgSQL call): records and SQLAlchemy's text() compile
        and wrap every statement and row, and PostgreSQL would parse and plan each call again.
        The pool clears ``info`` when it reconnects, so a new connection prepares again.
        """
        try:
            conn = self.records.get_engine().raw_connection()
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            raise OperationalError("connect", None, exc) from exc
        try:
            cursor = conn.cursor()
            prepared = conn.info.setdefault("prepared", set())
            if statement.name not in prepared:
                cursor.execute(statement.prepare_sql)
                prepared.add(statement.name)
            cursor.execute(statement.execute_sql, statement.args(params))
            names = [column.name for column in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()] \
                if names else []
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            conn.invalidate()  # never hand a dead connection to the next request
            # As SQLAlchemy's own error, so callers map an outage the same way everywhere.
            raise OperationalError(statement.name, None, exc) from exc
        finally:
            conn.close()  # back to the pool

    def stream(self, sql: str, batch: int = 5000, **params: Any) -> Iterator[dict[str, Any]]:
        """Rows of one read-only ``sql`` as dicts, fetched ``batch`` at a time from a
        server-side cursor (memory stays at one batch whatever the result's size)."""
        try:
            conn = self.tx_records.get_engine().raw_connection()
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            raise OperationalError("connect", None, exc) from exc
        try:
            with conn.cursor(name="fs_stream") as cursor:
                cursor.itersize = batch
                cursor.execute(re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql), params)
                names: list[str] | None = None
                for row in cursor:
                    names = names or [column.name for column in cursor.description]
                    yield dict(zip(names, row, strict=True))
            conn.rollback()
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            conn.invalidate()
            raise OperationalError("stream", None, exc) from exc
        finally:
            conn.close()

    def close(self) -> None:
        self.records.close()
        self.tx_records.close()


def rows(conn: records.Connection, sql: str, **params: Any) -> list[dict[str, Any]]:
    """Execute ``sql`` on ``conn`` and fetch every row as a dict (empty for no result)."""
    result = conn.query(sql, fetchall=True, **params)
    return [dict(row.as_dict()) for row in result] if len(result) else []


class Prepared:
    """A statement with ``:name`` parameters, prepared server-side as ``name``."""

    def __init__(self, name: str, sql: str) -> None:
        self.name = name
        self.params: list[str] = []
        body = re.sub(r"(?<![:\w]):(\w+)", self._positional, sql)
        self.prepare_sql = f"PREPARE {name} AS {body}"
        placeholders = ", ".join(["%s"] * len(self.params))
        self.execute_sql = f"EXECUTE {name}({placeholders})"

    def _positional(self, match: re.Match[str]) -> str:
        if match.group(1) not in self.params:
            self.params.append(match.group(1))
        return f"${self.params.index(match.group(1)) + 1}"

    def args(self, params: dict[str, Any]) -> list[Any]:
        return [params[name] for name in self.params]


def migration_files() -> list[tuple[str, str]]:
    """``(version, sql)`` of every ``NNN_name.sql`` file, in version order."""
    return [(path.stem, path.read_text()) for path in sorted(MIGRATIONS_DIR.glob("*.sql"))]


def migrate(db: Database) -> list[str]:
    """Apply the migrations not applied yet, in one transaction; return their versions.

    A transaction-scoped advisory lock serializes processes that start at the same time; the
    second one then sees the versions the first recorded and applies nothing.
    """
    applied: list[str] = []
    with db.sqlalchemy_transaction() as raw:
        conn = records.Connection(raw)
        conn.query("SELECT pg_advisory_xact_lock(:key)", key=MIGRATION_LOCK_KEY)
        conn.query("CREATE TABLE IF NOT EXISTS schema_migrations ("
                   "version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
        done = {row["version"] for row in rows(conn, "SELECT version FROM schema_migrations")}
        for version, sql in migration_files():
            if version in done:
                continue
            raw.exec_driver_sql(sql)  # a whole script, no bind-parameter parsing
            conn.query("INSERT INTO schema_migrations (version) VALUES (:v)", v=version)
            applied.append(version)
    return applied
