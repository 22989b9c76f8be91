"""Publisher of replication jobs on JetStream (the contract: ``fileserver.contracts.jobs``).

Function processes are threaded WSGI servers; nats-py is asyncio. ``JobPublisher`` runs one
event loop in a daemon thread per process and reuses one connection; ``publish`` is a plain
blocking call that any request thread can make.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine
from typing import Any

import nats

from fileserver.contracts.jetstream import ensure_stream
from fileserver.contracts.jobs import (
    REPAIR_KIND,
    job_body,
    message_id,
    repair_job_body,
    repair_message_id,
    stream_config,
    subject,
)


class JobPublisher:
    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._js: Any = None
        self._nc: Any = None
        self._connecting = asyncio.Lock()  # request threads share one connection

    def publish(self, kind: str, target_id: str, version: int) -> int:
        """Publish one job and wait for JetStream's ack; returns the stream sequence."""
        body = json.dumps(job_body(kind, target_id)).encode()
        headers = {"Nats-Msg-Id": message_id(kind, target_id, version)}
        ack = self._run(self._publish(subject(kind), body, headers))
        return int(ack.seq)

    def publish_repair(self, file_id: str, account_id: str, drive_file_id: str,
                       reason: str) -> int:
        """Publish one ``repair-replica`` job; a repeat for the same copy within the stream's
        duplicate window is dropped by JetStream (``Nats-Msg-Id``)."""
        body = json.dumps(repair_job_body(file_id, account_id, drive_file_id, reason)).encode()
        headers = {"Nats-Msg-Id": repair_message_id(file_id, account_id, drive_file_id)}
        ack = self._run(self._publish(subject(REPAIR_KIND), body, headers))
        return int(ack.seq)

    async def _publish(self, subject: str, body: bytes, headers: dict[str, str]) -> Any:
        js = await self._jetstream()
        return await js.publish(subject, body, headers=headers, timeout=self.timeout)

    async def _jetstream(self) -> Any:
        async with self._connecting:
            if self._nc is None or self._nc.is_closed:
                await self._connect()
        return self._js

    async def _connect(self) -> None:
        # wait_for bounds the first connect; once connected, reconnect forever.
        self._nc = await asyncio.wait_for(
            nats.connect(self.url, connect_timeout=self.timeout, max_reconnect_attempts=-1,
                         allow_reconnect=True), self.timeout)
        self._js = self._nc.jetstream(timeout=self.timeout)
        await ensure_stream(self._js, stream_config())

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self._event_loop())
        try:
            return future.result(self.timeout * 2)
        except BaseException:
            future.cancel()
            raise

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="nats-jobs", daemon=True).start()
                self._loop = loop
            return self._loop

    def close(self) -> None:
        """Drain the connection and stop the loop thread (tests, benchmarks)."""
        if self._loop is None:
            return
        if self._nc is not None and not self._nc.is_closed:
            asyncio.run_coroutine_threadsafe(self._nc.drain(), self._loop).result(self.timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._loop = None

