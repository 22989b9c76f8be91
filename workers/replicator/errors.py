"""The replicator's own error types, and what each means for a job.

The adapters (``workers/replicator/adapters.py``) translate the libraries' exceptions
(Drive, MongoDB, HTTP, NATS, JSON) into these types at the port boundary
(``workers/replicator/translate.py`` holds the mapping); the rest of the worker tells one
failure from another with ``isinstance`` only. For a job, the consumer decides:

- ``PermanentError`` (and ``KeyRejected``): ``term``, retrying the same job cannot help;
- anything else (``TransientError`` and its kinds, ``NotFoundError``, an exception no adapter
  knows): ``nak`` with backoff, bounded by ``max_deliver``; reconciliation picks up whatever
  the retries did not fix.
"""

from __future__ import annotations


class ReplicatorError(Exception):
    """Base class: ``status`` and ``reason`` as the remote service answered them (0/"")."""

    def __init__(self, message: str = "", status: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class TransientError(ReplicatorError):
    """Retry later: a service is down, rate-limited, or a check did not pass yet."""


class PermanentError(ReplicatorError):
    """Retrying the same job cannot help (a malformed job, a file without bytes)."""


class NotFoundError(ReplicatorError):
    """What was asked for does not exist: a Drive file or permission, an account's record."""


class StorageFull(TransientError):
    """Drive has no room on this account (``storageQuotaExceeded``): that account is full."""


class RateLimited(TransientError):
    """A rate limit that outlived the Drive client's retries on this account: Drive's per-user
    rate limits and its 750 GB/day upload cap answer ``userRateLimitExceeded`` alike."""


class KeyRejected(PermanentError):
    """Google refused the account's key (token refresh failed: revoked, deleted, wrong key)."""


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TransientError)


def is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, NotFoundError)


def is_permanent(exc: BaseException) -> bool:
    """The consumer's choice between ``term`` (True) and ``nak`` (False) for a failed job."""
    return isinstance(exc, PermanentError)


def is_key_rejected(exc: BaseException) -> bool:
    return isinstance(exc, KeyRejected)


def is_storage_full(exc: BaseException) -> bool:
    return isinstance(exc, StorageFull)


def is_rate_limited(exc: BaseException) -> bool:
    return isinstance(exc, RateLimited)
