"""The JetStream durable pull consumer that feeds jobs to the handlers.

Explicit ack: ``ack`` after a job is done, ``nak(delay)`` with exponential backoff on a
transient error, ``term`` on a permanent one, ``in_progress`` while a long job runs so
``ack_wait`` does not redeliver it. On stop: no more fetches, in-flight jobs get
``grace`` seconds to finish, the rest are released with ``nak`` for redelivery, then drain.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import nats
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig

from fileserver.contracts import jobs
from fileserver.contracts.jetstream import ensure_stream
from workers.replicator.errors import is_permanent
from workers.replicator.handlers import Job, parse_job
from workers.replicator.metrics import ReplicatorMetrics

log = logging.getLogger("replicator.consumer")
DURABLE = "replicator"


@dataclass(frozen=True)
class ConsumerSettings:
    nats_url: str
    concurrency: int = 4
    ack_wait: float = 60.0
    max_deliver: int = 20
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    grace: float = 20.0
    fetch_timeout: float = 1.0
    stream: str = jobs.STREAM
    subjects: str = jobs.SUBJECTS
    durable: str = DURABLE


def backoff(delivered: int, base: float, cap: float) -> float:
    return min(cap, base * 2 ** max(0, delivered - 1))


class JobConsumer:
    def __init__(self, settings: ConsumerSettings, handle: Callable[[Job], str],
                 metrics: ReplicatorMetrics) -> None:
        self.settings = settings
        self.handle = handle
        self.metrics = metrics
        self.connected = False
        self._tasks: set[asyncio.Task] = set()

    async def run(self, stop: asyncio.Event) -> None:
        nc = await nats.connect(self.settings.nats_url, max_reconnect_attempts=-1)
        self.connected = True
        try:
            sub = await self._subscribe(nc.jetstream())
            await self._loop(sub, stop)
            await self._release_in_flight()
        finally:
            self.connected = False
            await self._close(nc)

    @staticmethod
    async def _close(nc) -> None:  # noqa: ANN001
        """Flush the acks and naks, then close: ``drain()`` waits out its 30 s timeout on an
        idle pull subscription with nats-py, and nothing is left to drain at this point."""
        try:
            await nc.flush(timeout=2)
        finally:
            await nc.close()

    async def _subscribe(self, js):  # noqa: ANN001, ANN202 (nats-py types)
        settings = self.settings
        await ensure_stream(js, jobs.stream_config(settings.stream, settings.subjects))
        config = ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=self.settings.ack_wait,
                                max_deliver=self.settings.max_deliver,
                                max_ack_pending=self.settings.concurrency * 2)
        return await js.pull_subscribe(settings.subjects, durable=settings.durable,
                                       stream=settings.stream, config=config)

    async def _loop(self, sub, stop: asyncio.Event) -> None:  # noqa: ANN001
        last_depth = 0.0
        while not stop.is_set():
            if time.monotonic() - last_depth > 2:
                last_depth = time.monotonic()
                await self._update_depth(sub)
            free = self.settings.concurrency - len(self._tasks)
            if free <= 0:
                await asyncio.wait(self._tasks, timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
                continue
            try:
                messages = await sub.fetch(free, timeout=self.settings.fetch_timeout)
            except (NatsTimeout, TimeoutError):
                continue  # nothing yet (nats-py raises either class, depending on the path)
            except Exception as exc:
                log.warning("fetch failed (%s: %s); retrying", type(exc).__name__, exc)
                await asyncio.sleep(1)
                continue
            for msg in messages:
                task = asyncio.create_task(self._process(msg))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _update_depth(self, sub) -> None:  # noqa: ANN001
        try:
            info = await sub.consumer_info()
            self.metrics.queue_depth.set(info.num_pending + info.num_ack_pending)
        except Exception as exc:
            log.debug("consumer info unavailable: %s", exc)

    async def _release_in_flight(self) -> None:
        if not self._tasks:
            return
        log.info("stopping: waiting up to %ss for %d job(s)", self.settings.grace,
                 len(self._tasks))
        _done, pending = await asyncio.wait(set(self._tasks), timeout=self.settings.grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _process(self, msg: Msg) -> None:
        heartbeat = asyncio.create_task(self._keep_alive(msg))
        kind = "invalid"
        try:
            job = parse_job(msg.data)  # PermanentError if it is no job
            kind = job.kind
            outcome = await asyncio.to_thread(self.handle, job)
            await msg.ack()
            self._done(job, outcome)
        except asyncio.CancelledError:
            await msg.nak()
            self.metrics.jobs.labels(kind=kind, outcome="released").inc()
            raise
        except Exception as exc:
            await self._failed(msg, kind, exc)
        finally:
            heartbeat.cancel()

    def _done(self, job: Job, outcome: str) -> None:
        self.metrics.jobs.labels(kind=job.kind, outcome=outcome).inc()
        if job.requested_at is not None:
            lag = (datetime.now(UTC) - job.requested_at).total_seconds()
            self.metrics.lag.observe(max(0.0, lag))
        log.info("job %s %s: %s", job.kind, job.target_id, outcome)

    async def _failed(self, msg: Msg, kind: str, exc: Exception) -> None:
        delivered = msg.metadata.num_delivered if msg.metadata else 1
        if is_permanent(exc):
            log.error("job %s failed for good (delivery %d): %s: %s", kind, delivered,
                      type(exc).__name__, exc)
            await msg.term()
            self.metrics.jobs.labels(kind=kind, outcome="failed").inc()
            return
        delay = backoff(delivered, self.settings.backoff_base, self.settings.backoff_cap)
        log.warning("job %s: %s: %s (delivery %d); retry in %.1fs", kind, type(exc).__name__,
                    exc, delivered, delay)
        await msg.nak(delay=delay)
        self.metrics.jobs.labels(kind=kind, outcome="retry").inc()

    async def _keep_alive(self, msg: Msg) -> None:
        """Tell JetStream the job is still being worked on (long uploads)."""
        while True:
            await asyncio.sleep(max(0.5, self.settings.ack_wait / 3))
            await msg.in_progress()
