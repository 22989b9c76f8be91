"""Google-shaped API errors: each knows its HTTP status, reason and wire body."""

from __future__ import annotations

from typing import Any


class DriveApiError(Exception):
    """An error answered as ``{"error": {"code", "message", "errors": [{"reason", ...}]}}``."""

    def __init__(self, status: int, reason: str, message: str,
                 headers: dict[str, str] | None = None, location: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.headers = headers or {}
        self.location = location

    def body(self) -> dict[str, Any]:
        domain = "usageLimits" if "Limit" in self.reason or "Quota" in self.reason else "global"
        detail: dict[str, Any] = {"domain": domain, "reason": self.reason, "message": self.message}
        if self.location:
            detail.update(location=self.location, locationType="parameter")
        return {"error": {"code": self.status, "message": self.message, "errors": [detail]}}


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


SERVICE_ACCOUNT_NO_QUOTA = (
    "Service Accounts do not have storage quota. Leverage shared drives "
    "(https://developers.google.com/workspace/drive/api/guides/about-shareddrives), "
    "or use OAuth delegation (http://support.google.com/a/answer/7281227) instead.")


def service_account_no_quota() -> DriveApiError:
    """What a service account created after 15 April 2025 gets for anything it would own."""
    return DriveApiError(403, "storageQuotaExceeded", SERVICE_ACCOUNT_NO_QUOTA)


def user_rate_limit_exceeded() -> DriveApiError:
    """The 750 GB/day upload + copy cap per user."""
    return DriveApiError(403, "userRateLimitExceeded", "User rate limit exceeded.")


def drive_not_found(drive_id: str) -> DriveApiError:
    return DriveApiError(404, "notFound", f"Shared drive not found: {drive_id}")


def invalid_field_selection(name: str) -> DriveApiError:
    return DriveApiError(400, "invalidParameter", f"Invalid field selection {name}",
                         location="fields")
