"""What the two SQL-only get-url benchmarks (``client_limits_sql``, ``replica_health_sql``)
share: a PostgreSQL of their own seeded with get_url_throughput's catalogue, calls of each
kind timed in alternating blocks on one connection, and the µs-per-call table."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.get_url_throughput import seed
from devstack.postgres import PostgresServer
from devstack.process import free_port
from fileserver.downloader.db import Database

BLOCK = 100
Call = Callable[[Database, str, int], str]


def time_in_blocks(db: Database, kinds: Sequence[str], calls: int, call: Call,
                   outcomes: tuple[str, ...] = ("ok",)) -> dict[str, float]:
    """µs per call of each kind: ``calls`` calls each, in alternating blocks of ``BLOCK``
    so that drift hits every kind alike; the first round warms up and is not counted.
    Every call must answer one of ``outcomes``."""
    spent = dict.fromkeys(kinds, 0.0)
    for start in range(-BLOCK, calls, BLOCK):
        for kind in kinds:
            began = time.perf_counter()
            for i in range(start, start + BLOCK):
                outcome = call(db, kind, i)
                assert outcome in outcomes, (kind, outcome)
            if start >= 0:
                spent[kind] += time.perf_counter() - began
    done = calls // BLOCK * BLOCK
    return {kind: seconds / done * 1e6 for kind, seconds in spent.items()}


def on_seeded_postgres(prefix: str, measure: Callable[[Database], dict[str, float]]
                       ) -> dict[str, float]:
    """Start a PostgreSQL in a temporary directory, seed the catalogue, run ``measure`` on
    a one-connection pool, and stop the server by pid whatever happens."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        server = PostgresServer(Path(tmp) / "pg", free_port(), Path(tmp) / "pg.log")
        server.start(timeout=60)
        try:
            seed(server.url)
            db = Database(server.url, pool_size=1)
            try:
                return measure(db)
            finally:
                db.close()
        finally:
            server.stop()


def print_per_call(per_call: dict[str, float], base: str, label: str) -> None:
    """The table: µs per call of each kind and its ratio to ``base``."""
    print(f"{'get-url call':>24} {'µs/call':>8} {label:>8}")
    for kind, micros in per_call.items():
        print(f"{kind:>24} {micros:>8.0f} {micros / per_call[base]:>8.2f}")
