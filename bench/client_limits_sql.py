"""The per-client limits' cost inside PostgreSQL: one get-url call as ``fs_get_url`` (limits
off) next to ``fs_get_url_client`` (limits on), on one connection, no HTTP.

    python -m bench.client_limits_sql [--calls 3000]

Starts its own PostgreSQL in a temporary directory, seeds get_url_throughput's 10 accounts
and 50 files, then times ``--calls`` prepared calls of each kind, in alternating blocks of
100: plain; limited, a new client every call (a bucket row and a window row written: the
costly case); limited, one client repeating one file (answered from the window, nothing
booked). Prints µs per call and the ratio to plain. Stops PostgreSQL by pid at the end.
"""

from __future__ import annotations

import argparse
import uuid
from datetime import UTC, datetime

from bench.get_url_throughput import FILES
from bench.sql_calls import on_seeded_postgres, print_per_call, time_in_blocks
from devstack.process import interrupt_on_sigterm
from fileserver.contracts.timestamps import format_utc
from fileserver.downloader.db import Database
from fileserver.downloader.repository import DownloadRepository


def call(db: Database, kind: str, i: int) -> str:
    now = datetime.now(UTC)
    args = (db, FILES[i % len(FILES)], now.date(), uuid.uuid4().hex, format_utc(now))
    if kind == "plain":
        return DownloadRepository.get_url(*args)["outcome"]
    client = f"198.18.{(i >> 8) & 255}.{i & 255}" if kind == "new client" else "203.0.113.7"
    if kind == "repeat":
        args = (db, FILES[0], *args[2:])
    return DownloadRepository.get_url_for_client(*args, client, now, 1e6, 1e6, 600.0)["outcome"]


def run(calls: int, db: Database) -> dict[str, float]:
    DownloadRepository.ensure_usage_rows(db, [f"acc{i:02d}" for i in range(10)],
                                         datetime.now(UTC).date())
    return time_in_blocks(db, ("plain", "new client", "repeat"), calls, call,
                          ("ok", "repeated"))


def main() -> None:
    interrupt_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    per_call = on_seeded_postgres("bench-limits-sql-", lambda db: run(args.calls, db))
    print_per_call(per_call, "plain", "vs plain")


if __name__ == "__main__":
    main()
