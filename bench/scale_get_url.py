"""get-url for files held by 200 accounts next to files held by 4, same run, same database.

    python -m bench.scale_get_url [--accounts 200] [--files 1000] [--seconds 8] [--clients 16]

Starts its own PostgreSQL and the get-url function process (direct, no gateway: the holder
scan is what differs) on free ports in a temp dir. Seeds ``--accounts`` active accounts, a
catalogue of ``--files`` files each held by every account (``files x accounts`` replicas, in
bulk SQL), and 50 more files held by 4 accounts. Then runs closed-loop ``--clients`` clients
for ``--seconds`` against random files of each set, twice, alternating, and prints the best
req/s of each, p50/p99 and the wide/narrow ratio (goal >= 0.8). Stops everything by pid.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import psycopg2

from bench.get_url_throughput import measure, run_cleaning_up, start_function
from devstack.postgres import PostgresServer
from devstack.process import free_port, interrupt_on_sigterm
from fileserver.downloader.db import Database, migrate

NARROW_FILES, NARROW_HOLDERS = 50, 4


def seed(url: str, accounts: int, files: int) -> tuple[list[str], list[str]]:
    """Bulk-insert the registry; answer (wide file ids, narrow file ids)."""
    db = Database(url, pool_size=1)
    migrate(db)
    db.close()
    conn = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("INSERT INTO accounts (id, email, daily_limit_bytes, active, version) "
                    "SELECT 'acc' || lpad(i::text, 4, '0'), 'acc' || i || '@x.test', "
                    "10^18, true, 1 FROM generate_series(0, %s - 1) i", (accounts,))
        cur.execute("INSERT INTO files (id, name, size, version) SELECT 'w' || lpad(i::text, 5,"
                    " '0'), 'w.bin', 1000 + i * 20000, 1 FROM generate_series(0, %s - 1) i",
                    (files,))
        cur.execute("INSERT INTO files (id, name, size, version) SELECT 'n' || lpad(i::text, 5,"
                    " '0'), 'n.bin', 1000 + i * 20000, 1 FROM generate_series(0, %s - 1) i",
                    (NARROW_FILES,))
        cur.execute("INSERT INTO replicas (file_id, account_id, drive_file_id, url, version) "
                    "SELECT f.id, a.id, f.id || '-' || a.id, 'http://drive.test/uc?id=' || f.id"
                    " || '-' || a.id, 1 FROM files f CROSS JOIN accounts a WHERE f.id LIKE 'w%%'"
                    " OR (f.id LIKE 'n%%' AND a.id < 'acc' || lpad(%s::text, 4, '0'))",
                    (NARROW_HOLDERS,))
        cur.execute("ANALYZE")
        cur.execute("SELECT count(*) FROM replicas")
        print(f"seeded {accounts} accounts, {files} + {NARROW_FILES} files, "
              f"{cur.fetchone()[0]:,} replicas")
    conn.close()
    wide = [f"w{i:05d}" for i in range(files)]
    return wide, [f"n{i:05d}" for i in range(NARROW_FILES)]


def run(args: argparse.Namespace, tmp: Path, procs: list, servers: list) -> None:
    postgres = PostgresServer(tmp / "pg", free_port(), tmp / "pg.log")
    postgres.start(timeout=60)
    servers.append(postgres)
    wide, narrow = seed(postgres.url, args.accounts, args.files)
    env = {"POSTGRES_URL": postgres.url, "GATEWAY_URL": f"http://127.0.0.1:{free_port()}",
           "LOG_LEVEL": "WARNING", "FILESERVER_ADMIN_TOKEN": "bench"}
    base = start_function("get-url", env, tmp, procs)
    sets = {f"held by {args.accounts}": wide, f"held by {NARROW_HOLDERS}": narrow}
    best: dict[str, dict[str, float]] = {}
    measure(base, [f"/?id={f}" for f in narrow], args.clients, 1.0)  # warm up
    for _ in range(2):
        for name, ids in sets.items():
            result = measure(base, [f"/?id={f}" for f in ids], args.clients, args.seconds)
            if result["rps"] > best.get(name, {"rps": 0.0})["rps"]:
                best[name] = result
    print(f"{'files':>16} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for name, r in best.items():
        print(f"{name:>16} {r['rps']:>8.0f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} "
              f"{r['errors']:>6}")
    wide_rps, narrow_rps = (r["rps"] for r in best.values())
    print(f"get-url wide/narrow ratio: {wide_rps / narrow_rps:.2f}")


def main() -> None:
    interrupt_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=16)
    run_cleaning_up(run, parser.parse_args(), "bench-scale-get-url-")


if __name__ == "__main__":
    main()
