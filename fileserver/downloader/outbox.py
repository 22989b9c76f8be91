"""Relay of the outbox to Stats: ``POST {GATEWAY_URL}/async-function/stats-compute``.

get-url writes each download event into ``outbox`` in the same transaction as the byte
reservation, so an event exists if and only if its URL was handed out. This relay sends the
due rows in batches, holding no transaction and no row lock while it talks to the network:
one short statement claims a batch and marks it sent (``sent_at``), then the batch is
posted; if the gateway refuses (not 2xx) or is down, a second statement releases the rows
(``sent_at`` back to NULL) and they are retried with backoff. Relays in several processes
claim disjoint rows (``FOR UPDATE SKIP LOCKED`` inside the claim statement), and a claimed
row is not due again for ``resend_after`` seconds, much longer than a POST may last. A row
is deleted only once stats-ingest has recorded its ``event_id`` (``stats_events``, same
database): a 202 is not proof, since faasd's queue-worker never retries a failed
stats-compute call. So a row sent ``resend_after`` seconds ago and still not ingested is
sent again, and so is a row whose relay died mid-POST. A resend only duplicates events,
which Stats drops within a batch and stats-ingest refuses by ``event_id``.
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
RESEND_AFTER = 300.0  # s: a batch sent and not ingested by then is sent again


class OutboxRelay:
    def __init__(self, db: Database, gateway_url: str, timeout: float = 5.0,
                 idle_seconds: float = 1.0, max_backoff: float = 30.0,
                 resend_after: float = RESEND_AFTER) -> None:
        if resend_after <= 2 * timeout:  # a POST (connect + read) ends before a resend
            raise ValueError("resend_after must be longer than twice the POST timeout")
        self.db = db
        self.outbox = OutboxRepository(db)
        self.url = f"{gateway_url.rstrip('/')}/async-function/stats-compute"
        self.timeout = timeout
        self.idle_seconds = idle_seconds
        self.max_backoff = max_backoff
        self.resend_after = resend_after
        self.session = requests.Session()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.refused = False  # the last pass met a gateway that refused or was down

    def send_batch(self) -> int:
        """Relay one batch; return how many events were accepted (0 if none or on failure)."""
        claimed = self.outbox.claim(BATCH, self.resend_after)
        if not claimed:
            return 0
        if not self._post([row["event"] for row in claimed]):
            self.refused = True
            self.outbox.release([row["id"] for row in claimed])
            return 0
        return len(claimed)

    def _post(self, events: list[dict]) -> bool:
        """POST one batch to stats-compute; True if the gateway accepted it."""
        try:
            response = self.session.post(self.url, json={"events": events},
                                         timeout=self.timeout)
        except requests.RequestException as exc:
            log.warning("stats-compute unreachable (%s); %d events kept", type(exc).__name__,
                        len(events))
            return False
        if not 200 <= response.status_code < 300:
            log.warning("stats-compute answered %d; %d events kept", response.status_code,
                        len(events))
            return False
        return True

    def drain(self) -> int:
        """Purge ingested rows, then relay until nothing is due or the gateway refuses;
        return the number of events sent."""
        self.refused = False
        self.outbox.purge_ingested()
        sent = 0
        while True:
            batch = self.send_batch()
            sent += batch
            if batch < BATCH:
                break
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
                # Rows that arrived during the pass are no failure: only a refusal backs off
                # (it used to be "nothing unsent left", which under steady load doubled the
                # wait on most passes and ignored the wake-ups, holding events for seconds).
                healthy = not self.refused
            except Exception:  # noqa: BLE001 - the relay must survive a database restart
                log.exception("outbox relay pass failed")
                healthy = False
            if healthy:
                backoff = self.idle_seconds
                self.wake.wait(self.idle_seconds)  # a download wakes it early
                time.sleep(0.05)  # let events gather into one batch under load
            else:
                # Gateway or database down: back off, ignoring wake-ups from new downloads.
                backoff = min(backoff * 2, self.max_backoff)
                self.stopping.wait(backoff)
            self.wake.clear()
