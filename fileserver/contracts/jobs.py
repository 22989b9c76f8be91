"""The replication jobs on JetStream (docs/CONTRACTS.md, "Replication jobs").

The Uploader publishes them (``fileserver.uploader.jobs``), the replicator consumes them
(``workers.replicator.consumer`` and ``handlers``). A job carries ids only, never state: the
worker re-reads MongoDB. Its subject is ``jobs.<kind>``; its ``Nats-Msg-Id`` lets JetStream
drop a second publish of the same change within the stream's duplicate window.
"""

from __future__ import annotations

from typing import Any

from nats.js.api import StreamConfig

from fileserver.contracts.timestamps import utc_stamp

STREAM = "FILESERVER_JOBS"
SUBJECTS = "jobs.>"
DUPLICATE_WINDOW_SECONDS = 120.0
FILE_KINDS = ("replicate", "delete-file", "rename-file")
ACCOUNT_KINDS = ("account-added", "account-removed", "account-updated")
REPAIR_KIND = "repair-replica"
REPAIR_REASONS = ("not_found", "download_quota")


def stream_config(name: str = STREAM, subjects: str = SUBJECTS) -> StreamConfig:
    """The jobs stream as both sides create it (tests pass a name and subjects of their own)."""
    return StreamConfig(name=name, subjects=[subjects],
                        duplicate_window=DUPLICATE_WINDOW_SECONDS)


def subject(kind: str) -> str:
    """The subject a job of ``kind`` is published on."""
    return f"jobs.{kind}"


def target_field(kind: str) -> str:
    """``file_id`` or ``account_id``: the id a job of ``kind`` names (ValueError if unknown)."""
    if kind in FILE_KINDS:
        return "file_id"
    if kind in ACCOUNT_KINDS:
        return "account_id"
    raise ValueError(f"unknown job kind {kind!r}")


def job_body(kind: str, target_id: str) -> dict[str, Any]:
    """The JSON body of a file or account job."""
    return {"kind": kind, target_field(kind): target_id, "requested_at": utc_stamp()}


def message_id(kind: str, target_id: str, version: int) -> str:
    """``Nats-Msg-Id`` of a file or account job: one per change (the document's version)."""
    return f"{kind}:{target_id}:{version}"


def repair_job_body(file_id: str, account_id: str, drive_file_id: str,
                    reason: str) -> dict[str, Any]:
    """A ``repair-replica`` job: replace the copy ``drive_file_id`` of ``file_id`` on
    ``account_id`` (gone: ``not_found``, or behind Google's per-file quota page:
    ``download_quota``) with a fresh server-side copy."""
    return {"kind": REPAIR_KIND, "file_id": file_id, "account_id": account_id,
            "drive_file_id": drive_file_id, "reason": reason, "requested_at": utc_stamp()}


def repair_message_id(file_id: str, account_id: str, drive_file_id: str) -> str:
    """``Nats-Msg-Id`` of a repair: one per bad copy."""
    return f"{REPAIR_KIND}:{file_id}:{account_id}:{drive_file_id}"
