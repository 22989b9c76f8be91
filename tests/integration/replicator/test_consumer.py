"""The job consumer against a real nats-server with JetStream (session fixture)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid

import nats

from workers.replicator.consumer import ConsumerSettings, JobConsumer
from workers.replicator.errors import TransientError
from workers.replicator.handlers import Job
from workers.replicator.metrics import ReplicatorMetrics


class FakeHandlers:
    """Records jobs; behaviour per file id: 'flaky' fails once, 'slow' sleeps."""

    def __init__(self, slow_seconds: float = 0.0) -> None:
        self.calls: list[str] = []
        self.lock = threading.Lock()
        self.slow_seconds = slow_seconds

    def handle(self, job: Job) -> str:
        with self.lock:
            self.calls.append(job.target_id)
            attempts = self.calls.count(job.target_id)
        if job.target_id.startswith("flaky") and attempts == 1:
            raise TransientError("downloader-sync unreachable")
        if job.target_id.startswith("slow"):
            time.sleep(self.slow_seconds)
        return "done"


def settings_for(url: str, **overrides) -> ConsumerSettings:
    name = uuid.uuid4().hex[:8]
    base = dict(nats_url=url, stream=f"T{name}", subjects=f"t{name}.>", durable=f"d{name}",
                concurrency=3, ack_wait=2.0, backoff_base=0.2, grace=5.0, fetch_timeout=0.2)
    base.update(overrides)
    return ConsumerSettings(**base)


async def publish(settings: ConsumerSettings, jobs: list[dict]) -> None:
    nc = await nats.connect(settings.nats_url)
    js = nc.jetstream()
    prefix = settings.subjects[:-2]
    for job in jobs:
        await js.publish(f"{prefix}.{job.get('kind', 'x')}", json.dumps(job).encode())
    await nc.drain()


async def pending(settings: ConsumerSettings) -> tuple[int, int]:
    nc = await nats.connect(settings.nats_url)
    info = await nc.jetstream().consumer_info(settings.stream, settings.durable)
    await nc.drain()
    return info.num_pending, info.num_ack_pending


async def run_until(consumer: JobConsumer, done, timeout: float) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    await task


def job(kind: str, target: str) -> dict:
    key = "account_id" if kind.startswith("account") else "file_id"
    return {"kind": kind, key: target, "requested_at": "2026-11-25T08:00:00Z"}


def test_jobs_are_handled_retried_and_malformed_ones_terminated(nats_server):
    settings = settings_for(nats_server.url)
    handlers, metrics = FakeHandlers(), ReplicatorMetrics()
    consumer = JobConsumer(settings, handlers.handle, metrics)

    async def scenario():
        await publish_after_subscribe(consumer, settings, [
            job("replicate", "a"), job("account-added", "acc1"), job("replicate", "flaky1"),
            {"kind": "nope", "file_id": "z"}])
        await run_until(consumer, lambda: handlers.calls.count("flaky1") == 2
                        and len(handlers.calls) == 4, timeout=15)
        await asyncio.sleep(0.5)
        return await pending(settings)

    assert asyncio.run(scenario()) == (0, 0)
    assert sorted(handlers.calls) == ["a", "acc1", "flaky1", "flaky1"]
    assert metrics.jobs.labels(kind="replicate", outcome="retry")._value.get() == 1
    assert metrics.jobs.labels(kind="invalid", outcome="failed")._value.get() == 1
    assert metrics.lag._sum.get() > 0


def test_long_job_is_kept_alive_past_ack_wait(nats_server):
    settings = settings_for(nats_server.url, ack_wait=1.0)
    handlers = FakeHandlers(slow_seconds=3.0)
    consumer = JobConsumer(settings, handlers.handle, ReplicatorMetrics())

    async def scenario():
        await publish_after_subscribe(consumer, settings, [job("replicate", "slow1")])
        await run_until(consumer, lambda: False, timeout=4.5)
        return await pending(settings)

    assert asyncio.run(scenario()) == (0, 0)
    assert handlers.calls == ["slow1"]


def test_stop_releases_unfinished_jobs_for_the_next_run(nats_server):
    settings = settings_for(nats_server.url, grace=0.3)
    slow = FakeHandlers(slow_seconds=2.0)

    async def scenario():
        first = JobConsumer(settings, slow.handle, ReplicatorMetrics())
        await publish_after_subscribe(first, settings, [job("replicate", "slow2")])
        await run_until(first, lambda: bool(slow.calls), timeout=5)
        fast = FakeHandlers()
        second = JobConsumer(settings, fast.handle, ReplicatorMetrics())
        await run_until(second, lambda: bool(fast.calls), timeout=5)
        await asyncio.sleep(0.3)
        return fast.calls, await pending(settings)

    calls, counts = asyncio.run(scenario())
    assert calls == ["slow2"] and counts == (0, 0)


async def publish_after_subscribe(consumer: JobConsumer, settings, jobs) -> None:
    nc = await nats.connect(settings.nats_url)
    await consumer._subscribe(nc.jetstream())
    await nc.drain()
    await publish(settings, jobs)
