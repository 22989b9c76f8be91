"""HTTP client for the Downloader's ``downloader-sync`` function (docs/CONTRACTS.md).

Every call is idempotent and versioned. Files and accounts carry their Mongo ``version``.
Replicas have no version of their own in Mongo, so a replica message carries the wall-clock
time in microseconds when it is sent: it is sent right after re-reading the desired state,
so the latest decision wins, and reconciliation repairs the rare race it leaves.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import requests

from workers.replicator.errors import PermanentError, TransientError
from workers.replicator.model import Account, FileRecord

FUNCTION = "downloader-sync"


_last_version = 0
_version_lock = threading.Lock()


def clock_version() -> int:
    """Microseconds since the epoch, strictly increasing within this process."""
    global _last_version
    with _version_lock:
        _last_version = max(_last_version + 1, time.time_ns() // 1000)
        return _last_version


class DownloaderSyncClient:
    def __init__(self, gateway_url: str, admin_token: str, timeout: float = 10.0,
                 session: requests.Session | None = None) -> None:
        self.base = f"{gateway_url.rstrip('/')}/function/{FUNCTION}"
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Bearer {admin_token}"

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.session.request(method, self.base + path, timeout=self.timeout,
                                            **kwargs)
        except requests.RequestException as exc:
            raise TransientError(f"{FUNCTION} unreachable: {type(exc).__name__}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientError(f"{FUNCTION} {method} {path} answered {response.status_code}")
        if response.status_code >= 400:
            raise PermanentError(f"{FUNCTION} {method} {path} answered "
                                 f"{response.status_code}: {response.text[:200]}")
        try:
            body = response.json()
        except ValueError as exc:
            raise TransientError(f"{FUNCTION} answered a body that is not JSON") from exc
        return body if isinstance(body, dict) else {}

    def put_account(self, account: Account) -> None:
        self._call("PUT", f"/accounts/{account.id}", json={
            "email": account.email, "daily_limit_bytes": account.daily_limit_bytes,
            "active": account.serving, "version": account.version, "kind": account.kind,
            "state": account.state, "storage_limit_bytes": account.storage_limit,
            "storage_usage_bytes": account.storage_usage,
            "storage_checked_at": account.storage_checked_at})

    def delete_account(self, account_id: str, version: int) -> None:
        self._call("DELETE", f"/accounts/{account_id}", params={"version": version})

    def put_file(self, record: FileRecord) -> None:
        self._call("PUT", f"/files/{record.id}", json={
            "name": record.name, "size": record.size, "md5": record.md5,
            "sha256": record.sha256, "version": record.version})

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
            raise TransientError(f"{FUNCTION} answered replicas without an items list")
        return [item for item in items if isinstance(item, dict)]

    def replica_accounts(self) -> list[str]:
        """``GET /replicas/accounts``: the account ids with live registry rows."""
        items = self._call("GET", "/replicas/accounts").get("items")
        if not isinstance(items, list):
            raise TransientError(f"{FUNCTION} answered replica accounts without an items list")
        return [str(item) for item in items]
