"""One downloader-sync client for the Uploader and the replicator: the same ``PUT /files``
from both, each side's failures in its own terms."""

from __future__ import annotations

import pytest
import requests
from prometheus_client import REGISTRY

from fileserver.contracts.downloader_sync import (
    DownloaderSyncClient,
    SyncRefused,
    SyncUnavailable,
)
from fileserver.uploader.model import StoredFile
from fileserver.uploader.registration import DownloaderRegistration
from tests.unit.fake_http import FakeResponse, FakeSession
from workers.replicator.adapters import to_record

STORED = StoredFile("f1", "a.bin", 5, "application/octet-stream", "m" * 32, "s" * 64,
                    "replicating", 2, "blob", "2026-12-01T10:00:00.000Z",
                    "2026-12-01T10:00:00.000Z")


def registrations(outcome: str) -> float:
    return REGISTRY.get_sample_value("fileserver_upload_registrations_total",
                                     {"outcome": outcome}) or 0.0


def test_upload_file_and_the_replicator_send_the_same_put_files():
    uploader, replicator = FakeSession([FakeResponse(200)]), FakeSession([FakeResponse(200)])
    DownloaderRegistration("http://gw/", "tok", session=uploader)(STORED)
    DownloaderSyncClient("http://gw", "tok", session=replicator).put_file(to_record(STORED))
    (method, url, sent), (_, _, again) = uploader.sent[0], replicator.sent[0]
    assert (method, url) == ("PUT", "http://gw/function/downloader-sync/files/f1")
    assert sent["json"] == again["json"] == {"name": "a.bin", "size": 5, "md5": "m" * 32,
                                             "sha256": "s" * 64, "version": 2}
    assert sent["timeout"] == 2.0 and again["timeout"] == 10.0
    assert uploader.headers["Authorization"] == "Bearer tok"


@pytest.mark.parametrize(("answer", "outcome"), [
    (FakeResponse(200), "registered"),
    (FakeResponse(400, {"error": {}}), "refused"),
    (FakeResponse(503), "refused"),
    (requests.ConnectionError("refused"), "unreachable"),
])
def test_the_upload_time_registration_counts_and_never_raises(answer, outcome):
    before = registrations(outcome)
    DownloaderRegistration("http://gw", "tok", session=FakeSession([answer]))(STORED)
    assert registrations(outcome) == before + 1


@pytest.mark.parametrize(("answer", "error", "status"), [
    (requests.Timeout("slow"), SyncUnavailable, None),
    (FakeResponse(429), SyncUnavailable, 429),
    (FakeResponse(500), SyncUnavailable, 500),
    (FakeResponse(200, ValueError("not json")), SyncUnavailable, 200),
    (FakeResponse(404, {"error": {}}), SyncRefused, 404),
])
def test_failures_are_the_contracts_own_types(answer, error, status):
    client = DownloaderSyncClient("http://gw", "tok", session=FakeSession([answer]))
    with pytest.raises(error) as raised:
        client.delete_file("f1", 3)
    assert raised.value.status == status
