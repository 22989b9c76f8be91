"""The replica prober: a daemon thread of the Downloader's get-url and download processes
(docs/downloader.md, "Replica health", says why it runs there).

One prober at a time holds the lease in PostgreSQL (``prober_state``), so the probe budget
(``HEALTH_PROBES_PER_SECOND``, default 2) holds across every process. The lease holder takes
the replicas due (hot files first: ``HealthRepository.due``), probes each through its
handed-out link (``probe.probe``), paced by the budget, and stores the result. A quota page
or another 403 marks the replica ``blocked`` until the next UTC day by the prober's clock
(real time plus the offset in ``prober_state``); a 404 marks it ``missing``. A ``missing``
replica, or one blocked by Google's per-file quota, is handed to the replicator for a fresh
copy (``RepairRequester``). Every change of state is a metric and a log line with the reason.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from fileserver.config import float_setting, int_setting, setting
from fileserver.downloader import metrics
from fileserver.downloader.health_repository import HealthRepository
from fileserver.downloader.probe import ProbeResult, probe
from fileserver.downloader.service import Every

log = logging.getLogger("fileserver.downloader.prober")
REPAIRED_REASONS = ("download_quota",)  # blocked for this: a fresh copy resets it
# (not "account_quota": the owner's day is spent; "forbidden" and others: a copy won't help)


@dataclass(frozen=True)
class ProberSettings:
    probes_per_second: float = 2.0
    hot_seconds: float = 600.0
    hot_recheck_seconds: float = 30.0
    cold_recheck_seconds: float = 6 * 3600.0
    repair_retry_seconds: float = 600.0
    repair_blocked: bool = True
    account_spent_share: float = 0.9
    timeout: float = 10.0
    idle_seconds: float = 2.0

    @classmethod
    def from_env(cls) -> ProberSettings:
        return cls(
            probes_per_second=max(0.0, float_setting("HEALTH_PROBES_PER_SECOND", 2.0)),
            hot_seconds=float_setting("HEALTH_HOT_SECONDS", 600.0),
            hot_recheck_seconds=float_setting("HEALTH_HOT_RECHECK_SECONDS", 30.0),
            cold_recheck_seconds=float_setting("HEALTH_COLD_RECHECK_SECONDS", 6 * 3600.0),
            repair_retry_seconds=float_setting("HEALTH_REPAIR_RETRY_SECONDS", 600.0),
            repair_blocked=int_setting("HEALTH_REPAIR_BLOCKED", 1) != 0,
            account_spent_share=float_setting("HEALTH_ACCOUNT_SPENT_SHARE", 0.9),
            timeout=float_setting("HEALTH_PROBE_TIMEOUT_SECONDS", 10.0))


def next_utc_day(now: datetime) -> datetime:
    """The next UTC midnight after ``now``."""
    day = now.astimezone(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class RepairRequester:
    """Asks the Uploader for a fresh copy: ``POST {GATEWAY}/function/files/ID/repairs``
    (admin), which publishes a ``repair-replica`` job for the replicator."""

    def __init__(self, gateway_url: str, admin_token: str, timeout: float = 10.0) -> None:
        self.base = f"{gateway_url.rstrip('/')}/function/files"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {admin_token}"
        self.timeout = timeout

    def request(self, row: dict[str, Any], reason: str) -> bool:
        """True if the Uploader accepted it (2xx); a failure is logged and retried later."""
        try:
            response = self.session.post(
                f"{self.base}/{row['file_id']}/repairs", timeout=self.timeout,
                json={"account_id": row["account_id"], "drive_file_id": row["drive_file_id"],
                      "reason": reason})
        except requests.RequestException as exc:
            log.warning("repair of %s on %s not requested: %s", row["file_id"],
                        row["account_id"], type(exc).__name__)
            return False
        if response.status_code >= 300:
            log.warning("repair of %s on %s refused: %s %s", row["file_id"], row["account_id"],
                        response.status_code, response.text[:200])
            return False
        return True


class Prober:
    def __init__(self, health: HealthRepository, settings: ProberSettings,
                 repairs: RepairRequester | None,
                 probe_fn: Callable[[str], ProbeResult] | None = None) -> None:
        self.health = health
        self.settings = settings
        self.repairs = repairs
        session = requests.Session()
        self.probe_fn = probe_fn or (lambda url: probe(session, url, settings.timeout))
        self.holder = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.gauges_due = Every(30.0)  # the per-state gauge scans every live replica
        self.sweep_due = Every(60.0)  # so does the search for cold replicas

    def start(self) -> None:
        if self.settings.probes_per_second <= 0 or self.thread is not None:
            return  # a budget of 0 turns probing off
        self.thread = threading.Thread(target=self._run, name="replica-prober", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(10)
        self.health.release_lease(self.holder)

    def _run(self) -> None:
        while not self.stop_event.is_set():
            try:
                done = self.run_once()
            except Exception:
                log.exception("probe round failed; retrying")
                done = 0
            if not done:
                self.stop_event.wait(self.settings.idle_seconds)

    def run_once(self) -> int:
        """One round as the lease holder (nothing if another process holds it): probe up to
        a few seconds' budget of due replicas; answer how many were probed."""
        interval = 1.0 / self.settings.probes_per_second
        batch = max(1, int(5 * self.settings.probes_per_second))
        offset = self.health.take_lease(self.holder, 5 * interval * batch + 30)
        if offset is None:
            return 0
        now = self.clock(offset)
        due = self.health.due(now, batch, self.settings.hot_seconds,
                              self.settings.hot_recheck_seconds,
                              self.settings.cold_recheck_seconds, sweep=False)
        if len(due) < batch and self.sweep_due.due():
            due = self.health.due(now, batch, self.settings.hot_seconds,
                                  self.settings.hot_recheck_seconds,
                                  self.settings.cold_recheck_seconds, sweep=True)
        for row in due:
            if self.stop_event.is_set():
                break
            started = time.monotonic()
            self.check(row, self.probe_fn(row["url"]), self.clock(offset))
            self.stop_event.wait(max(0.0, interval - (time.monotonic() - started)))
        if due and self.gauges_due.due():
            self._count_states()
        return len(due)

    @staticmethod
    def clock(offset: float) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=offset)

    def check(self, row: dict[str, Any], result: ProbeResult, now: datetime) -> None:
        """Store ``result`` for ``row``; report a change; ask for a repair if it needs one."""
        metrics.REPLICA_PROBES.labels(result.state or "inconclusive").inc()
        result = self._attributed(row, result, now)
        if result.state is None:
            self.health.touch(row, now)
            log.info("probe of %s on %s inconclusive: %s", row["file_id"], row["account_id"],
                     result.reason)
            return
        until = next_utc_day(now) if result.state == "blocked" else None
        self.health.record(row, result.state, result.reason, until, now)
        before = row["state"] or "ok"
        if result.state != before:
            metrics.REPLICA_HEALTH_CHANGES.labels(before, result.state,
                                                  result.reason or "").inc()
            log.warning("replica of file %s on account %s (drive %s): %s -> %s (%s%s)",
                        row["file_id"], row["account_id"], row["drive_file_id"], before,
                        result.state, result.reason or "probe answered the file",
                        f", until {until.isoformat()}" if until else "")
        if self._needs_repair(row, result, now, changed=result.state != before):
            self._request_repair(row, result.reason or result.state, now)

    def _attributed(self, row: dict[str, Any], result: ProbeResult,
                    now: datetime) -> ProbeResult:
        """Google shows the same quota page for a file's own limit and for its owner's spent
        day: when the account has been handed out ``account_spent_share`` of its daily
        limit today, the page is the account's (``account_quota``: a fresh copy on it would
        not help, and is not made)."""
        if result.reason != "download_quota":
            return result
        # get-url books on the real UTC day (the offset is the prober's own)
        spent = self.health.share_of_limit_spent(row["account_id"], datetime.now(UTC).date())
        if spent < self.settings.account_spent_share:
            return result
        return ProbeResult(result.state, "account_quota", result.status)

    def _needs_repair(self, row: dict[str, Any], result: ProbeResult, now: datetime,
                      changed: bool) -> bool:
        if self.repairs is None:
            return False
        wanted = result.state == "missing" or (
            result.state == "blocked" and self.settings.repair_blocked
            and result.reason in REPAIRED_REASONS)
        if not wanted:
            return False
        asked = row.get("repair_requested_at")
        retry = timedelta(seconds=self.settings.repair_retry_seconds)
        return changed or asked is None or asked <= now - retry

    def _request_repair(self, row: dict[str, Any], reason: str, now: datetime) -> None:
        assert self.repairs is not None
        if self.repairs.request(row, reason):
            self.health.mark_repair_requested(row, now)
            metrics.REPLICA_REPAIRS_REQUESTED.labels(reason).inc()
            log.info("repair of file %s on account %s (drive %s) requested: %s",
                     row["file_id"], row["account_id"], row["drive_file_id"], reason)

    def _count_states(self) -> None:
        for state, count in self.health.counts().items():
            metrics.REPLICAS_BY_HEALTH.labels(state).set(count)


def prober_from_env(health: HealthRepository, gateway_url: str,
                    admin_token: str | None) -> Prober:
    """The prober with the ``HEALTH_*`` settings; repairs go through the gateway when the
    admin token is there (``HEALTH_REPAIR=0`` turns them off)."""
    repairs = None
    if admin_token and setting("HEALTH_REPAIR", "1") != "0":
        repairs = RepairRequester(gateway_url, admin_token)
    return Prober(health, ProberSettings.from_env(), repairs)
