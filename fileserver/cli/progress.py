"""A progress bar with MB/s and ETA on stderr, and a streamed file body of known length."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from fileserver.cli.errors import format_duration

MB = 1_000_000
BLOCK = 1024 * 1024
WIDTH = 24


class Progress:
    """Redrawn in place on a terminal (at most 10 times a second); one line a second otherwise.

    ``enabled=False`` makes every call a no-op, so callers never branch on it.
    """

    def __init__(self, label: str, total: int, enabled: bool, stream: TextIO | None = None):
        self.label, self.total, self.enabled = label, total, enabled
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.done = 0
        self.started = time.monotonic()
        self.drawn_at = self.started  # first drawn after a moment, once the rate means something

    def update(self, count: int) -> None:
        self.done += count
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.drawn_at >= (0.1 if self.tty else 1.0):
            self.drawn_at = now
            self._draw(final=False)

    def close(self) -> None:
        if self.enabled:
            self._draw(final=True)

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        share = self.done / self.total if self.total else 1.0
        filled = int(WIDTH * min(share, 1.0))
        left = (self.total - self.done) / rate if rate > 0 else 0
        return (f"{self.label[:24]:<24} [{'#' * filled}{'.' * (WIDTH - filled)}] "
                f"{100 * share:5.1f}%  {self.done / MB:8.1f}/{self.total / MB:.1f} MB  "
                f"{rate / MB:6.1f} MB/s  ETA {format_duration(left)}")

    def _draw(self, final: bool) -> None:
        end = "\n" if final or not self.tty else ""
        self.stream.write(("\r" if self.tty else "") + self.line() + end)
        self.stream.flush()


class FileBody:
    """A file streamed in 1 MiB blocks with a known length.

    ``requests`` sends an iterable with ``__len__`` with a ``Content-Length`` (not chunked), so
    the upload is never held in memory and upload-file can reject a too-large body at once.
    """

    def __init__(self, path: Path, progress: Progress) -> None:
        self.path = path
        self.size = path.stat().st_size
        self.progress = progress

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[bytes]:
        with open(self.path, "rb") as handle:
            while block := handle.read(BLOCK):
                self.progress.update(len(block))
                yield block
