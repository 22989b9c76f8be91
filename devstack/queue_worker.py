"""The queue-worker of the local stack: runs calls queued by ``/async-function/NAME``.

Like OpenFaaS CE's queue-worker it invokes the function, POSTs the result to
``X-Callback-Url`` (with ``X-Call-Id``, ``X-Function-Status``, ``X-Duration-Seconds``,
``X-Function-Name``) and acks whatever the status: no retries by default. ``--max-retries N``
re-queues a call that got 429/5xx or no answer, up to N times, with a delay.

Run: ``python -m devstack.queue_worker --nats-url URL --gateway URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import time

import nats
import requests
from nats.js.api import ConsumerConfig

from devstack.gateway import ASYNC_SUBJECT, async_stream_config
from fileserver.contracts.jetstream import ensure_stream

log = logging.getLogger("devstack.queue_worker")
RETRYABLE = {429, 500, 502, 503, 504}
PASSTHROUGH = ("Content-Type", "Authorization", "X-Request-Id")


def invoke(gateway: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, dict, float]:
    """Call the function through the gateway; returns status, body, headers, seconds."""
    name = headers["X-Fn-Name"]
    query = headers.get("X-Fn-Query", "")
    url = f"{gateway}/function/{name}{headers.get('X-Fn-Path', '/')}"
    url += f"?{query}" if query else ""
    out = {k: v for k, v in headers.items() if k in PASSTHROUGH}
    out["X-Call-Id"] = headers["X-Call-Id"]
    started = time.perf_counter()
    try:
        resp = requests.request(headers.get("X-Fn-Method", "POST"), url, data=body,
                                headers=out, timeout=300)
        return resp.status_code, resp.content, dict(resp.headers), time.perf_counter() - started
    except requests.RequestException as exc:
        log.warning("call %s to %s failed: %s", headers["X-Call-Id"], name, exc)
        return 503, b"", {}, time.perf_counter() - started


def callback(headers: dict[str, str], status: int, body: bytes, reply_headers: dict,
             seconds: float) -> None:
    url = headers.get("X-Callback-Url")
    if not url:
        return
    cb_headers = {"X-Call-Id": headers["X-Call-Id"], "X-Function-Status": str(status),
                  "X-Duration-Seconds": f"{seconds:.6f}", "X-Function-Name": headers["X-Fn-Name"],
                  "Content-Type": reply_headers.get("Content-Type", "application/octet-stream")}
    try:
        requests.post(url, data=body, headers=cb_headers, timeout=30)
    except requests.RequestException as exc:
        log.warning("callback for %s to %s failed: %s", headers["X-Call-Id"], url, exc)


async def handle(msg, gateway: str, max_retries: int) -> None:
    headers = dict(msg.headers or {})
    status, body, reply_headers, seconds = await asyncio.to_thread(
        invoke, gateway, headers, msg.data)
    delivered = msg.metadata.num_delivered
    if status in RETRYABLE and delivered <= max_retries:
        log.info("call %s got %d, retry %d/%d", headers.get("X-Call-Id"), status, delivered,
                 max_retries)
        await msg.nak(delay=min(2 ** delivered, 30))
        return
    await asyncio.to_thread(callback, headers, status, body, reply_headers, seconds)
    await msg.ack()
    log.info("%s %s -> %d in %.3fs", headers.get("X-Fn-Name"), headers.get("X-Call-Id"),
             status, seconds)


async def run(nats_url: str, gateway: str, max_retries: int, max_inflight: int) -> None:
    nc = await nats.connect(nats_url, max_reconnect_attempts=-1)
    js = nc.jetstream()
    await ensure_stream(js, async_stream_config())
    sub = await js.pull_subscribe(f"{ASYNC_SUBJECT}.>", durable="queue-worker",
                                  config=ConsumerConfig(ack_wait=330, max_deliver=-1))
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    log.info("queue-worker ready (max_inflight=%d, max_retries=%d)", max_inflight, max_retries)
    while not stop.is_set():
        try:
            msgs = await sub.fetch(max_inflight, timeout=1)
        except (TimeoutError, nats.errors.TimeoutError):
            continue
        await asyncio.gather(*(handle(m, gateway, max_retries) for m in msgs))
    # Every fetched message is acked or nak'ed by now: close at once (nats-py's drain() of a
    # pull subscription waits out its 30 s drain_timeout, so SIGTERM took the stop timeout).
    await nc.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Async invocation queue-worker (local stack)")
    parser.add_argument("--nats-url", required=True)
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--max-retries", type=int, default=0)
    parser.add_argument("--max-inflight", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(run(args.nats_url, args.gateway.rstrip("/"), args.max_retries, args.max_inflight))


if __name__ == "__main__":
    main()
