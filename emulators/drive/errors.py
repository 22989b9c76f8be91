"""Google-shaped API errors: each knows its HTTP status, reason and wire body."""

from __future__ import annotations

from typing import Any


class DriveApiError(Exception):
    """An error answered as ``{"error": {"code", "message", "errors": [{"reason", ...}]}}``."""

    def __init__(self, status: int, reason: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        domain = "usageLimits" if "Limit" in self.reason or "Quota" in self.reason else "global"
        return {"error": {
            "code": self.status,
            "message": self.message,
            "errors": [{"domain": domain, "reason": self.reason, "message": self.message}],
        }}


def not_found(file_id: str) -> DriveApiError:
    return DriveApiError(404, "notFound", f"File not found: {file_id}.")


def bad_request(message: str, reason: str = "badRequest") -> DriveApiError:
    return DriveApiError(400, reason, message)


def unauthorized(message: str = "Request had invalid authentication credentials.") -> DriveApiError:
    return DriveApiError(401, "authError", message)


def insufficient_permissions(file_id: str) -> DriveApiError:
    return DriveApiError(403, "insufficientFilePermissions",
                         f"The user does not have sufficient permissions for file {file_id}.")


def storage_quota_exceeded() -> DriveApiError:
    return DriveApiError(403, "storageQuotaExceeded",
                         "The user's Drive storage quota has been exceeded.")


def download_quota_exceeded() -> DriveApiError:
    return DriveApiError(403, "downloadQuotaExceeded",
                         "The download quota for this file has been exceeded.")
