"""Best-effort registration of a new file with the Downloader (``downloader-sync PUT /files``).

The replicator registers every file it takes (idempotent, ordered by version), but only once it
has taken the job: until then get-url would answer 404 for a file upload-file has just accepted
(or for as long as NATS or the replicator is down). Registering at upload time too makes get-url
answer 409 ``replicating`` instead, as for any file not yet on an account. A failure is logged
and counted, never raised: the upload is stored and its job queued, and the replicator's own
registration follows. A late or repeated registration is harmless: the version orders them.
"""

from __future__ import annotations

import logging

import requests

from fileserver.contracts.downloader_sync import DownloaderSyncClient, SyncError
from fileserver.uploader import metrics
from fileserver.uploader.model import StoredFile

log = logging.getLogger("fileserver.uploader.registration")


class DownloaderRegistration:
    """``register`` of the UploadService: the shared downloader-sync client's ``put_file``
    with a short timeout; outcomes ``registered``, ``refused`` (an answer other than 2xx)
    and ``unreachable`` (no answer) are counted."""

    def __init__(self, gateway_url: str, admin_token: str, timeout: float = 2.0,
                 session: requests.Session | None = None) -> None:
        self.client = DownloaderSyncClient(gateway_url, admin_token, timeout, session)

    def __call__(self, stored: StoredFile) -> None:
        try:
            self.client.put_file(stored)
            outcome = "registered"
        except SyncError as exc:
            outcome = "unreachable" if exc.status is None else "refused"
            reason = str(exc)
        metrics.FILE_REGISTRATIONS.labels(outcome).inc()
        if outcome != "registered":
            log.warning("file %s not registered with the Downloader yet (%s); "
                        "the replicator will", stored.id, reason)
