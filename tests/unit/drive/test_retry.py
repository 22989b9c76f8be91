"""Client-side retry policy and error classification, with a fake operation and no sleeping."""

from __future__ import annotations

import json

import httplib2
import pytest
from googleapiclient.errors import HttpError

from fileserver.drive import retry
from fileserver.drive.errors import (
    DriveFatalError,
    DriveNotFound,
    DriveQuotaExceeded,
    DriveRetryableError,
)


def http_error(status: int, reason: str = "", retry_after: str | None = None) -> HttpError:
    headers = {"status": str(status)}
    if retry_after is not None:
        headers["retry-after"] = retry_after
    body = json.dumps({"error": {"code": status, "errors": [{"reason": reason}]}}).encode()
    return HttpError(httplib2.Response(headers), body)


@pytest.mark.parametrize(("error", "expected"), [
    (http_error(403, "rateLimitExceeded"), DriveRetryableError),
    (http_error(403, "userRateLimitExceeded"), DriveRetryableError),
    (http_error(429, "rateLimitExceeded"), DriveRetryableError),
    (http_error(503, "backendError"), DriveRetryableError),
    (http_error(403, "storageQuotaExceeded"), DriveQuotaExceeded),
    (http_error(403, "downloadQuotaExceeded"), DriveQuotaExceeded),
    (http_error(404, "notFound"), DriveNotFound),
    (http_error(400, "invalid"), DriveFatalError),
    (http_error(403, "insufficientFilePermissions"), DriveFatalError),
    (ConnectionResetError(), DriveRetryableError),
])
def test_classify(error: BaseException, expected: type) -> None:
    assert type(retry.classify(error)) is expected


class FakeOperation:
    """Fails with the given errors in order, then answers ``"done"``."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def test_retries_with_backoff_and_honours_retry_after() -> None:
    slept: list[float] = []
    policy = retry.RetryPolicy(attempts=5, base_delay=1, max_delay=4, sleep=slept.append,
                               rand=lambda: 1.0)
    operation = FakeOperation(http_error(500), http_error(429, retry_after="9"), OSError())
    assert retry.call("t.ok", operation, policy) == "done"
    assert slept == [1.0, 9.0, 4.0]


def test_gives_up_after_attempts_and_never_retries_fatal() -> None:
    policy = retry.RetryPolicy(attempts=3, sleep=lambda _s: None)
    failing = FakeOperation(*[http_error(503)] * 5)
    with pytest.raises(DriveRetryableError):
        retry.call("t.exhaust", failing, policy)
    assert failing.calls == 3
    fatal = FakeOperation(http_error(400, "badRequest"))
    with pytest.raises(DriveFatalError):
        retry.call("t.fatal", fatal, policy)
    assert fatal.calls == 1
    outcome = retry.API_CALLS.labels("t.fatal", "DriveFatalError")._value.get()
    assert outcome == 1
