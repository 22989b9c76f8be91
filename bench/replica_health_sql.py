"""Replica health's cost inside PostgreSQL: one get-url call as migration 003 defined
``fs_get_url`` (no health) next to today's (migration 010: healthy holders only), on one
connection, no HTTP, in the same run.

    python -m bench.replica_health_sql [--calls 3000]

Starts its own PostgreSQL in a temporary directory, seeds get_url_throughput's 10 accounts
and 50 files, installs 003's function beside today's as ``fs_get_url_003``, then times
``--calls`` prepared calls of each kind, in alternating blocks of 100: 003; 010 with no
health rows (every replica ok or unknown); 010 with a health row for every replica, 3 of
the 10 copies of each file blocked (the costly case: the join finds rows and filters; the
same 25 files' sizes spread, the other 25 files for the first two kinds).
Prints µs per call and the ratio to 003. Stops PostgreSQL by pid at the end.
"""

from __future__ import annotations

import argparse
import uuid
from datetime import UTC, datetime

from bench.get_url_throughput import FILES
from bench.sql_calls import on_seeded_postgres, print_per_call, time_in_blocks
from devstack.process import interrupt_on_sigterm
from fileserver.contracts.timestamps import format_utc
from fileserver.downloader.db import MIGRATIONS_DIR, Database, Prepared
from fileserver.downloader.health_repository import HealthRepository
from fileserver.downloader.repository import DownloadRepository

OLD = Prepared("fs_get_url_003_call", "SELECT * FROM fs_get_url_003(:f, :d, :eid, :at)")


def install_003(db: Database) -> None:
    sql = (MIGRATIONS_DIR / "003_get_url_function.sql").read_text()
    with db.sqlalchemy_transaction() as raw:
        raw.exec_driver_sql(sql.replace("FUNCTION fs_get_url(", "FUNCTION fs_get_url_003("))


HEALTHY, BLOCKED = FILES[:25], FILES[25:]  # same sizes' spread, rows only for BLOCKED


def mark_blocked(db: Database, blocked_per_file: int) -> None:
    """Health rows for every copy of the ``BLOCKED`` files: ``blocked_per_file`` of the 10
    blocked, the rest ok. The ``HEALTHY`` files have none (unknown: healthy)."""
    health, now = HealthRepository(db), datetime.now(UTC)
    for file_id in BLOCKED:
        for i in range(10):
            row = {"file_id": file_id, "account_id": f"acc{i:02d}",
                   "drive_file_id": f"{file_id}-{i}"}
            state = "blocked" if i < blocked_per_file else "ok"
            health.record(row, state, "download_quota" if state == "blocked" else None,
                          None, now)


def call(db: Database, kind: str, i: int) -> str:
    now = datetime.now(UTC)
    files = BLOCKED if kind == "010, 3 of 10 blocked" else HEALTHY
    params = {"f": files[i % len(files)], "d": now.date(), "eid": uuid.uuid4().hex,
              "at": format_utc(now)}
    if kind == "003":
        found = db.call(OLD, **params)[0]
    else:
        found = DownloadRepository.get_url(db, *params.values())
        if kind == "010, 3 of 10 blocked":
            assert not found["account_id"].endswith(("00", "01", "02")), found
    return found["outcome"]


def run(calls: int, db: Database) -> dict[str, float]:
    install_003(db)
    DownloadRepository.ensure_usage_rows(db, [f"acc{i:02d}" for i in range(10)],
                                         datetime.now(UTC).date())
    mark_blocked(db, 3)
    return time_in_blocks(db, ("003", "010, no health rows", "010, 3 of 10 blocked"),
                          calls, call)


def main() -> None:
    interrupt_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    per_call = on_seeded_postgres("bench-health-sql-", lambda db: run(args.calls, db))
    print_per_call(per_call, "003", "vs 003")


if __name__ == "__main__":
    main()
