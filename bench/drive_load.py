"""Emulator under concurrent load: ``python -m bench.drive_load [--threads 8] [--seconds 10]``.

Starts the emulator as a real process with a few accounts, then for ``--seconds`` runs
``--threads`` workers, each with its own DriveClient: server-side copies of a shared file,
metadata gets, and public ``/uc`` downloads of a 1 MiB file. Prints operations per second,
p50/p95 latency per operation and the error count.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import requests

from devstack.process import free_port, interrupt_on_sigterm
from emulators.drive.server import DriveEmulator
from fileserver.drive.client import DriveClient

MIB = 1024 * 1024


def seed(emulator: DriveEmulator, workers: int) -> tuple[str, list[dict], str]:
    """One shared, public 1 MiB file and one key per worker."""
    owner = DriveClient(emulator.create_account(legacy=True), emulator.url)
    data = os.urandom(MIB)
    source = owner.upload(io.BytesIO(data), len(data), "load.bin", "application/octet-stream", {})
    owner.share_public(source.id)
    keys = [emulator.create_account(legacy=True) for _ in range(workers)]
    for key in keys:
        owner.share_with(source.id, key["client_email"])
    return source.id, keys, owner.download_url(source.id)


def worker(key: dict, emulator: DriveEmulator, source_id: str, url: str, deadline: float,
           timings: dict[str, list[float]], errors: list[str], lock: threading.Lock) -> None:
    client = DriveClient(key, emulator.url)
    session = requests.Session()
    operations = {
        "files.copy": lambda: client.copy(source_id, "c.bin", {}),
        "files.get": lambda: client.get(source_id),
        "uc.download": lambda: session.get(url, timeout=60).raise_for_status(),
    }
    while time.monotonic() < deadline:
        for name, operation in operations.items():
            started = time.monotonic()
            try:
                operation()
            except Exception as exc:  # noqa: BLE001 - counted and reported
                with lock:
                    errors.append(f"{name}: {type(exc).__name__}")
                continue
            with lock:
                timings[name].append(time.monotonic() - started)


def report(timings: dict[str, list[float]], errors: list[str], seconds: float,
           threads: int) -> None:
    print(f"threads: {threads}, duration: {seconds:.1f} s, errors: {len(errors)}")
    for name, values in sorted(timings.items()):
        values.sort()
        p95 = values[int(len(values) * 0.95) - 1] if len(values) >= 20 else values[-1]
        print(f"{name:12s} {len(values) / seconds:8.1f} ops/s   p50 "
              f"{statistics.median(values) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms")


def run(threads: int, seconds: float, work: Path) -> None:
    emulator = DriveEmulator(work / "data", free_port(), work / "emulator.log")
    emulator.start(timeout=30)
    try:
        source_id, keys, url = seed(emulator, threads)
        timings: dict[str, list[float]] = defaultdict(list)
        errors: list[str] = []
        lock = threading.Lock()
        deadline = time.monotonic() + seconds
        pool = [threading.Thread(target=worker, args=(key, emulator, source_id, url, deadline,
                                                      timings, errors, lock)) for key in keys]
        started = time.monotonic()
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        report(timings, errors, time.monotonic() - started, threads)
    finally:
        emulator.stop()


def main() -> None:
    interrupt_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="drive-load-") as work:
        run(args.threads, args.seconds, Path(work))


if __name__ == "__main__":
    main()
