"""How the worker tells a failure worth retrying from one that never will succeed.

The Drive client and the Uploader's repositories raise their own error classes; the
worker classifies them by class name along the MRO so that it does not import every
adapter (``DriveRetryableError`` from ``fileserver.drive`` is transient wherever it lives).
"""

from __future__ import annotations

TRANSIENT_NAMES = frozenset({
    "TransientError", "DriveRetryableError", "DriveQuotaExceeded", "UpstreamError",
    "ServiceUnavailable", "AutoReconnect", "NetworkTimeout", "ServerSelectionTimeoutError",
    "ConnectionFailure", "ConnectionError", "TimeoutError", "Timeout",
})
NOT_FOUND_NAMES = frozenset({"DriveNotFound", "NotFound"})
PERMANENT_NAMES = frozenset({"PermanentError", "JSONDecodeError", "DriveFatalError"})


class TransientError(Exception):
    """Retry later: a service is down, rate-limited, or a check did not pass yet."""


class PermanentError(Exception):
    """Retrying the same job cannot help (a malformed job, a file without bytes)."""


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, PermanentError):
        return False
    return bool(_names(exc) & TRANSIENT_NAMES)


def is_not_found(exc: BaseException) -> bool:
    return bool(_names(exc) & NOT_FOUND_NAMES)


def is_permanent(exc: BaseException) -> bool:
    """Only errors known to repeat forever end a job; anything else is retried (bounded by
    ``max_deliver``) and reconciliation picks up whatever the retries did not fix."""
    return bool(_names(exc) & PERMANENT_NAMES)


def is_key_rejected(exc: BaseException) -> bool:
    """Google refused the account's key (token refresh failed: revoked, deleted, wrong key)."""
    return "DriveFatalError" in _names(exc) and getattr(exc, "reason", "") == "authError"
