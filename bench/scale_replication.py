"""Time to ``uploaded`` as accounts grow, under the emulator's latency model.

    python -m bench.scale_replication [--accounts 8,50,200] [--mb 20] [--call-ms 100]
                                      [--copy-mb-s 50]

Starts the replicator's live stack (bench.replication_stack: Mongo wire server, PostgreSQL,
NATS, Drive emulator, gateway, downloader-sync, get-url, the replicator process) on free
ports in a temp dir and stops every process by pid. For each account count N (ascending):
registers accounts up to N with the latency model off and waits until the earlier files are
backfilled to them; turns the model on (``--call-ms`` per Drive call, ``--copy-mb-s`` for
``files.copy``); measures one plain ``files.copy`` of an ``--mb`` file between two accounts of
its own (the baseline); uploads one ``--mb`` file through the Uploader and times it from the
upload's end to ``status: uploaded`` on all N; prints both and their ratio. Throughout, it
samples the replicator's open sockets to the emulator (peak, next to the pool size), and at
the end prints the token exchanges per account the emulator saw (tokens live 1 h, so for a
run shorter than an hour this is the per-hour figure).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from bench.replication_stack import ROOT, Live, live_stack
from devstack.process import interrupt_on_sigterm, wait_until
from fileserver.drive.client import DriveClient
from fileserver.drive.transport import DEFAULT_POOL_SIZE, shared_transport

MB = 1_000_000


class SocketSampler(threading.Thread):
    """Peak ESTABLISHED TCP connections from ``pid`` to ``port``, sampled every 50 ms."""

    def __init__(self, pid: int, port: int) -> None:
        super().__init__(daemon=True)
        self.process, self.port = psutil.Process(pid), port
        self.peak = 0
        self.stopped = threading.Event()

    def count(self) -> int:
        return sum(1 for conn in self.process.net_connections("tcp")
                   if conn.raddr and conn.raddr.port == self.port
                   and conn.status == psutil.CONN_ESTABLISHED)

    def run(self) -> None:
        while not self.stopped.wait(0.05):
            try:
                self.peak = max(self.peak, self.count())
            except psutil.Error:
                return


def token_exchanges(live: Live) -> int:
    return live.emulator.log_path.read_text().count("POST /token ")


def copy_baseline(live: Live, size_mb: float) -> tuple[float, DriveClient, str]:
    """One ``--mb`` file on an account of the bench's own, shared with a second one."""
    owner = DriveClient(live.emulator.create_account(legacy=True), live.emulator.url)
    reader_key = live.emulator.create_account(legacy=True)
    data = os.urandom(int(size_mb * MB))
    source = owner.upload(io.BytesIO(data), len(data), "base.bin", "application/octet-stream",
                          {})
    owner.share_with(source.id, reader_key["client_email"])
    return len(data), DriveClient(reader_key, live.emulator.url), source.id


def one_copy_seconds(reader: DriveClient, source_id: str) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        copied = reader.copy(source_id, "base-copy.bin", {})
        times.append(time.perf_counter() - started)
        reader.delete(copied.id)
    return statistics.median(times)


def replica_count(live: Live, file_id: str) -> int:
    record = live.files.get(file_id)
    return len(record.replicas) if record and record.status == "uploaded" else -1


def grow_to(live: Live, accounts: int, earlier: list[str]) -> None:
    """Register accounts up to ``accounts`` and wait for the backfill (latency model off)."""
    while len(live.keys) < accounts:
        live.add_account()
    for file_id in earlier:
        wait_until(lambda f=file_id: replica_count(live, f) >= accounts, 1800, interval=0.5)


def time_to_uploaded(live: Live, data: bytes, accounts: int) -> float:
    file_id = live.upload(data, f"scale-{accounts}.bin")
    started = time.perf_counter()
    wait_until(lambda: replica_count(live, file_id) >= accounts, 3600, interval=0.1)
    return time.perf_counter() - started, file_id  # type: ignore[return-value]


def start_replicator(live: Live) -> int:
    """The replicator with reconciliation out of the way (it would list every account)."""
    return live.start("replicator", [sys.executable, "-m", "workers.replicator"],
                      env={"RECONCILE_INTERVAL_SECONDS": "3600"})


def measure(live: Live, args: argparse.Namespace, sampler: SocketSampler) -> None:
    size, reader, source_id = copy_baseline(live, args.mb)
    data = os.urandom(size)
    uploaded: list[str] = []
    print(f"{'accounts':>8} {'one copy s':>10} {'to uploaded s':>14} {'ratio':>7}", flush=True)
    for accounts in args.accounts:
        grow_to(live, accounts, uploaded)
        live.emulator.set_latency(call_ms=args.call_ms, copy_mb_s=args.copy_mb_s)
        try:
            copy = one_copy_seconds(reader, source_id)
            seconds, file_id = time_to_uploaded(live, data, accounts)
        finally:
            live.emulator.set_latency()
        uploaded.append(file_id)
        print(f"{accounts:>8} {copy:>10.2f} {seconds:>14.2f} {seconds / copy:>6.1f}x",
              flush=True)
    print(f"widest: {accounts} accounts: to uploaded {seconds:.2f} s, one copy {copy:.2f} s, "
          f"{seconds / copy:.1f}x one copy")
    sampler.stopped.set()
    pool = int(live.env.get("DRIVE_HTTP_POOL_SIZE") or DEFAULT_POOL_SIZE)
    print(f"replicator peak open sockets to the emulator: {sampler.peak} "
          f"(pool size {pool})")


def run(args: argparse.Namespace, base: Path) -> None:
    with live_stack(base) as live:
        started, tokens_before = time.monotonic(), token_exchanges(live)
        sampler = SocketSampler(start_replicator(live), live.emulator.port)
        sampler.start()
        measure(live, args, sampler)
        own = shared_transport().credentials.refreshes()  # the bench's own two accounts
        tokens = token_exchanges(live) - tokens_before - own
        hours = max(1.0, (time.monotonic() - started) / 3600)
        print(f"token exchanges: {tokens} for {len(live.keys)} accounts in "
              f"{time.monotonic() - started:.0f} s: {tokens / len(live.keys) / hours:.2f} "
              "per account per hour")


def main() -> None:
    interrupt_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", default="8,50,200")
    parser.add_argument("--mb", type=float, default=20.0, help="file size, MB (10^6 bytes)")
    parser.add_argument("--call-ms", type=float, default=100.0)
    parser.add_argument("--copy-mb-s", type=float, default=50.0)
    args = parser.parse_args()
    args.accounts = sorted(int(part) for part in args.accounts.split(",") if part)
    print(f"latency model: {args.call_ms:.0f} ms per call, copy {args.copy_mb_s:.0f} MB/s; "
          f"file {args.mb:g} MB; accounts {args.accounts}; root {ROOT}")
    with tempfile.TemporaryDirectory(prefix="bench-scale-replication-") as tmp:
        run(args, Path(tmp))


if __name__ == "__main__":
    main()
