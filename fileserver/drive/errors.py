"""Typed Drive errors the rest of fileserver handles (never carrying keys or tokens)."""

from __future__ import annotations


class DriveError(Exception):
    """Base class: ``status`` and ``reason`` as Drive answered them (0/"" if no answer)."""

    def __init__(self, message: str, status: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class DriveQuotaExceeded(DriveError):
    """Storage or download quota exhausted: retrying now will not help."""


class DriveRetryableError(DriveError):
    """A transient failure (rate limit, 429, 5xx, connection) that outlived every retry."""


class DriveNotFound(DriveError):
    """The file (or permission) does not exist or is not visible to this account."""


class DriveFatalError(DriveError):
    """Any other 4xx (bad request, auth, permission): a bug or a bad key, never retried."""
