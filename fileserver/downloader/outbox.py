"""Relay of the outbox to Stats: ``POST {GATEWAY_URL}/async-function/stats-compute``.

get-url writes each download event into ``outbox`` in the same transaction as the byte
reservation, so an event exists if and only if its URL was handed out. This relay sends the
rows in batches and deletes them only after the gateway accepted them (2xx, normally 202).
Rows are claimed with ``FOR UPDATE SKIP LOCKED``, so relays in several processes never send
the same row twice at once; if the gateway is down the rows stay and are retried with
backoff. A crash between the 202 and the delete resends a batch: Stats and stats-ingest
de-duplicate by ``event_id``, so that is harmless.
"""

from __future__ import annotations

import logging
import threading
import time

import requests

from fileserver.downloader import metrics
from fileserver.downloader.db import Database
from fileserver.downloader.repository import OutboxRepository

log = logging.getLogger("fileserver.downloader.outbox")
BATCH = 500  # ~100 KB of JSON: far below the gateway's ~1 MB async payload limit


class OutboxRelay:
    def __init__(self, db: Database, gateway_url: str, timeout: float = 5.0,
                 idle_seconds: float = 1.0, max_backoff: float = 30.0) -> None:
        self.db = db
        self.outbox = OutboxRepository(db)
        self.url = f"{gateway_url.rstrip('/')}/async-function/stats-compute"
        self.timeout = timeout
        self.idle_seconds = idle_seconds
        self.max_backoff = max_backoff
        self.session = requests.Session()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def send_batch(self) -> int:
        """Relay one batch; return how many events were accepted (0 if none or on failure)."""
        with self.db.transaction() as conn:
            claimed = self.outbox.claim(conn, BATCH)
            if not claimed:
                return 0
            events = [row["event"] for row in claimed]
            try:
                response = self.session.post(self.url, json={"events": events},
                                             timeout=self.timeout)
            except requests.RequestException as exc:
                log.warning("stats-compute unreachable (%s); %d events kept", type(exc).__name__,
                            len(events))
                return 0
            if not 200 <= response.status_code < 300:
                log.warning("stats-compute answered %d; %d events kept", response.status_code,
                            len(events))
                return 0
            self.outbox.remove(conn, [row["id"] for row in claimed])
        return len(events)

    def drain(self) -> int:
        """Relay until the outbox is empty or the gateway refuses; return events sent."""
        sent = 0
        while (n := self.send_batch()) > 0:
            sent += n
        metrics.OUTBOX_PENDING.set(self.outbox.pending())
        return sent

    def start(self) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._loop, name="outbox-relay", daemon=True)
            self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout=10)

    def _loop(self) -> None:
        backoff = self.idle_seconds
        while not self.stopping.is_set():
            try:
                self.drain()
                healthy = self.outbox.pending() == 0
            except Exception:  # noqa: BLE001 - the relay must survive a database restart
                log.exception("outbox relay pass failed")
                healthy = False
            backoff = self.idle_seconds if healthy else min(backoff * 2, self.max_backoff)
            self.wake.wait(backoff)
            self.wake.clear()
            time.sleep(0.05)  # let events gather into one batch under load
