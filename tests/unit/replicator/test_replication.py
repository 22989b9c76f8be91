"""Replication against Fake Drive accounts: upload once, copy the rest, idempotent, verified."""

from __future__ import annotations

import io

import pytest

from workers.replicator.errors import PermanentError, TransientError
from workers.replicator.handlers import Job, parse_job
from workers.replicator.replication import RecentRecord, Replicator


def assert_fully_replicated(world, file_id: str) -> None:
    record = world.files.get(file_id)
    assert record.status == "uploaded"
    assert record.blob_id is None and f"blob-{file_id}" not in world.blobs.blobs
    for account in world.accounts.list_all():
        [copy] = world.copies(account.id, file_id)
        assert copy.public
        assert record.replicas[account.id].drive_file_id == copy.id
        assert world.downloader.registry[(file_id, account.id)] == copy.id


def test_uploads_once_and_copies_to_every_other_account(world):
    data = b"x" * 5000
    world.files.add("f1", data)
    assert world.replicator.replicate("f1") == "uploaded"
    assert_fully_replicated(world, "f1")
    assert world.cloud.uploaded_bytes == len(data)
    assert world.cloud.copied_bytes == 3 * len(data)
    assert world.metrics.bytes.labels(mode="upload")._value.get() == len(data)


def test_retried_job_creates_no_second_copy(world):
    world.files.add("f1", b"abc" * 100)
    world.replicator.replicate("f1")
    world.replicator.replicate("f1")
    assert_fully_replicated(world, "f1")
    assert len(world.cloud.files) == 4


def crash_after_the_copy_to(world, file_id: str, account_id: str) -> None:
    """Replicate ``file_id`` until the worker dies right after Drive copied it to
    ``account_id``, before the store recorded that copy."""

    def crash(crashed_file_id, crashed_account_id):
        if crashed_account_id == account_id:
            world.files.after_set_replica = None
            raise ConnectionError("worker died")

    world.files.after_set_replica = crash
    with pytest.raises(ConnectionError):
        world.replicator.replicate(file_id)
    world.files.remove_replica(file_id, account_id)  # the store never recorded it


def test_crash_after_drive_copy_before_bookkeeping_adopts_the_copy(world):
    world.files.add("f1", b"payload")
    crash_after_the_copy_to(world, "f1", "acc3")
    world.replicator.replicate("f1")
    assert_fully_replicated(world, "f1")
    assert world.cloud.uploaded_bytes == len(b"payload")


def test_duplicate_and_corrupt_copies_are_removed(world):
    world.files.add("f1", b"good bytes")
    drive = world.replicator.drives.for_account(world.accounts.get("acc2"))
    drive.upload(io.BytesIO(b"good bytes"), 10, "f.bin", "x", {"fileserver_id": "f1"})
    drive.upload(io.BytesIO(b"good bytes"), 10, "f.bin", "x", {"fileserver_id": "f1"})
    drive.upload(io.BytesIO(b"truncated"), 9, "f.bin", "x", {"fileserver_id": "f1"})
    world.replicator.replicate("f1")
    assert_fully_replicated(world, "f1")


def test_copies_need_no_per_user_share_the_public_source_is_enough(world):
    world.files.add("f1", b"q" * 300)
    world.replicator.replicate("f1")
    assert_fully_replicated(world, "f1")
    assert all(not f.readers for f in world.cloud.files.values())  # nobody was shared it


def test_a_refused_copy_is_not_silently_reuploaded_by_default(world):
    world.files.add("f1", b"z" * 100)
    world.cloud.copy_error = world.cloud.NotFound("copy refused")
    assert world.replicator.replicate("f1") == "uploaded"  # on the account that can hold it
    record = world.files.get("f1")
    assert set(record.replicas) == {"acc1"}
    assert record.unplaced == {"acc2": "failed", "acc3": "failed", "acc4": "failed"}
    assert world.cloud.uploaded_bytes == 100  # once, to the source account
    assert world.metrics.reuploads.labels(outcome="refused")._value.get() == 3
    assert world.metrics.reuploads.labels(outcome="done")._value.get() == 0
    world.cloud.copy_error = None  # reconciliation's next try copies it
    world.replicator.replicate("f1")
    assert set(world.files.get("f1").replicas) == {"acc1", "acc2", "acc3", "acc4"}


def test_reuploads_instead_of_refused_copies_are_capped_and_counted(world):
    from workers.replicator.replication import ReplicationSettings

    world.replicator.settings = ReplicationSettings(width=4, max_reuploads=2)
    world.files.add("f1", b"z" * 100)
    world.cloud.copy_error = world.cloud.NotFound("copy refused")
    world.replicator.replicate("f1")
    record = world.files.get("f1")
    assert len(record.replicas) == 3 and list(record.unplaced.values()) == ["failed"]
    assert world.cloud.uploaded_bytes == 300  # the source + 2 capped re-uploads
    assert world.metrics.reuploads.labels(outcome="done")._value.get() == 2
    assert world.metrics.reuploads.labels(outcome="refused")._value.get() == 1


def test_transient_copy_error_is_raised_not_uploaded(world):
    world.files.add("f1", b"z" * 100)
    world.cloud.copy_error = world.cloud.Retryable("userRateLimitExceeded")
    with pytest.raises(world.cloud.Retryable):
        world.replicator.replicate("f1")
    assert world.cloud.uploaded_bytes == 100
    world.cloud.copy_error = None
    world.replicator.replicate("f1")
    assert_fully_replicated(world, "f1")
    assert world.cloud.uploaded_bytes == 100


def test_downloader_down_raises_transient_then_converges(world):
    world.files.add("f1", b"q" * 10)
    world.downloader.down = True
    with pytest.raises(TransientError):
        world.replicator.replicate("f1")
    assert world.files.get("f1").status == "replicating"
    world.downloader.down = False
    world.replicator.replicate("f1")
    assert_fully_replicated(world, "f1")


def test_deleted_mid_replication_leaves_it_nowhere(world):
    world.files.add("f1", b"w" * 50)

    def delete_after_second(file_id, account_id):
        if account_id == "acc2":
            world.files.update("f1", status="deleting")

    world.files.after_set_replica = delete_after_second
    assert world.replicator.replicate("f1") == "skipped"
    assert world.cloud.files == {}
    assert "f1" not in world.files.records
    assert world.downloader.registry == {}
    assert world.blobs.blobs == {}


def test_blob_gone_and_no_replica_marks_failed(world):
    world.files.add("f1", b"lost")
    world.blobs.blobs.clear()
    world.files.clear_blob("f1")
    with pytest.raises(PermanentError):
        world.replicator.replicate("f1")
    assert world.files.get("f1").status == "failed"


def test_parse_job_validates():
    job = parse_job({"kind": "replicate", "file_id": "f1", "requested_at": "2026-11-25T10:00:00Z"})
    assert job == Job("replicate", "f1", job.requested_at) and job.requested_at.tzinfo
    for bad in ({"kind": "nope", "file_id": "x"}, {"kind": "replicate"},
                {"kind": "account-added", "file_id": "x"}, {"kind": "replicate", "file_id": 3}):
        with pytest.raises(PermanentError):
            parse_job(bad)


@pytest.mark.parametrize("refused", ["acc1", "acc3"])  # the upload target, a copy target
def test_an_account_whose_key_is_refused_is_disabled_and_the_file_still_uploads(world, refused):
    world.cloud.unreachable.add(refused)
    world.files.add("f1", b"data" * 100)
    assert world.replicator.replicate("f1") == "uploaded"
    assert world.accounts.get(refused).state == "disabled"
    assert world.downloader.accounts[refused].active is False  # get-url stops using it
    assert world.metrics.accounts_disabled._value.get() == 1
    record = world.files.get("f1")
    assert set(record.replicas) == {"acc1", "acc2", "acc3", "acc4"} - {refused}
    assert world.cloud.uploaded_bytes == 400  # still uploaded once
    # The admin fixes the key and sets the account active again: it is backfilled.
    world.cloud.unreachable.clear()
    world.accounts.set_state(refused, "active")
    world.handlers.account_updated(refused)
    assert len(world.copies(refused, "f1")) == 1


def test_when_google_refuses_every_key_nothing_is_disabled(world):
    """A wrong clock or a revoked project refuses every key: not the accounts' fault."""
    world.cloud.unreachable.update({"acc1", "acc2", "acc3", "acc4"})
    world.files.add("f1", b"data")
    with pytest.raises(TransientError, match="every active account"):
        world.replicator.replicate("f1")
    assert all(a.state == "active" for a in world.accounts.list_all())
    assert world.files.get("f1").status == "replicating"


class MemoryAttempts:
    """workers.replicator.attempts.MongoCopyAttempts' contract, in memory."""

    def __init__(self) -> None:
        self.claimed: dict[str, set[str]] = {}

    def claim(self, file_id, account_ids):
        ids, seen = set(account_ids), self.claimed.setdefault(file_id, set())
        earlier = ids & seen
        seen |= ids
        return earlier


def with_attempts(world, attempts: MemoryAttempts | None = None) -> MemoryAttempts:
    """The world's replicator rebuilt with a claim record (as bootstrap wires Mongo's)."""
    attempts = attempts or MemoryAttempts()
    world.replicator = world.handlers.replicator = Replicator(
        world.files, world.accounts, world.blobs, world.replicator.drives, world.downloader,
        world.metrics, on_deleted=world.cleaner.delete_file, attempts=attempts)
    return attempts


def test_without_a_claim_record_every_account_is_listed_first(world):
    world.files.add("f1", b"abc" * 10)
    world.replicator.replicate("f1")
    assert sorted(world.cloud.list_calls) == ["acc1", "acc2", "acc3", "acc4"]


def test_a_first_attempt_lists_nothing_a_retry_lists_what_was_claimed(world):
    attempts = with_attempts(world)
    world.files.add("f1", b"abc" * 10)
    assert world.replicator.replicate("f1") == "uploaded"
    assert_fully_replicated(world, "f1")
    assert world.cloud.list_calls == []  # two Drive calls per copy: copy, share
    assert attempts.claimed["f1"] == {"acc1", "acc2", "acc3", "acc4"}
    world.accounts.add("acc5")
    world.replicator.replicate("f1")  # backfill: only the new account is claimed, not listed
    assert_fully_replicated(world, "f1")
    assert world.cloud.list_calls == []


def test_crash_after_the_copy_with_claims_adopts_it_and_lists_only_the_claimed(world):
    with_attempts(world)
    world.files.add("f1", b"payload")
    crash_after_the_copy_to(world, "f1", "acc3")
    with_attempts(world, world.replicator.attempts)  # a new process, the same record
    world.replicator.replicate("f1")
    assert_fully_replicated(world, "f1")  # one copy each: acc3's was adopted
    assert world.cloud.list_calls == ["acc3"]
    assert world.cloud.uploaded_bytes == len(b"payload")


def test_an_account_claimed_by_another_job_is_listed_and_its_copy_adopted(world):
    attempts = with_attempts(world)
    world.files.add("f1", b"good bytes")
    attempts.claim("f1", ["acc2"])  # a concurrent or crashed job of another process
    drive = world.replicator.drives.for_account(world.accounts.get("acc2"))
    drive.upload(io.BytesIO(b"good bytes"), 10, "f.bin", "x", {"fileserver_id": "f1"})
    world.replicator.replicate("f1")
    assert_fully_replicated(world, "f1")
    assert world.cloud.list_calls == ["acc2"]


def test_recent_record_is_read_again_only_once_older_than_its_age():
    reads = []

    def read():
        reads.append(1)
        return len(reads)

    recent = RecentRecord(read, max_age=3600)
    assert [recent.get() for _ in range(5)] == [1] * 5
    recent.max_age = 0
    assert [recent.get(), recent.get()] == [2, 3]
