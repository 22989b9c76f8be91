"""Fan-out replication and per-account conditions against Fake Drive accounts: copies run
concurrently within the width, a full or rate-limited account stops receiving files without
holding the others back, and the file ends uploaded with the accounts that cannot hold it
named."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from workers.replicator.conditions import AccountConditions, ConditionSettings
from workers.replicator.errors import TransientError
from workers.replicator.replication import ReplicationSettings, Replicator


def rebuilt(world, width: int = 8, now=None, **condition_settings) -> Replicator:
    conditions = AccountConditions(world.accounts, world.files, world.downloader,
                                   world.replicator.drives, world.metrics,
                                   ConditionSettings(**condition_settings),
                                   **({"now": now} if now else {}))
    world.replicator = world.handlers.replicator = Replicator(
        world.files, world.accounts, world.blobs, world.replicator.drives, world.downloader,
        world.metrics, settings=ReplicationSettings(width=width), conditions=conditions)
    return world.replicator


def test_an_account_full_mid_replication_is_marked_and_the_file_uploads_on_the_others(world):
    world.cloud.storage_limit["acc3"] = 50  # filled behind fileserver's back
    world.files.add("f1", b"x" * 100, entries=("acc1", "acc2", "acc3", "acc4"))
    assert world.replicator.replicate("f1") == "uploaded"  # acked, not retried for ever
    record = world.files.get("f1")
    assert set(record.replicas) == {"acc1", "acc2", "acc4"}
    assert record.unplaced == {"acc3": "full"} and record.status == "uploaded"
    assert world.accounts.get("acc3").state == "full"
    assert "storage quota" in world.accounts.reasons["acc3"]
    assert world.downloader.accounts["acc3"].serving  # keeps serving what it holds
    assert world.metrics.account_conditions.labels(state="full")._value.get() == 1
    world.files.add("f2", b"y" * 10)
    world.replicator.replicate("f2")
    assert "acc3" not in world.files.get("f2").replicas  # no new files while full
    assert "acc3" not in world.cloud.copy_calls[-3:]


def test_a_full_account_resumes_when_it_has_room_and_is_backfilled(world):
    from workers.replicator.reconcile import Reconciler

    world.cloud.storage_limit["acc2"] = 10
    world.files.add("f1", b"x" * 100)
    world.replicator.replicate("f1")
    assert world.accounts.get("acc2").state == "full"
    reconciler = Reconciler(world.files, world.accounts, world.replicator.drives,
                            world.downloader, world.handlers, world.metrics)
    reconciler.run_once()
    assert world.accounts.get("acc2").state == "full"  # still no room for 100 bytes
    world.cloud.storage_limit["acc2"] = 1000
    reconciler.run_once()
    assert world.accounts.get("acc2").state == "active"
    assert "acc2" in world.files.get("f1").replicas
    assert world.metrics.accounts_by_state.labels(state="full")._value.get() == 0


def test_the_source_goes_to_the_account_with_the_most_room(world):
    for account_id, free in (("acc1", 10), ("acc2", 5000), ("acc3", 300), ("acc4", None)):
        world.accounts.set_storage(account_id, None if free is None else free, 0)
    world.accounts.set_storage("acc4", 200, 0)
    world.files.add("f1", b"z" * 100)
    world.replicator.replicate("f1")
    [source] = [f for f in world.cloud.files.values() if f.owner == "acc2"]
    assert world.cloud.uploaded_bytes == 100 and source.public


def test_a_rate_limited_account_pauses_alone_with_a_growing_backoff(world):
    clock = [datetime(2026, 12, 1, 10, 0, tzinfo=UTC)]
    rebuilt(world, now=lambda: clock[0], pause_seconds=60)
    world.cloud.rate_limited.add("acc4")
    world.files.add("f1", b"r" * 100)
    assert world.replicator.replicate("f1") == "uploaded"
    assert world.files.get("f1").unplaced == {"acc4": "paused"}
    paused = world.accounts.get("acc4")
    assert paused.state == "paused" and paused.paused_until == "2026-12-01T10:01:00.000Z"
    assert "rate limited" in world.accounts.reasons["acc4"]
    world.accounts.set_state("acc4", "active")
    world.files.add("f2", b"s" * 100)
    world.replicator.replicate("f2")
    assert world.accounts.get("acc4").paused_until == "2026-12-01T10:02:00.000Z"  # doubled


def test_the_daily_upload_cap_pauses_the_account_until_the_next_utc_day(world):
    clock = [datetime(2026, 12, 1, 22, 30, tzinfo=UTC)]
    rebuilt(world, now=lambda: clock[0], daily_upload_cap=150)
    world.files.add("f1", b"a" * 100)
    world.replicator.replicate("f1")  # 100 of the 150 bytes of today on every account
    world.cloud.rate_limited.add("acc2")  # Drive answers userRateLimitExceeded
    world.files.add("f2", b"b" * 100)
    world.replicator.replicate("f2")
    assert world.accounts.get("acc2").paused_until == "2026-12-02T00:00:00.000Z"
    assert "daily upload cap" in world.accounts.reasons["acc2"]


def test_copies_run_concurrently_within_the_width_and_a_slow_account_holds_none_back(
        world, monkeypatch):
    for n in range(5, 13):
        world.accounts.add(f"acc{n:02d}")
    rebuilt(world, width=4)
    active, peak, lock = [0], [0], threading.Lock()
    slow_started, others_done = threading.Event(), threading.Event()
    original_copy = type(world.replicator.drives.for_account(world.accounts.get("acc2"))).copy
    finished: list[str] = []

    def copy(drive, file_id, name, props):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            if drive.account.id == "acc2":
                slow_started.set()
                assert others_done.wait(10)  # the slow one ends after every other
            else:
                time.sleep(0.02)
            return original_copy(drive, file_id, name, props)
        finally:
            with lock:
                active[0] -= 1
                finished.append(drive.account.id)
                if len(finished) == 10:
                    others_done.set()

    monkeypatch.setattr(type(world.replicator.drives.for_account(
        world.accounts.get("acc2"))), "copy", copy)
    world.files.add("f1", b"c" * 64)
    assert world.replicator.replicate("f1") == "uploaded"
    assert peak[0] == 4  # concurrent, bounded by the width
    assert finished[-1] == "acc2" and len(world.files.get("f1").replicas) == 12
    assert world.metrics.account_outcomes.labels(outcome="done")._value.get() == 11


def test_a_transient_failure_on_one_account_records_the_others_then_retries(world, monkeypatch):
    world.cloud.unreachable.clear()
    original = type(world.replicator.drives.for_account(world.accounts.get("acc3"))).copy

    def flaky(drive, *args):
        if drive.account.id == "acc3":
            raise world.cloud.Retryable("backendError")
        return original(drive, *args)

    monkeypatch.setattr(type(world.replicator.drives.for_account(
        world.accounts.get("acc3"))), "copy", flaky)
    world.files.add("f1", b"t" * 50)
    with pytest.raises(world.cloud.Retryable):
        world.replicator.replicate("f1")
    assert set(world.files.get("f1").replicas) == {"acc1", "acc2", "acc4"}  # kept


def test_a_revoked_refresh_token_disables_the_account_with_the_reason(world):
    world.cloud.unreachable.add("acc2")
    world.files.add("f1", b"k" * 10)
    world.replicator.replicate("f1")
    assert world.accounts.get("acc2").state == "disabled"
    assert "invalid_grant" in world.accounts.reasons["acc2"]


def test_no_active_account_left_is_a_clear_transient_error(world):
    for account in world.accounts.list_all():
        world.accounts.set_state(account.id, "full")
    world.files.add("f1", b"n")
    with pytest.raises(TransientError, match="all full, paused or disabled"):
        world.replicator.replicate("f1")


def test_a_new_account_is_backfilled_from_a_full_accounts_public_copy(world):
    world.accounts.accounts = {k: v for k, v in world.accounts.accounts.items() if k == "acc1"}
    world.files.add("f1", b"only on acc1")
    world.replicator.replicate("f1")  # uploaded on acc1, the blob dropped
    assert world.files.get("f1").blob_id is None
    world.accounts.set_state("acc1", "full")
    world.accounts.add("acc9")
    assert world.handlers.account_added("acc9") == "backfilled"
    assert "acc9" in world.files.get("f1").replicas and world.cloud.uploaded_bytes == 12
