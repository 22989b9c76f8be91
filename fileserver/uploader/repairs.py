"""Repair requests from the Downloader's prober: ``POST /function/files/ID/repairs``.

The Downloader never opens MongoDB; it asks here. A request is checked against the file's
document (the copy must still be the account's replica) and published as a
``repair-replica`` job on the jobs stream (docs/CONTRACTS.md, "Replication jobs"); the
replicator makes the fresh copy (workers/replicator/repair.py).
"""

from __future__ import annotations

from typing import Any, Protocol

from fileserver.contracts.jobs import REPAIR_KIND, REPAIR_REASONS
from fileserver.errors import BadRequest, ServiceUnavailable
from fileserver.uploader import metrics
from fileserver.uploader.repository import FileRepository
from fileserver.uploader.validation import only_fields

MAX_ID = 200


class RepairPublisher(Protocol):
    def publish_repair(self, file_id: str, account_id: str, drive_file_id: str,
                       reason: str) -> int: ...


def _id(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_ID \
            or any(ord(c) < 33 for c in value):
        raise BadRequest(f"{field} must be a non-empty id of at most {MAX_ID} characters")
    return value


class RepairService:
    def __init__(self, files: FileRepository, publisher: RepairPublisher) -> None:
        self.files = files
        self.publisher = publisher

    def request(self, file_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Queue a repair; answer the request and whether it was queued (False: the copy is
        no longer the account's replica, so there is nothing to repair). 404 for an unknown
        file; a publish failure raises (the caller answers 503 and the prober retries)."""
        only_fields(body, {"account_id", "drive_file_id", "reason"})
        account_id = _id(body.get("account_id"), "account_id")
        drive_file_id = _id(body.get("drive_file_id"), "drive_file_id")
        reason = body.get("reason")
        if reason not in REPAIR_REASONS:
            raise BadRequest("reason must be one of " + ", ".join(REPAIR_REASONS))
        stored = self.files.require(file_id)
        replica = stored.replicas.get(account_id)
        answer = {"file_id": file_id, "account_id": account_id, "drive_file_id": drive_file_id,
                  "reason": reason}
        if replica is None or replica.drive_file_id != drive_file_id:
            return {**answer, "queued": False}, False
        try:
            self.publisher.publish_repair(file_id, account_id, drive_file_id, reason)
        except Exception as exc:  # noqa: BLE001 - any transport error; the prober retries
            metrics.JOBS_PUBLISHED.labels(REPAIR_KIND, "error").inc()
            raise ServiceUnavailable("the jobs stream is unavailable; retry later") from exc
        metrics.JOBS_PUBLISHED.labels(REPAIR_KIND, "ok").inc()
        return {**answer, "queued": True}, True
