"""The one HTTP client of the Downloader's ``downloader-sync`` function (docs/CONTRACTS.md).

Used by the replicator (every account, file and replica change) and by the Uploader's
upload-file (a new file, best effort). Every call is idempotent and versioned. Files and
accounts carry their Mongo ``version``. Replicas have no version of their own in Mongo, so a
replica message carries the wall-clock time in microseconds when it is sent: it is sent right
after re-reading the desired state, so the latest decision wins, and reconciliation repairs
the rare race it leaves.

Failures are this module's own types: :class:`SyncUnavailable` (unreachable, 429, 5xx, a body
that is not JSON: worth retrying) and :class:`SyncRefused` (any other 4xx: the same message
will be refused again). A caller with error types of its own overrides
:meth:`DownloaderSyncClient.translate` (the replicator: workers/replicator/downloader_client.py).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

import requests

FUNCTION = "downloader-sync"


class SyncError(Exception):
    """A downloader-sync call that did not apply; ``status`` None: no answer at all."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class SyncUnavailable(SyncError):
    """Unreachable, rate-limited, failing (429, 5xx) or answering garbage: retry later."""


class SyncRefused(SyncError):
    """A 4xx other than 429: the Downloader refuses this message and always will."""


class SyncedFile(Protocol):
    """What ``PUT /files/<id>`` sends (the Uploader's ``StoredFile``, the replicator's
    ``FileRecord``)."""

    id: str
    name: str
    size: int
    md5: str
    sha256: str | None
    version: int


class SyncedAccount(Protocol):
    """What ``PUT /accounts/<id>`` sends (the replicator's ``Account``)."""

    id: str
    email: str
    daily_limit_bytes: int
    serving: bool
    version: int
    kind: str
    state: str
    storage_limit: int | None
    storage_usage: int
    storage_checked_at: str | None


_last_version = 0
_version_lock = threading.Lock()


def clock_version() -> int:
    """Microseconds since the epoch, strictly increasing within this process."""
    global _last_version
    with _version_lock:
        _last_version = max(_last_version + 1, time.time_ns() // 1000)
        return _last_version


def file_body(record: SyncedFile) -> dict[str, Any]:
    """The body of ``PUT /files/<id>``."""
    return {"name": record.name, "size": record.size, "md5": record.md5,
            "sha256": record.sha256, "version": record.version}


def account_body(account: SyncedAccount) -> dict[str, Any]:
    """The body of ``PUT /accounts/<id>`` (``active``: get-url may hand out its replicas)."""
    return {"email": account.email, "daily_limit_bytes": account.daily_limit_bytes,
            "active": account.serving, "version": account.version, "kind": account.kind,
            "state": account.state, "storage_limit_bytes": account.storage_limit,
            "storage_usage_bytes": account.storage_usage,
            "storage_checked_at": account.storage_checked_at}


class DownloaderSyncClient:
    def __init__(self, gateway_url: str, admin_token: str, timeout: float = 10.0,
                 session: requests.Session | None = None) -> None:
        self.base = f"{gateway_url.rstrip('/')}/function/{FUNCTION}"
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Bearer {admin_token}"

    def translate(self, error: SyncError) -> Exception:
        """The exception raised for ``error``: ``error`` itself here."""
        return error

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.session.request(method, self.base + path, timeout=self.timeout,
                                            **kwargs)
        except requests.RequestException as exc:
            raise self.translate(SyncUnavailable(
                f"{FUNCTION} unreachable: {type(exc).__name__}")) from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise self.translate(SyncUnavailable(
                f"{FUNCTION} {method} {path} answered {status}", status))
        if status >= 400:
            raise self.translate(SyncRefused(
                f"{FUNCTION} {method} {path} answered {status}: {response.text[:200]}", status))
        try:
            body = response.json()
        except ValueError as exc:
            raise self.translate(SyncUnavailable(
                f"{FUNCTION} answered a body that is not JSON", status)) from exc
        return body if isinstance(body, dict) else {}

    def put_account(self, account: SyncedAccount) -> None:
        self._call("PUT", f"/accounts/{account.id}", json=account_body(account))

    def delete_account(self, account_id: str, version: int) -> None:
        self._call("DELETE", f"/accounts/{account_id}", params={"version": version})

    def put_file(self, record: SyncedFile) -> None:
        self._call("PUT", f"/files/{record.id}", json=file_body(record))

    def delete_file(self, file_id: str, version: int) -> None:
        self._call("DELETE", f"/files/{file_id}", params={"version": version})

    def put_replica(self, file_id: str, account_id: str, drive_file_id: str, url: str) -> None:
        self._call("PUT", f"/replicas/{file_id}/{account_id}", json={
            "drive_file_id": drive_file_id, "url": url, "version": clock_version()})

    def delete_replica(self, file_id: str, account_id: str) -> None:
        self._call("DELETE", f"/replicas/{file_id}/{account_id}",
                   params={"version": clock_version()})

    def replicas(self, file_id: str | None = None,
                 account_id: str | None = None) -> list[dict[str, Any]]:
        params = {key: value for key, value in
                  (("file_id", file_id), ("account_id", account_id)) if value}
        items = self._call("GET", "/replicas", params=params).get("items")
        if not isinstance(items, list):
            raise self.translate(SyncUnavailable(
                f"{FUNCTION} answered replicas without an items list"))
        return [item for item in items if isinstance(item, dict)]

    def replica_accounts(self) -> list[str]:
        """``GET /replicas/accounts``: the account ids with live registry rows."""
        items = self._call("GET", "/replicas/accounts").get("items")
        if not isinstance(items, list):
            raise self.translate(SyncUnavailable(
                f"{FUNCTION} answered replica accounts without an items list"))
        return [str(item) for item in items]
