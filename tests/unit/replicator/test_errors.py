"""Every library exception kind -> the replicator's type (at the adapter) -> ack/nak/term.

The exceptions are the libraries' own classes, raised through the real adapters of
workers/replicator/adapters.py; the delivery decision is the real consumer's, on a stand-in
NATS message. Nothing is renamed: the mapping is by type.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import nats.errors
import pymongo.errors
import pytest
import requests

from fileserver import errors as app_errors
from fileserver.drive.errors import (
    DriveFatalError,
    DriveNotFound,
    DriveQuotaExceeded,
    DriveRetryableError,
)
from workers.replicator.adapters import DownloaderSync, DriveAccount, GridFsBlobs, MongoFiles
from workers.replicator.consumer import ConsumerSettings, JobConsumer
from workers.replicator.errors import (
    KeyRejected,
    NotFoundError,
    PermanentError,
    RateLimited,
    ReplicatorError,
    StorageFull,
    TransientError,
)
from workers.replicator.handlers import Job
from workers.replicator.metrics import ReplicatorMetrics
from workers.replicator.translate import TRANSIENT_TYPES


class Raising:
    """Stands in for a library object (DriveClient, a repository, the HTTP client): every
    method raises ``error``; ``iter_all`` raises it while its generator is read."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            raise self.error
        return call

    def iter_all(self) -> Iterator[Any]:
        yield from ()
        raise self.error


def drive(error: BaseException) -> None:
    DriveAccount(Raising(error)).copy("d1", "f.bin", {})  # type: ignore[arg-type]


def mongo(error: BaseException) -> None:
    MongoFiles(Raising(error)).get("f1")  # type: ignore[arg-type]


def mongo_cursor(error: BaseException) -> None:
    list(MongoFiles(Raising(error)).iter_all())  # type: ignore[arg-type]


def gridfs(error: BaseException) -> None:
    GridFsBlobs(Raising(error)).open_stream("b1")  # type: ignore[arg-type]


def http(error: BaseException) -> None:
    DownloaderSync(Raising(error)).put_replica("f1", "a1", "d1", "https://x")  # type: ignore[arg-type]


TERM, NAK = "term", "nak"
CASES: list[tuple[Callable[[BaseException], None], BaseException, type, str]] = [
    (drive, DriveRetryableError("Drive answered 503 backendError", 503, "backendError"),
     TransientError, NAK),
    (drive, DriveRetryableError("connection error: ConnectionResetError"), TransientError, NAK),
    (drive, DriveRetryableError("Drive answered 429", 429, ""), RateLimited, NAK),
    (drive, DriveRetryableError("rate", 403, "userRateLimitExceeded"), RateLimited, NAK),
    (drive, DriveRetryableError("rate", 403, "rateLimitExceeded"), RateLimited, NAK),
    (drive, DriveQuotaExceeded("full", 403, "storageQuotaExceeded"), StorageFull, NAK),
    (drive, DriveQuotaExceeded("quota", 403, "downloadQuotaExceeded"), TransientError, NAK),
    (drive, DriveNotFound("Drive answered 404 notFound", 404, "notFound"), NotFoundError, NAK),
    (drive, DriveFatalError("token refresh failed: invalid_grant", 401, "authError"),
     KeyRejected, TERM),
    (drive, DriveFatalError("Drive answered 400 badRequest", 400, "badRequest"),
     PermanentError, TERM),
    (drive, pymongo.errors.AutoReconnect("blob read"), TransientError, NAK),  # upload's stream
    (mongo, pymongo.errors.AutoReconnect("primary stepped down"), TransientError, NAK),
    (mongo, pymongo.errors.NetworkTimeout("timed out"), TransientError, NAK),
    (mongo, pymongo.errors.ServerSelectionTimeoutError("no primary"), TransientError, NAK),
    (mongo, pymongo.errors.ConnectionFailure("refused"), TransientError, NAK),
    (mongo_cursor, pymongo.errors.AutoReconnect("cursor lost"), TransientError, NAK),
    (gridfs, app_errors.NotFound("blob b1 not found"), NotFoundError, NAK),
    (http, requests.ConnectionError("refused"), TransientError, NAK),
    (http, requests.Timeout("read timed out"), TransientError, NAK),
    (http, requests.JSONDecodeError("Expecting value", "<html>", 0), PermanentError, TERM),
    (http, json.JSONDecodeError("Expecting value", "<html>", 0), PermanentError, TERM),
    (http, nats.errors.TimeoutError(), TransientError, NAK),
    (http, nats.errors.ConnectionClosedError(), TransientError, NAK),
    (http, nats.errors.NoServersError(), TransientError, NAK),
    (http, TimeoutError("timed out"), TransientError, NAK),
    (http, ConnectionRefusedError("refused"), TransientError, NAK),
    (http, app_errors.UpstreamError("downloader-sync answered 502"), TransientError, NAK),
    (http, app_errors.ServiceUnavailable("database unavailable"), TransientError, NAK),
    (http, app_errors.TooManyRequests("slow down"), TransientError, NAK),
    (http, TransientError("already typed"), TransientError, NAK),
    (http, PermanentError("already typed"), PermanentError, TERM),
]


def raised(port: Callable[[BaseException], None], error: BaseException) -> BaseException:
    with pytest.raises(BaseException) as caught:
        port(error)
    return caught.value


@dataclass
class StandInMessage:
    """The parts of ``nats.aio.msg.Msg`` the consumer uses; records what it was told."""

    data: bytes = json.dumps({"kind": "replicate", "file_id": "f1"}).encode()
    told: list[str] = field(default_factory=list)

    @dataclass
    class Metadata:
        num_delivered: int = 1

    metadata: Metadata = field(default_factory=Metadata)

    async def ack(self) -> None:
        self.told.append("ack")

    async def nak(self, delay: float | None = None) -> None:
        self.told.append("nak")

    async def term(self) -> None:
        self.told.append("term")

    async def in_progress(self) -> None:
        pass


def delivery(handle: Callable[[Job], str], msg: StandInMessage | None = None) -> list[str]:
    msg = msg or StandInMessage()
    consumer = JobConsumer(ConsumerSettings(nats_url="nats://unused"), handle,
                           ReplicatorMetrics())
    asyncio.run(consumer._process(msg))  # type: ignore[arg-type]
    return msg.told


@pytest.mark.parametrize(("port", "error", "kind", "decision"), CASES,
                         ids=[f"{c[0].__name__}-{type(c[1]).__name__}-{c[2].__name__}"
                              for c in CASES])
def test_each_library_error_is_typed_at_the_port_and_decides_delivery(port, error, kind,
                                                                      decision):
    translated = raised(port, error)
    assert type(translated) is kind
    if translated is not error:
        assert translated.__cause__ is error  # the library's exception stays in the chain

    def handle(job: Job) -> str:
        raise translated

    assert delivery(handle) == [decision]


def test_the_drive_errors_keep_their_status_reason_and_message():
    error = raised(drive, DriveQuotaExceeded("Drive answered 403 storageQuotaExceeded", 403,
                                             "storageQuotaExceeded"))
    assert isinstance(error, ReplicatorError)
    assert (error.status, error.reason, str(error)) == (
        403, "storageQuotaExceeded", "Drive answered 403 storageQuotaExceeded")


def test_every_transient_library_type_has_a_case():
    covered = {type(error) for _port, error, _kind, _decision in CASES}
    for library_type in TRANSIENT_TYPES:
        assert any(issubclass(c, library_type) for c in covered), library_type


def test_an_error_no_adapter_knows_passes_unchanged_and_is_retried():
    bug = KeyError("replicas")
    assert raised(mongo, bug) is bug

    def handle(job: Job) -> str:
        raise bug

    assert delivery(handle) == [NAK]


@pytest.mark.parametrize("data", [b"{not json", b"\xff\xfe", b"[1, 2]", b'{"kind": "nope"}'])
def test_a_message_that_is_no_job_is_terminated(data):
    def handle(job: Job) -> str:
        raise AssertionError("never called")

    assert delivery(handle, StandInMessage(data=data)) == [TERM]


def test_a_job_done_is_acked():
    assert delivery(lambda job: "done") == ["ack"]
