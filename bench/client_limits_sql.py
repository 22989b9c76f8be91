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
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench.get_url_throughput import FILES, seed
from devstack.postgres import PostgresServer
from devstack.process import free_port, interrupt_on_sigterm
from fileserver.contracts.timestamps import format_utc
from fileserver.downloader.db import Database
from fileserver.downloader.repository import DownloadRepository

BLOCK = 100


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
    kinds = ("plain", "new client", "repeat")
    spent = dict.fromkeys(kinds, 0.0)
    for kind in kinds:  # warm up: prepare, create today's usage rows
        DownloadRepository.ensure_usage_rows(db, [f"acc{i:02d}" for i in range(10)],
                                             datetime.now(UTC).date())
        call(db, kind, 0)
    for start in range(0, calls, BLOCK):
        for kind in kinds:
            began = time.perf_counter()
            for i in range(start, start + BLOCK):
                assert call(db, kind, i) in ("ok", "repeated")
            spent[kind] += time.perf_counter() - began
    done = calls // BLOCK * BLOCK
    return {kind: seconds / done * 1e6 for kind, seconds in spent.items()}


def main() -> None:
    interrupt_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-limits-sql-") as tmp:
        server = PostgresServer(Path(tmp) / "pg", free_port(), Path(tmp) / "pg.log")
        server.start(timeout=60)
        try:
            seed(server.url)
            db = Database(server.url, pool_size=1)
            per_call = run(args.calls, db)
            db.close()
        finally:
            server.stop()
    plain = per_call["plain"]
    print(f"{'get-url call':>24} {'µs/call':>8} {'vs plain':>8}")
    for kind, micros in per_call.items():
        print(f"{kind:>24} {micros:>8.0f} {micros / plain:>8.2f}")


if __name__ == "__main__":
    main()
