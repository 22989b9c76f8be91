"""A synchronous facade over nats-py for threaded WSGI processes.

One asyncio loop runs in a daemon thread; one connection is reused by every request thread.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import nats
from nats.js.api import StreamConfig

from fileserver.contracts.jetstream import ensure_stream


class NatsBridge:
    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name="nats-loop")
        self._thread.start()
        self._lock = threading.Lock()
        # Connect once, eagerly; nats-py reconnects by itself if the server restarts.
        self._nc: Any = self._run(nats.connect(url, max_reconnect_attempts=-1,
                                               connect_timeout=timeout))

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(self.timeout + 1)

    def ensure_stream(self, config: StreamConfig) -> None:
        """:func:`ensure_stream` on this bridge's connection."""
        with self._lock:
            self._run(ensure_stream(self._nc.jetstream(), config))

    def publish(self, subject: str, body: bytes, headers: dict[str, str],
                msg_id: str | None = None) -> None:
        async def send() -> None:
            js = self._nc.jetstream()
            hdrs = dict(headers)
            if msg_id:
                hdrs["Nats-Msg-Id"] = msg_id
            await js.publish(subject, body, headers=hdrs, timeout=self.timeout)

        self._run(send())

    def close(self) -> None:
        self._run(self._nc.drain())
        self.loop.call_soon_threadsafe(self.loop.stop)
