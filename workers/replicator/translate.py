"""Library exceptions -> the replicator's error types, at the port boundary.

Every adapter of ``workers/replicator/adapters.py`` runs its calls inside ``translated()``
(or is a ``@boundary`` class), so the rest of the worker only meets the types of
``workers/replicator/errors.py``. The mapping, by type:

- Drive (``fileserver.drive.errors``, the client's typed errors after its own retries):
  reason ``storageQuotaExceeded`` -> ``StorageFull``; ``DriveRetryableError`` or
  ``DriveQuotaExceeded`` with a rate-limit reason or status 429 -> ``RateLimited``, other
  ones -> ``TransientError``; ``DriveNotFound`` -> ``NotFoundError``; ``DriveFatalError``
  with reason ``authError`` (a refused key) -> ``KeyRejected``, other ones ->
  ``PermanentError``.
- MongoDB: pymongo ``ConnectionFailure`` (``AutoReconnect``, ``NetworkTimeout``, server
  selection timeouts) -> ``TransientError``.
- HTTP: ``requests.RequestException`` (connection refused, timeout) -> ``TransientError``.
- NATS: ``nats.errors`` timeout, connection closed, no servers -> ``TransientError``.
- JSON: ``json.JSONDecodeError`` (and ``requests``' subclass) -> ``PermanentError``.
- The standard library's ``TimeoutError``, ``ConnectionError`` -> ``TransientError``.
- fileserver's own (``fileserver.errors``): ``UpstreamError``, ``ServiceUnavailable``,
  ``TooManyRequests`` -> ``TransientError``; ``NotFound`` (a record or blob that is gone)
  -> ``NotFoundError``.

A ``ReplicatorError`` passes unchanged; any other exception (a bug, an error no library
documents as transient) passes unchanged too and the consumer retries it (``nak``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import GeneratorType
from typing import Any, TypeVar

import nats.errors
import requests
from pymongo.errors import ConnectionFailure

from fileserver import errors as app_errors
from fileserver.drive.errors import (
    DriveError,
    DriveFatalError,
    DriveNotFound,
)
from workers.replicator.errors import (
    KeyRejected,
    NotFoundError,
    PermanentError,
    RateLimited,
    ReplicatorError,
    StorageFull,
    TransientError,
)

RATE_REASONS = frozenset({"userRateLimitExceeded", "rateLimitExceeded"})
TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    ConnectionFailure, requests.RequestException, nats.errors.TimeoutError,
    nats.errors.ConnectionClosedError, nats.errors.NoServersError, TimeoutError,
    ConnectionError, app_errors.UpstreamError, app_errors.ServiceUnavailable,
    app_errors.TooManyRequests)
C = TypeVar("C", bound=type)


def drive_error(exc: DriveError) -> ReplicatorError:
    """A typed Drive error (fileserver.drive.errors) as the replicator's type."""
    message, status, reason = str(exc), exc.status, exc.reason
    if isinstance(exc, DriveFatalError):
        kind = KeyRejected if reason == "authError" else PermanentError
    elif isinstance(exc, DriveNotFound):
        kind = NotFoundError
    elif reason == "storageQuotaExceeded":
        kind = StorageFull
    elif reason in RATE_REASONS or status == 429:
        kind = RateLimited
    else:
        kind = TransientError
    return kind(message, status, reason)


def translate(exc: BaseException) -> BaseException:
    """The replicator's error for ``exc`` (see the table above), or ``exc`` itself."""
    if isinstance(exc, ReplicatorError):
        return exc
    if isinstance(exc, DriveError):
        return drive_error(exc)
    if isinstance(exc, json.JSONDecodeError):
        return PermanentError(f"not JSON: {exc}")
    if isinstance(exc, TRANSIENT_TYPES):
        return TransientError(f"{type(exc).__name__}: {exc}"[:500])
    if isinstance(exc, app_errors.NotFound):
        return NotFoundError(str(exc))
    return exc


@contextmanager
def translated() -> Iterator[None]:
    """Run the block; re-raise a library exception as the replicator's type (chained)."""
    try:
        yield
    except Exception as exc:
        error = translate(exc)
        if error is exc:
            raise
        raise error from exc


def _translated_iter(items: Iterator[Any]) -> Iterator[Any]:
    with translated():
        yield from items


def at_boundary(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` with its exceptions translated, and those of the generator it returns (a
    MongoDB cursor raises while it is read, after the call has returned)."""

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        with translated():
            result = method(*args, **kwargs)
        return _translated_iter(result) if isinstance(result, GeneratorType) else result

    return call


def boundary(cls: C) -> C:
    """Class decorator for an adapter: every public method it defines is ``at_boundary``."""
    for name, value in list(vars(cls).items()):
        if not name.startswith("_") and callable(value):
            setattr(cls, name, at_boundary(value))
    return cls
