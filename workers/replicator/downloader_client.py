"""The replicator's ``Downloader`` port: the shared downloader-sync client
(``fileserver.contracts.downloader_sync``) raising the replicator's own errors.

``SyncUnavailable`` (unreachable, 429, 5xx, an answer that is not what the contract says)
becomes ``TransientError`` (the job is retried); ``SyncRefused`` (another 4xx) becomes
``PermanentError`` (the job ends).
"""

from __future__ import annotations

from fileserver.contracts import downloader_sync
from fileserver.contracts.downloader_sync import SyncError, SyncUnavailable
from workers.replicator.errors import PermanentError, TransientError


class DownloaderSyncClient(downloader_sync.DownloaderSyncClient):
    def translate(self, error: SyncError) -> Exception:
        if isinstance(error, SyncUnavailable):
            return TransientError(str(error))
        return PermanentError(str(error))
