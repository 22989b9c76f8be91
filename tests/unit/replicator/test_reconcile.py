"""Reconciliation: the pure plan, and runs that repair drift made behind the worker's back."""

from __future__ import annotations

import io

from workers.replicator.model import Account, DriveFile, FileRecord, Replica
from workers.replicator.reconcile import Reconciler, plan


def account(account_id: str, state: str = "active") -> Account:
    return Account(account_id, f"{account_id}@sa", state, 1, 1)


def record(file_id: str, status: str = "uploaded", **replicas: str) -> FileRecord:
    return FileRecord(file_id, "n", 3, "m", "x", status, 1, None,
                      {a: Replica(a, d) for a, d in replicas.items()})


def copy(drive_id: str, file_id: str | None) -> DriveFile:
    return DriveFile(drive_id, "n", 3, "m", {"fileserver_id": file_id} if file_id else {})


def test_converged_state_plans_nothing():
    files = [record("f1", a="d1", b="d2")]
    registry = {("f1", "a"): "d1", ("f1", "b"): "d2"}
    listings = {"a": [copy("d1", "f1"), copy("x", None)], "b": [copy("d2", "f1")]}
    assert plan(files, [account("a"), account("b")], registry, listings).size() == 0


def test_plan_finds_every_kind_of_drift():
    files = [record("f1", a="d1", b="gone"), record("f2", "replicating", a="d3"),
             record("f3", "deleting", a="d4")]
    accounts = [account("a"), account("b"), account("c", "removing")]
    registry = {("f1", "a"): "old", ("f9", "a"): "d9", ("f2", "c"): "d7"}
    listings = {"a": [copy("d1", "f1"), copy("dup", "f1"), copy("d3", "f2"),
                      copy("d4", "f3"), copy("lost", "f8")], "b": []}
    todo = plan(files, accounts, registry, listings)
    assert todo.replicate == {"f1", "f2"}
    assert todo.forget_replicas == {("f1", "b")}
    assert todo.register == {("f1", "a"): "d1", ("f2", "a"): "d3"}
    assert todo.unregister == {("f9", "a"), ("f2", "c")}
    assert todo.orphans == {("dup", "a", "f1"), ("lost", "a", "f8")}
    assert todo.delete_files == {"f3"} and todo.remove_accounts == {"c"}


def test_unlisted_account_is_not_taken_for_empty():
    files = [record("f1", a="d1", b="d2")]
    registry = {("f1", "a"): "d1", ("f1", "b"): "d2"}
    todo = plan(files, [account("a"), account("b")], registry, {"a": [copy("d1", "f1")]})
    assert todo.size() == 0


def reconciler(world) -> Reconciler:
    return Reconciler(world.files, world.accounts, world.replicator.drives, world.downloader,
                      world.handlers, world.metrics)


def test_run_repairs_lost_copies_registry_and_orphans(world):
    for file_id in ("f1", "f2"):
        world.files.add(file_id, file_id.encode() * 9)
    world.handlers.replicate("f1")  # f2 never got a job: stuck replicating
    lost = world.copies("acc2", "f1")[0].id
    del world.cloud.files[lost]
    world.downloader.registry.pop(("f1", "acc3"))
    world.downloader.registry[("ghost", "acc1")] = "dX"
    drive = world.replicator.drives.for_account(world.accounts.get("acc4"))
    orphan = drive.upload(io.BytesIO(b"o"), 1, "o", "x", {"fileserver_id": "purged"})["id"]
    reconciler(world).run_once()
    for file_id in ("f1", "f2"):
        assert world.files.get(file_id).status == "uploaded"
        for acc in world.accounts.list_all():
            [one] = world.copies(acc.id, file_id)
            assert world.downloader.registry[(file_id, acc.id)] == one.id
    assert orphan not in world.cloud.files
    assert ("ghost", "acc1") not in world.downloader.registry
    assert reconciler(world).run_once().size() == 0
    assert world.metrics.files_by_status.labels(status="uploaded")._value.get() == 2
    assert world.metrics.reconcile_seconds._value.get() > 0


def test_run_finishes_an_interrupted_delete_and_account_removal(world):
    world.files.add("f1", b"abc")
    world.handlers.replicate("f1")
    world.files.update("f1", status="deleting")
    world.accounts.set_state("acc4", "removing")
    reconciler(world).run_once()
    assert world.cloud.files == {} and world.files.records == {}
    assert world.accounts.get("acc4") is None and world.downloader.registry == {}


def test_a_replica_registered_between_the_two_reads_stays_registered(world):
    """The pass reads the files, then the registry: a job that sets a replica in the store and
    registers it in between (injected here, no timing) must not see it unregistered."""
    world.files.add("f1", b"abc")  # replicating, no replica yet: its job runs mid-pass
    read, delete = world.downloader.replicas, world.downloader.delete_replica
    deleted: list[tuple[str, str]] = []

    def job_in_between(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if not world.files.get("f1").replicas:
            world.handlers.replicate("f1")
        return read(*args, **kwargs)

    world.downloader.replicas = job_in_between
    world.downloader.delete_replica = lambda *key: (deleted.append(key), delete(*key))
    reconciler(world).run_once()
    assert deleted == []
    for acc in world.accounts.list_all():
        [one] = world.copies(acc.id, "f1")
        assert world.downloader.registry[("f1", acc.id)] == one.id


def replace_copy_while_the_registry_is_read(world, account_id: str,
                                           delete_old: str | None = None) -> list[str]:
    """Make the pass's next registry read first run a job that replaces ``account_id``'s copy
    of f1: a new copy, set in the store and registered, then ``delete_old`` deleted from
    Drive. Returns the list that then holds the new copy's id."""
    drive = world.replicator.drives.for_account(world.accounts.get(account_id))
    read, new = world.downloader.replicas, []

    def job_in_between(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if not new:
            new.append(drive.upload(io.BytesIO(b"abc"), 3, "n", "x", {"fileserver_id": "f1"})["id"])
            world.files.set_replica("f1", account_id, new[0])
            world.downloader.put_replica("f1", account_id, new[0], "u")
            if delete_old is not None:
                drive.delete(delete_old)
        return read(*args, **kwargs)

    world.downloader.replicas = job_in_between
    return new


def test_a_replica_replaced_between_the_two_reads_is_not_registered_back(world):
    """The converse: the files are read with one copy on acc2, a job replaces it (store, then
    registry) before the registry is read; the pass must not register the old copy again."""
    world.files.add("f1", b"abc")
    world.handlers.replicate("f1")
    old = world.downloader.registry.pop(("f1", "acc2"))  # drift: the pass plans to register
    new = replace_copy_while_the_registry_is_read(world, "acc2")
    todo = reconciler(world).run_once()
    assert todo.register == {("f1", "acc2"): old}  # planned from the older read, then skipped
    assert world.downloader.registry[("f1", "acc2")] == new[0]
    assert new[0] in world.cloud.files  # nor taken for a second copy and deleted


def test_a_copy_replaced_before_the_listing_is_not_forgotten(world):
    """A job replaces acc2's copy (new copy, store, old copy deleted) after the files were read:
    the listing misses the old copy, and the pass must not forget the new replica."""
    world.files.add("f1", b"abc")
    world.handlers.replicate("f1")
    old = world.files.get("f1").replicas["acc2"].drive_file_id
    new = replace_copy_while_the_registry_is_read(world, "acc2", delete_old=old)
    forgotten: list[tuple[str, str]] = []
    remove = world.files.remove_replica
    world.files.remove_replica = lambda *key: (forgotten.append(key), remove(*key))
    todo = reconciler(world).run_once()
    assert todo.forget_replicas == {("f1", "acc2")}  # planned from the older read, then skipped
    assert forgotten == []  # (a later job would adopt the copy again: never forgotten at all)
    assert world.files.get("f1").replicas["acc2"].drive_file_id == new[0]
    assert [copy.id for copy in world.copies("acc2", "f1")] == new
