"""Copy to reset (workers/replicator/repair.py) through the job handlers, on fakes."""

from __future__ import annotations

import pytest

from workers.replicator.errors import PermanentError
from workers.replicator.handlers import JobHandlers, parse_job
from workers.replicator.locks import KeyedLocks
from workers.replicator.repair import Repairer


@pytest.fixture
def handlers(world) -> JobHandlers:
    repairer = Repairer(world.files, world.accounts, world.replicator.drives, world.downloader,
                        world.metrics)
    return JobHandlers(world.files, world.accounts, world.replicator.drives, world.downloader,
                       world.replicator, world.cleaner, KeyedLocks(), repairer)


def replicated(world, handlers: JobHandlers) -> dict[str, str]:
    world.files.add("f1", b"payload" * 50)
    handlers.handle(parse_job({"kind": "replicate", "file_id": "f1"}))
    return {a: r.drive_file_id for a, r in world.files.get("f1").replicas.items()}


def repair_job(account: str, drive_id: str, reason: str) -> dict:
    return {"kind": "repair-replica", "file_id": "f1", "account_id": account,
            "drive_file_id": drive_id, "reason": reason}


@pytest.mark.parametrize("reason", ["not_found", "download_quota"])
def test_a_fresh_verified_copy_replaces_the_old_one_everywhere(world, handlers, reason):
    before = replicated(world, handlers)
    old = before["acc2"]
    if reason == "not_found":
        del world.cloud.files[old]  # deleted behind fileserver's back
    assert handlers.handle(parse_job(repair_job("acc2", old, reason))) == "repaired"
    new = world.files.get("f1").replicas["acc2"].drive_file_id
    assert new != old and old not in world.cloud.files
    assert world.cloud.files[new].data == b"payload" * 50 and world.cloud.files[new].public
    assert world.downloader.registry[("f1", "acc2")] == new
    assert [c.id for c in world.copies("acc2", "f1")] == [new]
    others = {a: d for a, d in before.items() if a != "acc2"}
    assert {a: world.files.get("f1").replicas[a].drive_file_id for a in others} == others
    repaired = world.metrics.registry.get_sample_value(
        "fileserver_replica_repairs_total", {"reason": reason, "outcome": "repaired"})
    assert repaired == 1


def test_a_repeated_or_stale_request_changes_nothing(world, handlers):
    before = replicated(world, handlers)
    old = before["acc1"]
    job = parse_job(repair_job("acc1", old, "download_quota"))
    assert handlers.handle(job) == "repaired"
    new = world.files.get("f1").replicas["acc1"].drive_file_id
    assert handlers.handle(job) == "skipped"  # redelivered: that copy is no longer the replica
    assert world.files.get("f1").replicas["acc1"].drive_file_id == new
    assert len(world.copies("acc1", "f1")) == 1


def test_a_malformed_repair_job_is_permanent():
    with pytest.raises(PermanentError):
        parse_job({"kind": "repair-replica", "file_id": "f1", "account_id": "a"})
    with pytest.raises(PermanentError):
        parse_job(repair_job("a", "d", "because"))
