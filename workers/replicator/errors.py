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


def is_storage_full(exc: BaseException) -> bool:
    """Drive has no room on this account (``storageQuotaExceeded``): that account is full."""
    return _is_drive(exc) and getattr(exc, "reason", "") == "storageQuotaExceeded"


def is_rate_limited(exc: BaseException) -> bool:
    """A rate limit that outlived the client's retries on this account: Drive's per-user rate
    limits and its 750 GB/day upload cap answer ``userRateLimitExceeded`` alike."""
    return _is_drive(exc) and (getattr(exc, "reason", "") in RATE_REASONS
                               or getattr(exc, "status", 0) == 429)


RATE_REASONS = frozenset({"userRateLimitExceeded", "rateLimitExceeded"})


def _is_drive(exc: BaseException) -> bool:
    return any(name.startswith("Drive") for name in _names(exc))
