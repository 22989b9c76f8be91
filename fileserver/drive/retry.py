"""Exponential backoff with full jitter, error classification and Prometheus counters."""

from __future__ import annotations

import json
import logging
import random
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import TypeVar

import httplib2
from google.auth.exceptions import RefreshError, TransportError
from googleapiclient.errors import HttpError, ResumableUploadError
from prometheus_client import Counter

from fileserver.drive.errors import (
    DriveError,
    DriveFatalError,
    DriveNotFound,
    DriveQuotaExceeded,
    DriveRetryableError,
)

log = logging.getLogger("fileserver.drive")
T = TypeVar("T")

API_CALLS = Counter("fileserver_drive_api_calls_total", "Drive API calls by final outcome",
                    ["method", "outcome"])
API_RETRIES = Counter("fileserver_drive_api_retries_total", "Drive API retries", ["method"])

RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "backendError"}
QUOTA_REASONS = {"storageQuotaExceeded", "downloadQuotaExceeded", "quotaExceeded",
                 "dailyLimitExceeded"}
CONNECTION_ERRORS = (ConnectionError, TimeoutError, socket.timeout, ssl.SSLError, HTTPException,
                     httplib2.HttpLib2Error, TransportError, OSError)


@dataclass
class RetryPolicy:
    """``attempts`` tries in all; delays grow as base * 2**n, capped, with full jitter."""

    attempts: int = 8
    base_delay: float = 0.5
    max_delay: float = 32.0
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = field(default=random.random)

    def delay(self, retry: int, retry_after: float | None) -> float:
        backoff = min(self.max_delay, self.base_delay * 2**retry) * self.rand()
        return max(backoff, retry_after or 0.0)


def error_reason(error: HttpError) -> str:
    try:
        body = json.loads(error.content or b"{}")
        return str(body["error"]["errors"][0]["reason"])
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


def error_message(error: HttpError) -> str:
    """Google's own ``error.message`` (e.g. "Service Accounts do not have storage quota.
    ..."), at most 300 characters; "" if the body has none. It never holds a key or token."""
    try:
        body = json.loads(error.content or b"{}")
        return str(body["error"]["message"])[:300]
    except (ValueError, KeyError, TypeError):
        return ""


def classify(exc: BaseException) -> DriveError:
    """Map a failure to its typed error (DriveRetryableError = worth another try)."""
    if isinstance(exc, HttpError):
        status, reason = int(exc.resp.status), error_reason(exc)
        message = f"Drive answered {status} {reason or ''}".strip()
        google = error_message(exc)
        message = f"{message}: {google}" if google else message
        if reason in QUOTA_REASONS:
            return DriveQuotaExceeded(message, status, reason)
        if status == 429 or status >= 500 or (status == 403 and reason in RATE_LIMIT_REASONS):
            return DriveRetryableError(message, status, reason)
        if status == 404:
            return DriveNotFound(message, status, reason)
        return DriveFatalError(message, status, reason)
    if isinstance(exc, RefreshError) and not getattr(exc, "retryable", False):
        return DriveFatalError(f"token refresh failed: {refresh_reason(exc)}", 401, "authError")
    return DriveRetryableError(f"connection error: {type(exc).__name__}")


def refresh_reason(exc: RefreshError) -> str:
    """The token endpoint's OAuth error and description (``invalid_grant: Token has been
    expired or revoked.``: a revoked refresh token; ``invalid_grant: Invalid JWT
    Signature.``: a deleted key), or the exception class when the answer had neither."""
    answer = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
    code, description = answer.get("error"), answer.get("error_description")
    if not isinstance(code, str):
        return type(exc).__name__
    text = f"{code}: {description}" if isinstance(description, str) else code
    return text[:200]


def retry_after(exc: BaseException) -> float | None:
    if isinstance(exc, HttpError):
        value = exc.resp.get("retry-after")
        if value and str(value).isdigit():
            return float(value)
    return None


def call(method: str, operation: Callable[[], T], policy: RetryPolicy) -> T:
    """Run ``operation``; retry transient failures; count the outcome."""
    for attempt in range(policy.attempts):
        try:
            result = operation()
        except (HttpError, ResumableUploadError, RefreshError, *CONNECTION_ERRORS) as exc:
            error = classify(exc)
            if not isinstance(error, DriveRetryableError) or attempt == policy.attempts - 1:
                API_CALLS.labels(method, type(error).__name__).inc()
                raise error from exc
            API_RETRIES.labels(method).inc()
            wait = policy.delay(attempt, retry_after(exc))
            log.info("drive %s: %s, retry %d in %.2fs", method, error, attempt + 1, wait)
            policy.sleep(wait)
        else:
            API_CALLS.labels(method, "ok").inc()
            return result
    raise AssertionError("unreachable")
