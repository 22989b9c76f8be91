"""One reconciliation pass over a converged catalogue: accounts x files replicas.

    python -m bench.scale_reconcile [--accounts 200] [--files 1000]

Starts the replicator's live stack (bench.replication_stack) on free ports in a temp dir and
seeds a converged state in bulk, as if the replicator had run: ``--accounts`` accounts
registered through the Uploader (real emulator keys), ``--files`` uploaded files whose
replicas are ready on every account in Mongo, the same replicas in the Downloader's registry
(bulk SQL) and in the emulator's metadata (one tagged Drive file per replica, bulk SQLite).
Then runs one ``Reconciler.run_once`` of the real replicator (``workers.replicator.bootstrap``)
in a child process and prints its duration, the repairs it planned (0 expected) and the
child's peak RSS during the pass (sampled every 0.1 s) next to its RSS just before the pass.
Goals (issue 16): <= 5 min, <= 300 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import psycopg2

from bench.replication_stack import ROOT, Live, live_stack
from devstack.process import interrupt_on_sigterm
from fileserver.downloader.db import Database, migrate

NOW = "2026-12-01T00:00:00+00:00"
MB = 1024 * 1024


def drive_id(file_id: str, account_id: str) -> str:
    return f"d-{file_id}-{account_id}"


def seed_mongo(live: Live, files: list[str], accounts: list[str]) -> None:
    docs = [{"_id": f, "name": f"{f}.bin", "size": 1000, "content_type": "application/"
             "octet-stream", "md5": "0" * 32, "sha256": "0" * 64, "status": "uploaded",
             "version": 1, "blob_id": None, "created_at": NOW, "updated_at": NOW,
             "replicas": {a: {"state": "ready", "drive_file_id": drive_id(f, a),
                              "updated_at": NOW} for a in accounts}} for f in files]
    for start in range(0, len(docs), 50):
        live.db["files"].insert_many(docs[start:start + 50])


def seed_registry(live: Live, files: list[str], accounts: list[str]) -> None:
    db = Database(live.postgres_url, pool_size=1)
    migrate(db)
    db.close()
    conn = psycopg2.connect(live.postgres_url.replace("postgresql+psycopg2://",
                                                      "postgresql://"))
    with conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO accounts (id, email, daily_limit_bytes, active, version) "
                        "VALUES (%s, %s, 10^11, true, 1) ON CONFLICT DO NOTHING",
                        [(a, f"{a}@x.test") for a in accounts])
        cur.executemany("INSERT INTO files (id, name, size, version) VALUES (%s, %s, 1000, 1)"
                        " ON CONFLICT DO NOTHING", [(f, f"{f}.bin") for f in files])
        cur.execute("CREATE TEMP TABLE f (id text); CREATE TEMP TABLE a (id text)")
        cur.executemany("INSERT INTO f VALUES (%s)", [(f,) for f in files])
        cur.executemany("INSERT INTO a VALUES (%s)", [(a,) for a in accounts])
        cur.execute("INSERT INTO replicas (file_id, account_id, drive_file_id, url, version) "
                    "SELECT f.id, a.id, 'd-' || f.id || '-' || a.id, 'http://x/uc?id=d-' || "
                    "f.id || '-' || a.id, 1 FROM f CROSS JOIN a ON CONFLICT DO NOTHING")
    conn.close()


def seed_emulator(live: Live, files: list[str], emails: dict[str, str]) -> None:
    """Rows straight into the running emulator's SQLite (WAL: a second writer is fine)."""
    conn = sqlite3.connect(str(live.emulator.data_dir / "drive.sqlite3"), timeout=60)
    with conn:
        conn.executemany(
            "INSERT INTO files(id, owner, name, mime_type, size, md5, app_properties,"
            " created_time, modified_time) VALUES (?, ?, ?, 'application/octet-stream', 1000,"
            " ?, ?, ?, ?)",
            [(drive_id(f, a), email, f"{f}.bin", "0" * 32, json.dumps({"fileserver_id": f}),
              NOW, NOW) for f in files for a, email in emails.items()])
    conn.close()


def seed(live: Live, accounts: int, files: int) -> None:
    started = time.monotonic()
    for _ in range(accounts):
        live.add_account()
    emails = {a: key["client_email"] for a, key in live.keys.items()}
    ids = [f"file{i:05d}" for i in range(files)]
    seed_mongo(live, ids, list(emails))
    seed_registry(live, ids, list(emails))
    seed_emulator(live, ids, emails)
    print(f"seeded {accounts} accounts x {files} files = {accounts * files:,} replicas "
          f"in {time.monotonic() - started:.0f} s", flush=True)


class PeakRss:
    """Peak RSS (MB) of some processes, sampled every 0.1 s while the block runs."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items() if pid}
        self.peaks = {name: 0.0 for name in self.processes}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self.stopped.wait(0.1):
            for name, process in self.processes.items():
                with contextlib.suppress(psutil.Error):
                    self.peaks[name] = max(self.peaks[name], process.memory_info().rss / MB)

    def __enter__(self) -> PeakRss:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()


def child() -> None:
    """Inside the child: build the real replicator, run one reconciliation pass. Its RSS is
    sampled during the pass: the process high-water mark (``ru_maxrss``) may be start-up's."""
    from workers.replicator.bootstrap import build

    worker = build()
    gc.collect()
    before = psutil.Process().memory_info().rss / MB
    with PeakRss({"replicator": os.getpid()}) as sampled:
        started = time.perf_counter()
        plan = worker.reconciler.run_once()
        seconds = time.perf_counter() - started
    peak = max(sampled.peaks["replicator"], psutil.Process().memory_info().rss / MB)
    high = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"reconciliation pass: {seconds:.1f} s, {plan.size()} repairs planned, "
          f"peak RSS {peak:.0f} MB (before the pass {before:.0f} MB; process high-water mark "
          f"{high:.0f} MB)", flush=True)


def run(args: argparse.Namespace, base: Path) -> None:
    with live_stack(base) as live:
        seed(live, args.accounts, args.files)
        watched = {"downloader-sync": live.pids["downloader-sync"],
                   "drive emulator": live.emulator.proc.pid}
        with PeakRss(watched) as peaks:
            done = subprocess.run([sys.executable, "-m", "bench.scale_reconcile", "--child"],
                                  cwd=ROOT, env=live.env, capture_output=True, text=True,
                                  timeout=3600)
        print(done.stdout.strip() or done.stderr[-3000:])
        print("peak RSS during the pass: " + ", ".join(
            f"{name} {mb:.0f} MB" for name, mb in peaks.peaks.items()))


def main() -> None:
    interrupt_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child()
        return
    with tempfile.TemporaryDirectory(prefix="bench-scale-reconcile-") as tmp:
        run(args, Path(tmp))


if __name__ == "__main__":
    main()
