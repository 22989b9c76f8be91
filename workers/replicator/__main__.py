"""``python -m workers.replicator``: consume jobs, reconcile periodically, serve metrics.

Env: NATS_URL, MONGO_URL, MONGO_DB, GATEWAY_URL, DRIVE_API_ROOT, SECRETS_DIR, METRICS_PORT,
REPLICATOR_CONCURRENCY, RECONCILE_INTERVAL_SECONDS (see docs/replicator.md).
SIGTERM/SIGINT: stop fetching, let in-flight jobs finish (or release them), then exit.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from workers.replicator.bootstrap import Worker, WorkerSettings, adapters_from_env, build
from workers.replicator.metrics import serve_metrics

log = logging.getLogger("replicator")


async def reconcile_forever(worker: Worker, stop: asyncio.Event) -> None:
    """At start-up, then every interval; a failed pass is logged and tried again later."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(worker.reconciler.run_once)
        except Exception:
            log.exception("reconciliation pass failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=worker.reconcile_interval)
        except TimeoutError:
            continue


async def main() -> None:
    """Wire the worker on the real adapters, then start what the process runs, in sight:
    the metrics server, the reconciliation loop and the consumer."""
    worker = build(adapters_from_env(), WorkerSettings.from_env())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = serve_metrics(worker.metrics, worker.metrics_port,
                           healthy=lambda: worker.consumer.connected)
    log.info("replicator started; metrics on :%d", worker.metrics_port)
    reconciling = asyncio.create_task(reconcile_forever(worker, stop))
    try:
        await worker.consumer.run(stop)
    finally:
        stop.set()
        await reconciling
        server.shutdown()
        log.info("replicator stopped")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(main())
