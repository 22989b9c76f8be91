"""Reuse the Downloader's account snapshot for a short while across batches.

Under load every download event may arrive in its own async call; reading all account rows
for each would double the Downloader's traffic. A snapshot at most ``max_age`` seconds old
only makes the derived figures lag by that much (each batch still adds its own bytes).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from fileserver.stats.service import Downloader


class CachingDownloader:
    """A Downloader whose ``account_rows`` are cached for ``max_age`` seconds (0 = never)."""

    def __init__(self, downloader: Downloader, max_age: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.downloader = downloader
        self.max_age = max_age
        self.clock = clock
        self._lock = threading.Lock()
        self._rows: list[dict[str, Any]] | None = None
        self._read_at = 0.0

    def account_rows(self) -> list[dict[str, Any]]:
        with self._lock:
            now = self.clock()
            if self._rows is None or now - self._read_at >= self.max_age:
                self._rows = self.downloader.account_rows()
                self._read_at = now
            return self._rows

    def ingest(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.downloader.ingest(payload)
