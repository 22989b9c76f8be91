"""Replication throughput against a plain google-api-python-client upload of the same bytes.

    python -m bench.replication_throughput [--sizes 1,10,100] [--accounts 8]

Starts its own servers (Mongo wire server, PostgreSQL, NATS, Drive emulator, gateway,
downloader-sync, get-url, the replicator) on free ports in a temp dir; stops them by pid.
Per size (MB): (1) a plain ``DriveClient.upload`` of the bytes from memory to one emulator
account (the baseline, MB/s); (2) the file through the Uploader into GridFS, then the time
until the replicator sets ``uploaded`` on every account, the MB/s that makes, the ratio to
the plain upload, the MB/s placed on Drive (x accounts), and the VPS egress (bytes the
emulator received by upload / file size).
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from pathlib import Path

from bench.replication_stack import Live, live_stack
from devstack.process import interrupt_on_sigterm, wait_until
from fileserver.drive.client import DriveClient

MB = 1024 * 1024


def plain_upload_seconds(live: Live, data: bytes) -> float:
    client = DriveClient(live.emulator.create_account(legacy=True), live.emulator.url)
    started = time.perf_counter()
    client.upload(io.BytesIO(data), len(data), "plain.bin", "application/octet-stream", {})
    return time.perf_counter() - started


def replicate_seconds(live: Live, data: bytes) -> tuple[float, float, int]:
    """GridFS write seconds, upload-to-uploaded seconds, bytes received by upload."""
    before = sum(live.usage(a)["uploaded_bytes"] for a in live.keys)
    started = time.perf_counter()
    file_id = live.upload(data, "bench.bin")
    stored = time.perf_counter()
    wait_until(lambda: live.files.get(file_id).status == "uploaded", 1800, interval=0.05)
    done = time.perf_counter()
    after = sum(live.usage(a)["uploaded_bytes"] for a in live.keys)
    return stored - started, done - stored, after - before


def run(sizes: list[int], accounts: int, base: Path) -> None:
    with live_stack(base) as live:
        for _ in range(accounts):
            live.add_account()
        live.start_replicator()
        print(f"{'MB':>5} {'plain MB/s':>10} {'gridfs s':>9} {'to uploaded s':>14} "
              f"{'repl MB/s':>10} {'ratio':>6} {'placed MB/s':>12} {'egress x':>9}")
        for size in sizes:
            data = os.urandom(size * MB)
            plain = plain_upload_seconds(live, data)
            gridfs, replicated, egress = replicate_seconds(live, data)
            plain_rate, repl_rate = size / plain, size / replicated
            ratio, placed = repl_rate / plain_rate, repl_rate * accounts
            print(f"{size:>5} {plain_rate:>10.1f} {gridfs:>9.2f} {replicated:>14.2f} "
                  f"{repl_rate:>10.1f} {ratio:>6.2f} {placed:>12.1f} {egress / len(data):>9.3f}",
                  flush=True)


def main() -> None:
    interrupt_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,100", help="file sizes in MB, comma-separated")
    parser.add_argument("--accounts", type=int, default=8)
    args = parser.parse_args()
    sizes = [int(part) for part in args.sizes.split(",") if part]
    print(f"replication to {args.accounts} accounts; sizes {sizes} MB")
    with tempfile.TemporaryDirectory(prefix="bench-replication-") as tmp:
        run(sizes, args.accounts, Path(tmp))


if __name__ == "__main__":
    main()
