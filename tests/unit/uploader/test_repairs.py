"""Repair requests (fileserver/uploader/repairs.py): validated, checked against the file's
replicas, published as repair-replica jobs; a publish failure is a 503."""

from __future__ import annotations

import pytest

from fileserver.errors import BadRequest, NotFound, ServiceUnavailable
from fileserver.uploader.model import Replica, StoredFile
from fileserver.uploader.repairs import RepairService


class FakeFiles:
    def __init__(self) -> None:
        self.file = StoredFile("f1", "a.bin", 10, "application/octet-stream", "m", "s",
                               "uploaded", 3, None, "t", "t",
                               {"acc1": Replica("acc1", "ready", "d1", "t")})

    def require(self, file_id: str) -> StoredFile:
        if file_id != "f1":
            raise NotFound(f"file {file_id} not found")
        return self.file


class FakePublisher:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.published: list[tuple[str, str, str, str]] = []

    def publish_repair(self, *args: str) -> int:
        if self.fail:
            raise TimeoutError("nats")
        self.published.append(args)
        return 1


def test_a_request_for_the_current_copy_is_published():
    publisher = FakePublisher()
    service = RepairService(FakeFiles(), publisher)  # type: ignore[arg-type]
    body = {"account_id": "acc1", "drive_file_id": "d1", "reason": "not_found"}
    answer, queued = service.request("f1", body)
    assert queued and answer["queued"] is True
    assert publisher.published == [("f1", "acc1", "d1", "not_found")]
    stale, queued = service.request("f1", {**body, "drive_file_id": "d0"})
    assert not queued and stale["queued"] is False and len(publisher.published) == 1


def test_bad_requests_unknown_files_and_a_down_stream():
    service = RepairService(FakeFiles(), FakePublisher())  # type: ignore[arg-type]
    good = {"account_id": "acc1", "drive_file_id": "d1", "reason": "download_quota"}
    for bad in ({**good, "reason": "bored"}, {**good, "account_id": ""},
                {**good, "extra": 1}, {"account_id": "acc1"}):
        with pytest.raises(BadRequest):
            service.request("f1", bad)
    with pytest.raises(NotFound):
        service.request("f2", good)
    down = RepairService(FakeFiles(), FakePublisher(fail=True))  # type: ignore[arg-type]
    with pytest.raises(ServiceUnavailable):
        down.request("f1", good)
