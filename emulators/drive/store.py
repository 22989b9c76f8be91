"""SQLite metadata for the emulator: one connection behind a lock, WAL journal.

File bodies never go through here: they live as files under ``blobs/`` (see blobs.py).
A single serialised connection keeps every statement atomic under many request threads;
statements are tiny, so the lock is never held during body I/O.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    email TEXT PRIMARY KEY, display_name TEXT NOT NULL, public_key_pem TEXT NOT NULL,
    private_key_id TEXT NOT NULL, storage_limit INTEGER NOT NULL,
    daily_download_limit INTEGER NOT NULL, uploaded_bytes INTEGER NOT NULL DEFAULT 0,
    copied_bytes INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY, email TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, owner TEXT NOT NULL,
    name TEXT NOT NULL, mime_type TEXT NOT NULL, size INTEGER NOT NULL, md5 TEXT NOT NULL,
    app_properties TEXT NOT NULL, trashed INTEGER NOT NULL DEFAULT 0,
    created_time TEXT NOT NULL, modified_time TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS files_owner ON files(owner);
CREATE TABLE IF NOT EXISTS permissions (
    id TEXT NOT NULL, file_id TEXT NOT NULL, type TEXT NOT NULL, role TEXT NOT NULL,
    email TEXT, PRIMARY KEY (file_id, id));
CREATE TABLE IF NOT EXISTS downloads (
    email TEXT NOT NULL, day TEXT NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (email, day));
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, metadata TEXT NOT NULL, fields TEXT,
    total_size INTEGER, mime_type TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token TEXT PRIMARY KEY, email TEXT NOT NULL, client_id TEXT NOT NULL,
    client_secret TEXT NOT NULL, expires_at REAL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS delegations (client_id TEXT PRIMARY KEY, scopes TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS upload_days (
    email TEXT NOT NULL, day TEXT NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (email, day));
CREATE TABLE IF NOT EXISTS drives (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, request_key TEXT UNIQUE,
    created_time TEXT NOT NULL, item_limit INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS drive_members (
    drive_id TEXT NOT NULL, email TEXT NOT NULL, role TEXT NOT NULL,
    PRIMARY KEY (drive_id, email));
"""

# Columns added after the first release: created on new databases and added to old ones.
ADDED_COLUMNS = {
    "accounts": [
        ("kind", "TEXT NOT NULL DEFAULT 'service_account'"),
        ("owns_files", "INTEGER NOT NULL DEFAULT 1"),  # 0: service account after the cutoff
        ("client_id", "TEXT"),
        ("extra_usage", "INTEGER NOT NULL DEFAULT 0"),  # storage used outside Drive (filler)
        ("daily_upload_limit", f"INTEGER NOT NULL DEFAULT {750 * 10**9}"),
        ("suspended", "INTEGER NOT NULL DEFAULT 0"),
        ("suspended_links_kept", "INTEGER NOT NULL DEFAULT 0"),
    ],
    "files": [("drive_id", "TEXT")],
    "uploads": [("drive_id", "TEXT"), ("file_id", "TEXT")],
}
TABLES = ("accounts", "tokens", "files", "permissions", "downloads", "uploads",
          "refresh_tokens", "delegations", "upload_days", "drives", "drive_members")


class Store:
    """Thread-safe access to the metadata database."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(SCHEMA)
            self._add_columns()
            self._conn.execute("CREATE INDEX IF NOT EXISTS files_drive ON files(drive_id)")

    def _add_columns(self) -> None:
        for table, columns in ADDED_COLUMNS.items():
            present = {row["name"] for row in self._conn.execute(f"PRAGMA table_info({table})")}
            for name, decl in columns:
                if name not in present:
                    self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(row) for row in self._conn.execute(sql, params).fetchall()]

    def row(self, sql: str, params: tuple[Any, ...] = ()) -> dict[str, Any] | None:
        found = self.rows(sql, params)
        return found[0] if found else None

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Run one statement; answer the number of rows changed."""
        with self._lock:
            return self._conn.execute(sql, params).rowcount

    def transaction(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Run several statements atomically."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    self._conn.execute(sql, params)
            except Exception:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def charge_download(self, email: str, day: str, nbytes: int, limit: int) -> bool:
        """Add ``nbytes`` to today's downloads unless the limit is already reached."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            row = self._conn.execute("SELECT bytes FROM downloads WHERE email=? AND day=?",
                                     (email, day)).fetchone()
            used = row["bytes"] if row else 0
            if used >= limit:
                self._conn.execute("ROLLBACK")
                return False
            self._conn.execute(
                "INSERT INTO downloads(email, day, bytes) VALUES (?, ?, ?) "
                "ON CONFLICT(email, day) DO UPDATE SET bytes = bytes + excluded.bytes",
                (email, day, nbytes))
            self._conn.execute("COMMIT")
            return True

    def charge_upload(self, email: str, day: str, nbytes: int) -> None:
        """Add ``nbytes`` to the account's uploads + copies of ``day``."""
        self.execute("INSERT INTO upload_days(email, day, bytes) VALUES (?, ?, ?) "
                     "ON CONFLICT(email, day) DO UPDATE SET bytes = bytes + excluded.bytes",
                     (email, day, nbytes))

    def reset(self) -> None:
        with self._lock:
            for table in TABLES:
                self._conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
