"""Emulator memory under a large upload and download: ``python -m bench.drive_memory [--mb 200]``.

Starts the emulator as a real process, uploads a file of ``--mb`` MiB with the fileserver
Drive client (resumable, 5 MiB chunks, streamed from a file on disk), downloads it through
the public ``/uc`` link in 1 MiB pieces, checks the md5, and prints the emulator's RSS before
and its peak during each phase (sampled every 20 ms with psutil), plus throughput and the
peak RSS of this process (the client side).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests

from devstack.process import free_port, interrupt_on_sigterm
from emulators.drive.server import DriveEmulator
from fileserver.drive.client import DriveClient

MIB = 1024 * 1024


class PeakRss:
    """Samples a process's RSS in a thread; ``peak`` is the highest seen."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def write_random_file(path: Path, size: int) -> str:
    digest = hashlib.md5()  # noqa: S324 - checksum
    with open(path, "wb") as out:
        for _ in range(size // MIB):
            block = os.urandom(MIB)
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def download_md5(url: str) -> str:
    digest = hashlib.md5()  # noqa: S324 - checksum
    with requests.get(url, stream=True, timeout=300) as resp:
        resp.raise_for_status()
        for block in resp.iter_content(MIB):
            digest.update(block)
    return digest.hexdigest()


def run(size_mib: int, work: Path) -> None:
    source = work / "source.bin"
    md5 = write_random_file(source, size_mib * MIB)
    emulator = DriveEmulator(work / "data", free_port(), work / "emulator.log")
    emulator.start(timeout=30)
    try:
        client = DriveClient(emulator.create_account(legacy=True), emulator.url)
        baseline = psutil.Process(emulator.pid).memory_info().rss
        with PeakRss(emulator.pid) as up, open(source, "rb") as stream:
            started = time.monotonic()
            uploaded = client.upload(stream, size_mib * MIB, "bench.bin",
                                     "application/octet-stream", {})
            up_seconds = time.monotonic() - started
        client.share_public(uploaded.id)
        with PeakRss(emulator.pid) as down:
            started = time.monotonic()
            downloaded = download_md5(client.download_url(uploaded.id, size_mib * MIB))
            down_seconds = time.monotonic() - started
        report(size_mib, baseline, up.peak, down.peak, up_seconds, down_seconds,
               uploaded.md5 == md5 == downloaded)
    finally:
        emulator.stop()


def report(size_mib: int, baseline: int, up_peak: int, down_peak: int, up_s: float,
           down_s: float, md5_ok: bool) -> None:
    print(f"file size:                 {size_mib} MiB")
    print(f"emulator RSS before:       {baseline / MIB:.1f} MiB")
    print(f"emulator peak RSS upload:  {up_peak / MIB:.1f} MiB "
          f"(+{(up_peak - baseline) / MIB:.1f}); {size_mib / up_s:.1f} MiB/s")
    print(f"emulator peak RSS download:{down_peak / MIB:.1f} MiB "
          f"(+{(down_peak - baseline) / MIB:.1f}); {size_mib / down_s:.1f} MiB/s")
    client_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"bench (client) peak RSS:   {client_peak / MIB:.1f} MiB")
    print(f"md5 upload == source == download: {md5_ok}")


def main() -> None:
    interrupt_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=200, help="file size in MiB")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="drive-bench-") as work:
        run(args.mb, Path(work))


if __name__ == "__main__":
    main()
