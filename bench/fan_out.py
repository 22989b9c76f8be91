"""Fan-out replication: time to ``uploaded`` for one file with copies one at a time (width 1,
the baseline) and with the default width, when each ``files.copy`` takes a while.

    python -m bench.fan_out [--accounts 16] [--copy-ms 300] [--widths 1,8] [--mb 1]

Starts its own servers (Mongo wire server, PostgreSQL, NATS, Drive emulator, gateway,
downloader-sync, get-url) on free ports in a temp dir, stops them by pid. Every account's
``files.copy`` gets ``--copy-ms`` of latency (the emulator's fault rule ``none`` with
``latency_ms``: Google's copies take seconds, the emulator's milliseconds). Per width the
replicator is started with ``REPLICATOR_COPY_WIDTH`` and two files are uploaded one after the
other: the time until each is ``uploaded`` on every account (the first with cold Drive
clients, the second warm) is printed with the time of one copy and the ratios.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.replication_stack import Live, live_stack
from devstack.process import interrupt_on_sigterm, wait_until

MB = 1024 * 1024


def time_to_uploaded(live: Live, width: int, size: int) -> tuple[float, float]:
    """Seconds to ``uploaded`` of a first file (every Drive client still cold: its discovery
    document and token) and of a second one (warm clients), with ``width``."""
    live.start("replicator", [sys.executable, "-m", "workers.replicator"],
               {"REPLICATOR_COPY_WIDTH": str(width), "RECONCILE_INTERVAL_SECONDS": "3600"})
    health = f"http://127.0.0.1:{live.env['METRICS_PORT']}/healthz"
    try:
        wait_until(lambda: _ok(health), 60, interval=0.1)  # its start is not replication
        took = []
        for n in range(2):
            file_id = live.upload(os.urandom(size), f"fan-out-{width}-{n}.bin")
            started = time.perf_counter()
            wait_until(lambda f=file_id: live.files.get(f).status == "uploaded", 1800,
                       interval=0.02)
            took.append(time.perf_counter() - started)
        return took[0], took[1]
    finally:
        live.stop("replicator")


def _ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).ok
    except requests.RequestException:
        return False


def run(accounts: int, copy_ms: int, widths: list[int], size: int, base: Path) -> None:
    with live_stack(base) as live:
        for _ in range(accounts):
            account_id = live.add_account()
            live.set_faults(account_id, [{"method": "files.copy", "error": "none",
                                          "latency_ms": copy_ms}])
        print(f"{accounts} accounts, one {size / MB:.1f} MB file, files.copy {copy_ms} ms")
        print(f"{'width':>6} {'cold s':>7} {'warm s':>7} {'one copy s':>11} "
              f"{'warm x one copy':>16} {'warm speed-up vs width 1':>25}")
        measured = [(width, *time_to_uploaded(live, width, size)) for width in widths]
        baseline = next((warm for width, _, warm in measured if width == 1), measured[0][2])
        for width, cold, warm in measured:
            print(f"{width:>6} {cold:>7.2f} {warm:>7.2f} {copy_ms / 1000:>11.2f} "
                  f"{warm / (copy_ms / 1000):>16.1f} {baseline / warm:>25.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=16)
    parser.add_argument("--copy-ms", type=int, default=300)
    parser.add_argument("--widths", default="1,8")
    parser.add_argument("--mb", type=float, default=1.0)
    args = parser.parse_args()
    interrupt_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="fileserver-fan-out-") as tmp:
        run(args.accounts, args.copy_ms, [int(w) for w in args.widths.split(",")],
            int(args.mb * MB), Path(tmp))


if __name__ == "__main__":
    main()
