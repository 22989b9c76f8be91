"""The least-loaded choice's cost inside PostgreSQL: ``fs_get_url`` as migration 010 defined
it (rotation within one file size of the least loaded) next to migration 011's (least
loaded, usage row locked FOR UPDATE SKIP LOCKED) and 012's (the same choice, each attempt on
a usage row in a subtransaction so that no call waits holding one), no HTTP, in the same run.

    python -m bench.least_loaded_sql [--rounds 3] [--calls 1000]

Starts its own PostgreSQL in a temporary directory, seeds get_url_throughput's 10 accounts and
50 files plus one file held by 200 accounts, then, per round, installs 010's function body,
then 011's, then 012's (``CREATE OR REPLACE``, alternating on the same data), and times with
each: ``--calls`` sequential calls over the 50 files on one connection (``seq 10``), 8
connections at once over the 50 files, ``--calls`` / 3 each (``conc 8``: different files
competing for the same accounts' usage rows), and ``--calls`` / 2 sequential calls of the
200-holder file (``seq 200``). Prints calls/s per kind: the median and every round, 010 first.
Stops PostgreSQL by pid at the end.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psycopg2

from bench.get_url_throughput import FILES, seed
from devstack.postgres import PostgresServer
from devstack.process import free_port, interrupt_on_sigterm
from fileserver.downloader.db import MIGRATIONS_DIR, Database
from fileserver.downloader.repository import RegistryRepository

DAY = "2026-12-01"
CALL = "SELECT outcome FROM fs_get_url(%s, %s, %s, '2026-12-01T00:00:00.000Z')"


def function_body(migration: str, function: str = "fs_get_url") -> str:
    """The ``CREATE OR REPLACE FUNCTION`` statement of ``function`` in ``migration``."""
    text = (MIGRATIONS_DIR / migration).read_text()
    start = text.index(f"CREATE OR REPLACE FUNCTION {function}(")
    return text[start:text.index("$$;", start) + 3]


def seed_wide(url: str) -> None:
    """get_url_throughput's catalogue, 190 more accounts and ``wide`` held by all 200."""
    seed(url)
    db = Database(url, pool_size=1)
    registry = RegistryRepository(db)
    for i in range(10, 200):
        registry.put_account(f"acc{i:03d}", f"acc{i:03d}@x.test", 10**18, True, 1)
    registry.put_file("wide", "wide.bin", 1000, None, 1)
    for row in db.run("SELECT id FROM accounts"):
        registry.put_replica("wide", row["id"], f"wide-{row['id']}", f"http://d/{row['id']}", 1)
    db.run("INSERT INTO account_usage (account_id, day) SELECT id, :d FROM accounts "
           "ON CONFLICT DO NOTHING", d=DAY)
    db.run("ANALYZE")
    db.close()


def calls_per_second(dsn: str, files: list[str], calls: int, connections: int) -> float:
    def work(worker: int) -> None:
        conn = psycopg2.connect(dsn)
        conn.autocommit = True
        rng = random.Random(worker)
        with conn.cursor() as cur:
            for n in range(calls):
                cur.execute(CALL, (rng.choice(files), DAY, f"e{worker}-{n}-{time.time_ns()}"))
                assert cur.fetchone()[0] == "ok"
        conn.close()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return calls * connections / (time.perf_counter() - started)


def run(args: argparse.Namespace, base: Path) -> None:
    postgres = PostgresServer(base / "pg", free_port(), base / "pg.log")
    postgres.start(timeout=60)
    try:
        seed_wide(postgres.url)
        dsn = postgres.url.replace("postgresql+psycopg2://", "postgresql://")
        admin = psycopg2.connect(dsn)
        admin.autocommit = True
        kinds = {"seq 10": (FILES, args.calls, 1), "conc 8": (FILES, args.calls // 3, 8),
                 "seq 200": (["wide"], args.calls // 2, 1)}
        bodies = {"010": function_body("010_replica_health.sql"),  # 012 dropped 011's helper:
                  "011": function_body("011_least_loaded_get_url.sql", "fs_least_loaded")
                  + "\n" + function_body("011_least_loaded_get_url.sql"),
                  "012": function_body("012_get_url_waits_holding_nothing.sql")}
        got: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for name, body in bodies.items():
                with admin.cursor() as cur:
                    cur.execute(body)
                for kind, (files, calls, connections) in kinds.items():
                    got.setdefault((name, kind), []).append(
                        calls_per_second(dsn, files, calls, connections))
        admin.close()
        print(f"{'function':<9}" + "".join(f"{kind + ' calls/s':>30}" for kind in kinds))
        for name in bodies:
            cells = [f"{statistics.median(got[name, k]):.0f} "
                     f"({'/'.join(f'{v:.0f}' for v in got[name, k])})" for k in kinds]
            print(f"{name:<9}" + "".join(f"{cell:>30}" for cell in cells), flush=True)
    finally:
        postgres.stop()


def main() -> None:
    interrupt_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-least-loaded-") as tmp:
        run(args, Path(tmp))


if __name__ == "__main__":
    main()
