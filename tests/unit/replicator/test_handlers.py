"""Job handlers: delete, rename, account added (backfill), removed, updated."""

from __future__ import annotations

import pytest

from workers.replicator.errors import TransientError
from workers.replicator.handlers import parse_job


def replicate_all(world, *file_ids: str) -> None:
    for file_id in file_ids:
        world.files.add(file_id, file_id.encode() * 40)
        world.handlers.handle(parse_job({"kind": "replicate", "file_id": file_id}))


def test_delete_file_removes_it_everywhere(world):
    replicate_all(world, "f1", "f2")
    world.files.update("f1", status="deleting")
    assert world.handlers.handle(parse_job({"kind": "delete-file", "file_id": "f1"})) == "deleted"
    assert all(f.app_properties["fileserver_id"] == "f2" for f in world.cloud.files.values())
    assert len(world.cloud.files) == 4
    assert {key[0] for key in world.downloader.registry} == {"f2"}
    assert "f1" not in world.files.records and "f1" not in world.downloader.files


def test_delete_job_for_a_live_file_is_ignored(world):
    replicate_all(world, "f1")
    assert world.handlers.delete_file("f1") == "skipped"
    assert len(world.cloud.files) == 4


def test_rename_follows_on_every_copy_and_in_the_downloader(world):
    replicate_all(world, "f1")
    world.files.update("f1", name="new.bin")
    world.handlers.handle(parse_job({"kind": "rename-file", "file_id": "f1"}))
    assert {f.name for f in world.cloud.files.values()} == {"new.bin"}
    assert world.downloader.files["f1"].name == "new.bin"


def test_added_account_is_backfilled_by_copy(world):
    replicate_all(world, "f1", "f2")
    uploaded = world.cloud.uploaded_bytes
    world.accounts.add("acc5")
    assert world.handlers.account_added("acc5") == "backfilled"
    assert len(world.copies("acc5", "f1")) == 1 and len(world.copies("acc5", "f2")) == 1
    assert world.cloud.uploaded_bytes == uploaded  # blobs are gone: copies only
    assert world.downloader.registry[("f2", "acc5")] == world.copies("acc5", "f2")[0].id
    assert "acc5" in world.downloader.accounts


def test_backfill_reports_transient_failures_after_trying_every_file(world):
    replicate_all(world, "f1", "f2")
    world.accounts.add("acc5")
    world.cloud.copy_error = world.cloud.Retryable("rateLimitExceeded")
    with pytest.raises(TransientError, match="2 of 2"):
        world.handlers.account_added("acc5")
    world.cloud.copy_error = None
    world.handlers.account_added("acc5")
    assert len(world.cloud.of("acc5")) == 2


def test_removed_account_leaves_the_downloader_first_then_drive(world):
    replicate_all(world, "f1", "f2")
    world.accounts.set_state("acc2", "removing")
    world.downloader.calls.clear()
    assert world.handlers.handle(parse_job({"kind": "account-removed",
                                            "account_id": "acc2"})) == "removed"
    assert world.downloader.calls[0] == "delete_account"
    assert "acc2" in world.downloader.deleted_accounts
    assert not any(a == "acc2" for (_, a) in world.downloader.registry)
    assert world.cloud.of("acc2") == []
    assert all("acc2" not in r.replicas for r in world.files.records.values())
    assert world.accounts.get("acc2") is None


def test_removed_unreachable_account_still_leaves_the_downloader(world):
    replicate_all(world, "f1")
    world.accounts.set_state("acc2", "removing")
    world.cloud.unreachable.add("acc2")
    assert world.handlers.account_removed("acc2") == "removed"
    assert ("f1", "acc2") not in world.downloader.registry
    assert len(world.cloud.of("acc2")) == 1  # unreachable: stays, nothing else to do


def test_disabled_account_is_mirrored_inactive_without_backfill(world):
    replicate_all(world, "f1")
    world.accounts.set_state("acc3", "disabled")
    assert world.handlers.account_updated("acc3") == "updated"
    assert world.downloader.accounts["acc3"].active is False
    world.files.add("f2", b"new")
    world.handlers.replicate("f2")
    assert world.copies("acc3", "f2") == []
    assert world.files.get("f2").status == "uploaded"


def test_delete_skips_an_account_removed_while_it_runs(world):
    replicate_all(world, "f1")
    world.files.update("f1", status="deleting")
    gone = world.accounts.get("acc3")
    real_for_account = world.cleaner.drives.for_account

    class Vanishing:
        def for_account(self, account):
            if account.id == gone.id:
                world.accounts.finish_removal(gone.id)
                raise world.cloud.NotFound("account not found")
            return real_for_account(account)

    world.cleaner.drives = Vanishing()
    assert world.cleaner.delete_file("f1") == "deleted"
    assert all(f.owner == "acc3" for f in world.cloud.files.values())
    assert "f1" not in world.files.records


def test_delete_does_not_wait_for_an_account_being_removed(world):
    """A removing account's copies go with its removal job; a file deletion must not block
    on that account (its token endpoint may be down for as long as the removal retries)."""
    replicate_all(world, "f1")
    world.files.update("f1", status="deleting")
    world.accounts.set_state("acc2", "removing")
    drives = world.cleaner.drives

    class Down:
        def for_account(self, account):
            if account.id == "acc2":
                raise world.cloud.Retryable("connection refused")
            return drives.for_account(account)

    world.cleaner.drives = Down()
    assert world.cleaner.delete_file("f1") == "deleted"
    assert "f1" not in world.files.records and ("f1", "acc2") not in world.downloader.registry
    assert [f.owner for f in world.cloud.files.values()] == ["acc2"]  # removal deletes it
    world.cleaner.drives = drives  # reachable again: the removal job finishes the job
    assert world.cleaner.remove_account("acc2") == "removed"
    assert world.cloud.files == {}
