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

from fileserver.uploader import metrics
from fileserver.uploader.model import StoredFile

log = logging.getLogger("fileserver.uploader.registration")


class DownloaderRegistration:
    def __init__(self, gateway_url: str, admin_token: str, timeout: float = 2.0,
                 session: requests.Session | None = None) -> None:
        self.base = f"{gateway_url.rstrip('/')}/function/downloader-sync/files"
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Bearer {admin_token}"

    def __call__(self, stored: StoredFile) -> None:
        body = {"name": stored.name, "size": stored.size, "md5": stored.md5,
                "sha256": stored.sha256, "version": stored.version}
        try:
            answer = self.session.put(f"{self.base}/{stored.id}", json=body,
                                      timeout=self.timeout)
            outcome = "registered" if answer.ok else "refused"
            reason = f"answered {answer.status_code}"
        except requests.RequestException as exc:
            outcome, reason = "unreachable", type(exc).__name__
        metrics.FILE_REGISTRATIONS.labels(outcome).inc()
        if outcome != "registered":
            log.warning("file %s not registered with the Downloader yet (downloader-sync %s); "
                        "the replicator will", stored.id, reason)
