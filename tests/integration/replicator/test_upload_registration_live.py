"""upload-file registers a new file with the Downloader itself (best effort): get-url answers
409 ``replicating`` for a file just accepted, even before the replicator has taken its job,
instead of 404. Real gateway, downloader-sync and get-url processes; no replicator at first."""

from __future__ import annotations

import os

import requests
from prometheus_client import REGISTRY

from bench.replication_stack import TOKEN, Live
from devstack.process import wait_until
from fileserver.uploader.registration import DownloaderRegistration
from fileserver.uploader.service import UploadService


def get_url(live: Live, file_id: str) -> requests.Response:
    return requests.get(f"{live.gateway}/function/get-url/", params={"id": file_id}, timeout=10)


def unreachable_count() -> float:
    return REGISTRY.get_sample_value("fileserver_upload_registrations_total",
                                     {"outcome": "unreachable"}) or 0.0


def test_a_file_just_uploaded_is_replicating_for_get_url_not_unknown(live: Live) -> None:
    live.add_account()
    registering = UploadService(live.accounts, live.files, live.blobs, live.jobs, 1 << 30,
                                register=DownloaderRegistration(live.gateway, TOKEN))
    silent = UploadService(live.accounts, live.files, live.blobs, live.jobs, 1 << 30)
    registered = registering.upload("new.bin", "application/octet-stream", [os.urandom(5000)])
    unregistered = silent.upload("old-way.bin", "application/octet-stream", [os.urandom(5000)])

    answer = get_url(live, registered.id)
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["details"]["status"] == "replicating"
    assert get_url(live, unregistered.id).status_code == 404  # what the registration avoids

    # A Downloader that cannot be reached costs the upload nothing: logged and counted.
    before = unreachable_count()
    offline = UploadService(live.accounts, live.files, live.blobs, live.jobs, 1 << 30,
                            register=DownloaderRegistration("http://127.0.0.1:9", TOKEN))
    stored = offline.upload("offline.bin", "application/octet-stream", [os.urandom(100)])
    assert stored.status == "replicating" and unreachable_count() == before + 1

    # The replicator's registration (same version) and its replicas follow: all served.
    live.start_replicator()
    for file_id in (registered.id, unregistered.id, stored.id):
        wait_until(lambda f=file_id: get_url(live, f).status_code == 200, 90)
