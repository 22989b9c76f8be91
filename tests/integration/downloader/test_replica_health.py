"""Replica health against a real PostgreSQL: get-url, the de-duplication window and the
redirector's holders skip unhealthy replicas while a healthy holder is live; the prober's
lease, its due order, state changes, repair requests and the reports' counts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fileserver.downloader import metrics
from fileserver.downloader.db import Database
from fileserver.downloader.health import HealthService
from fileserver.downloader.health_repository import HealthRepository
from fileserver.downloader.limits import ClientLimits
from fileserver.downloader.probe import ProbeResult
from fileserver.downloader.prober import Prober, ProberSettings, next_utc_day
from fileserver.downloader.redirector import RedirectService
from fileserver.downloader.repository import RegistryRepository
from fileserver.downloader.service import DownloadService

NOW = datetime(2026, 11, 25, 13, 0, 0, tzinfo=UTC)


def seed(db: Database, accounts: int, file_id: str = "f1", size: int = 1000) -> None:
    registry = RegistryRepository(db)
    for i in range(accounts):
        registry.put_account(f"acc{i}", f"acc{i}@example.com", 10**12, True, 1)
    registry.put_file(file_id, f"{file_id}.bin", size, None, 1)
    for i in range(accounts):
        registry.put_replica(file_id, f"acc{i}", f"d{i}", f"http://drive.test/uc?id=d{i}", 1)


def mark(health: HealthRepository, account: str, state: str, drive: str | None = None,
         reason: str | None = "download_quota") -> None:
    row = {"file_id": "f1", "account_id": account,
           "drive_file_id": drive or f"d{account[-1]}"}
    health.record(row, state, reason, next_utc_day(NOW), NOW)


class FakeRepairs:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str, str, str]] = []

    def request(self, row: dict[str, Any], reason: str) -> bool:
        self.asked.append((row["file_id"], row["account_id"], row["drive_file_id"], reason))
        return True


def test_get_url_never_hands_out_an_unhealthy_replica_while_a_healthy_one_is_live(
        db: Database) -> None:
    seed(db, 4)
    health = HealthRepository(db)
    mark(health, "acc1", "blocked")
    mark(health, "acc2", "missing", reason="not_found")
    service = DownloadService(db, clock=lambda: NOW)
    picks = {service.get_url("f1")["account_id"] for _ in range(12)}
    assert picks == {"acc0", "acc3"}
    # A health row about an older copy says nothing about the new one (a repair).
    RegistryRepository(db).put_replica("f1", "acc2", "d2-new", "http://drive.test/uc?id=d2-new",
                                       2)
    picks = {service.get_url("f1")["account_id"] for _ in range(12)}
    assert picks == {"acc0", "acc2", "acc3"}
    # With no healthy holder left, every holder is handed out again (state may be stale).
    for account in ("acc0", "acc2", "acc3"):
        mark(health, account, "blocked", drive="d2-new" if account == "acc2" else None)
    # (acc1, never handed out above, is the least loaded: the balancer picks it first.)
    assert service.get_url("f1")["account_id"] == "acc1"


def test_a_repeat_is_not_answered_with_a_replica_that_became_unhealthy(db: Database) -> None:
    seed(db, 3)
    limits = ClientLimits(rate_per_minute=0, dedup_seconds=600)
    service = DownloadService(db, clock=lambda: NOW, limits=limits)
    first = service.get_url("f1", client="198.51.100.7")
    assert service.get_url("f1", client="198.51.100.7")["repeated"] is True
    mark(HealthRepository(db), first["account_id"], "blocked",
         drive=first["url"].rsplit("=", 1)[1])
    again = service.get_url("f1", client="198.51.100.7")
    assert again["repeated"] is False and again["account_id"] != first["account_id"]


def test_redirector_lists_only_healthy_duplicates(db: Database) -> None:
    seed(db, 4)
    mark(HealthRepository(db), "acc3", "missing", reason="not_found")
    redirect = RedirectService(DownloadService(db, clock=lambda: NOW)).redirect("f1", 5)
    listed = {redirect.location.account_id} | {h.account_id for h in redirect.duplicates}
    assert listed == {"acc0", "acc1", "acc2"}


def test_prober_marks_states_requests_repairs_and_rechecks_blocked_the_next_day(
        db: Database) -> None:
    seed(db, 3)
    answers = {"d0": ProbeResult("ok", None, 206),
               "d1": ProbeResult("blocked", "download_quota", 403),
               "d2": ProbeResult("missing", "not_found", 404)}
    probed: list[str] = []

    def fake_probe(url: str) -> ProbeResult:
        drive_id = url.rsplit("=", 1)[1]
        probed.append(drive_id)
        return answers[drive_id]

    health = HealthRepository(db)
    repairs = FakeRepairs()
    settings = ProberSettings(probes_per_second=1000, hot_recheck_seconds=3600)
    prober = Prober(health, settings, repairs, fake_probe)  # type: ignore[arg-type]
    before = metrics.REPLICA_HEALTH_CHANGES.labels("ok", "blocked", "download_quota")._value.get()
    assert prober.run_once() == 3
    assert sorted(probed) == ["d0", "d1", "d2"]
    assert metrics.REPLICA_HEALTH_CHANGES.labels("ok", "blocked",
                                                 "download_quota")._value.get() == before + 1
    assert sorted(repairs.asked) == [("f1", "acc1", "d1", "download_quota"),
                                     ("f1", "acc2", "d2", "not_found")]
    report = HealthService(health).report(None, None)
    assert [(i["account_id"], i["state"]) for i in report["items"]] == [
        ("acc1", "blocked"), ("acc2", "missing")]
    assert report["replicas"] == {"ok": 1, "blocked": 1, "missing": 1}
    assert report["daily_capacity"]["healthy_accounts"] == 1
    assert report["daily_capacity"]["nominal_bytes_per_day"] == 3 * 10**12
    # Nothing is due again before the recheck interval, and a second prober waits its turn.
    assert prober.run_once() == 0
    other = Prober(health, settings, repairs, fake_probe)  # type: ignore[arg-type]
    assert other.run_once() == 0 and health.take_lease(other.holder, 1) is None
    # The next UTC day by the prober's clock: the blocked one is probed again and is back.
    answers["d1"] = ProbeResult("ok", None, 206)
    offset = (next_utc_day(datetime.now(UTC)) - datetime.now(UTC)).total_seconds() + 60
    health.set_clock_offset(offset)
    probed.clear()
    prober.run_once()
    assert "d1" in probed
    assert [i["account_id"] for i in HealthService(health).report(None, None)["items"]] == [
        "acc2"]


def test_hot_files_are_probed_first(db: Database) -> None:
    seed(db, 2, "cold")
    seed(db, 2, "hot")
    DownloadService(db, clock=lambda: NOW).get_url("hot")
    due = HealthRepository(db).due(datetime.now(UTC), 10, 600, 30, 3600)
    assert [row["file_id"] for row in due][:2] == ["hot", "hot"]
    assert len(due) == 4
    assert all(row["state"] is None for row in due)
    # Without the cold sweep (the prober runs it about once a minute) only hot files count.
    hot_only = HealthRepository(db).due(datetime.now(UTC), 10, 600, 30, 3600, sweep=False)
    assert sorted(row["account_id"] for row in hot_only) == ["acc0", "acc1"]
    assert {row["file_id"] for row in hot_only} == {"hot"}


def test_a_quota_page_on_an_account_that_spent_its_day_is_the_accounts_and_not_repaired(
        db: Database) -> None:
    registry = RegistryRepository(db)
    registry.put_account("acc0", "acc0@example.com", 10_000, True, 1)
    registry.put_file("f1", "f1.bin", 1000, None, 1)
    registry.put_replica("f1", "acc0", "d0", "http://drive.test/uc?id=d0", 1)
    service = DownloadService(db)
    for _ in range(9):  # 9,000 of its 10,000 bytes today
        service.get_url("f1")
    health, repairs = HealthRepository(db), FakeRepairs()
    prober = Prober(health, ProberSettings(probes_per_second=1000), repairs,  # type: ignore
                    lambda url: ProbeResult("blocked", "download_quota", 403))
    assert prober.run_once() == 1
    assert [(i["state"], i["reason"]) for i in health.unhealthy()] == [
        ("blocked", "account_quota")]
    assert repairs.asked == []
