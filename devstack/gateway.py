"""An OpenFaaS-compatible gateway for the local stack.

Routes, as OpenFaaS CE has them:
- ``/function/NAME[/path]``: proxies any method to the function process, streaming the body
  both ways and keeping status, headers and query string.
- ``/async-function/NAME[/path]``: answers 202 with ``X-Call-Id`` and queues the call on
  JetStream; ``devstack.queue_worker`` invokes it later and POSTs the result to
  ``X-Callback-Url``.
- ``/healthz``, ``GET /system/functions`` (with each function's stack.yml labels and
  annotations), ``/metrics`` (gateway_* metrics like OpenFaaS).
- ``GET /openapi.yaml``: the API's OpenAPI 3 document (openapi/fileserver.yaml).

Run: ``python -m devstack.gateway --port 8080 --functions FILE --nats-url URL`` where FILE is
a JSON object ``{"name": "http://127.0.0.1:PORT"}`` (re-read when it changes).
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from nats.js.api import StreamConfig
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from devstack import stack_file
from devstack.natsbridge import NatsBridge
from fileserver.runtime.server import serve

log = logging.getLogger("devstack.gateway")
OPENAPI_DOCUMENT = Path(__file__).resolve().parent.parent / "openapi" / "fileserver.yaml"

ASYNC_STREAM = "FAAS_ASYNC"
ASYNC_SUBJECT = "faas-request"
# Under JetStream's default limits retention an acked call stays in the stream for ever (one
# per outbox batch: gigabytes a month at the seed's load). A day bounds it and loses nothing:
# the Downloader's outbox sends a download event again until stats-ingest has recorded it.
ASYNC_MAX_AGE_SECONDS = 86_400.0
MAX_ASYNC_BODY = 1024 * 1024  # OpenFaaS' default async payload limit is about 1 MB
CHUNK = 64 * 1024
PATH_SAFE = "/:@!$&'()*+,;=-._~"
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailers", "transfer-encoding", "upgrade", "host", "content-length"}

INVOCATIONS = Counter("gateway_function_invocation_total", "Function invocations",
                      ["function_name", "code"])
DURATION = Histogram("gateway_functions_seconds", "Function call duration",
                     ["function_name", "code"])
STARTED = Counter("gateway_function_invocation_started", "Invocations started", ["function_name"])


class FunctionRegistry:
    """Names to upstream URLs, from a JSON file that the supervisor rewrites."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime = -1.0
        self._urls: dict[str, str] = {}

    def urls(self) -> dict[str, str]:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return self._urls
        if mtime != self._mtime:
            self._urls = json.loads(self.path.read_text())
            self._mtime = mtime
        return self._urls

    def get(self, name: str) -> str | None:
        return self.urls().get(name)


def _json(start_response: Any, status: str, body: dict, headers: list | None = None) -> list:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(data)))] + (headers or []))
    return [data]


def _error(start_response: Any, status: str, message: str) -> list:
    code = int(status.split()[0])
    return _json(start_response, status, {"error": {"code": code, "message": message}})


def _request_headers(environ: dict) -> dict[str, str]:
    headers = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").title()
            if name.lower() not in HOP_BY_HOP:
                headers[name] = value
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    return headers


class BodyReader:
    """``wsgi.input`` as a file of known length, streamed upstream with Content-Length.

    The gateway's server (``fileserver.runtime.server``) reads it from the client's socket as
    the upstream takes it: nothing is spooled, memory stays flat.
    """

    def __init__(self, stream: Any, length: int) -> None:
        self.stream = stream
        self.remaining = length
        self.length = length

    def __len__(self) -> int:
        return self.length

    def read(self, size: int = CHUNK) -> bytes:
        if self.remaining <= 0:
            return b""
        size = self.remaining if size is None or size < 0 else min(size, self.remaining)
        block = self.stream.read(size)
        self.remaining -= len(block)
        return block

    def __iter__(self) -> Iterator[bytes]:
        while block := self.read(CHUNK):
            yield block


def _forwarded(headers: dict[str, str], environ: dict) -> dict[str, str]:
    """As the OpenFaaS gateway (handlers/forwarding_proxy.go): X-Forwarded-Host and
    X-Forwarded-For (the peer as ``ip:port``) only when the request has none of its own."""
    if environ.get("HTTP_HOST"):
        headers.setdefault("X-Forwarded-Host", environ["HTTP_HOST"])
    peer, port = environ.get("REMOTE_ADDR"), environ.get("REMOTE_PORT")
    if "X-Forwarded-For" not in headers and peer:
        host = f"[{peer}]" if ":" in peer else peer
        headers["X-Forwarded-For"] = f"{host}:{port}" if port else peer
    return headers


def _body(environ: dict) -> BodyReader | Iterator[bytes] | bytes:
    """The request body to relay: of known length, or re-chunked as it came (chunked)."""
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        return iter(lambda: environ["wsgi.input"].read(CHUNK), b"")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return BodyReader(environ["wsgi.input"], length) if length else b""


class UpstreamPool:
    """Keep-alive ``http.client`` connections to the functions, one set per gateway thread.

    A thread serves one request at a time, so its connection to an upstream is free again
    once the previous response was read to its end. ``http.client`` directly costs a fraction
    of what ``requests`` adds per call (sessions, adapters, hooks), which is most of the
    gateway's CPU per proxied request.
    """

    CONNECT_TIMEOUT = 5.0
    READ_TIMEOUT = 3600.0

    def __init__(self) -> None:
        self._local = threading.local()

    def _connections(self) -> dict[str, http.client.HTTPConnection]:
        if not hasattr(self._local, "conns"):
            self._local.conns = {}
        return self._local.conns

    def take(self, netloc: str) -> tuple[http.client.HTTPConnection, bool]:
        """A connection to ``netloc`` (removed from the pool while in use), and whether it was
        reused (a reused one may have been closed by the upstream meanwhile)."""
        conn = self._connections().pop(netloc, None)
        if conn is not None:
            return conn, True
        host, _, port = netloc.partition(":")
        conn = http.client.HTTPConnection(host, int(port or 80), timeout=self.CONNECT_TIMEOUT,
                                          blocksize=CHUNK)
        conn.connect()
        conn.sock.settimeout(self.READ_TIMEOUT)
        return conn, False

    def give_back(self, netloc: str, conn: http.client.HTTPConnection) -> None:
        old = self._connections().pop(netloc, None)
        if old is not None:
            old.close()
        self._connections()[netloc] = conn


def _send(pool: UpstreamPool, method: str, url: str, body: BodyReader | Iterator[bytes] | bytes,
          headers: dict[str, str]) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    """Send the request on a pooled connection; retry once on a fresh one if a reused
    connection turns out closed before any of the body was consumed. An upstream that
    answers before taking the whole body (401, 413) and closes is relayed as it answered."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    if isinstance(body, BodyReader):
        headers["Content-Length"] = str(body.length)
    chunked = not isinstance(body, BodyReader | bytes)
    while True:
        conn, reused = pool.take(parts.netloc)
        try:
            try:
                conn.request(method, target, body=body or None, headers=headers,
                             encode_chunked=chunked)
            except (BrokenPipeError, ConnectionResetError):
                if not _body_started(body):
                    raise
                return conn, conn.getresponse()  # it answered early, then closed
            return conn, conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionError) as exc:
            conn.close()
            if not (reused and not _body_started(body)):
                raise OSError(f"upstream closed the connection: {exc}") from exc
        except BaseException:
            conn.close()
            raise


def _body_started(body: BodyReader | Iterator[bytes] | bytes) -> bool:
    """Whether some of a streamed body was already sent (so it cannot be sent again)."""
    if isinstance(body, BodyReader):
        return body.remaining != body.length
    return not isinstance(body, bytes)


class Gateway:
    """The WSGI application."""

    def __init__(self, registry: FunctionRegistry, bridge: NatsBridge | None) -> None:
        self.registry = registry
        self.bridge = bridge
        self.pool = UpstreamPool()

    def __call__(self, environ: dict, start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        method = environ["REQUEST_METHOD"]
        if path in ("/healthz", "/healthz/"):
            return _json(start_response, "200 OK", {"status": "ok"})
        if path == "/metrics":
            data = generate_latest()
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [data]
        if path.rstrip("/") == "/system/functions" and method == "GET":
            return _json(start_response, "200 OK", self.system_functions())
        if path == "/openapi.yaml" and method == "GET":
            start_response("200 OK", [("Content-Type", "application/yaml")])
            return [OPENAPI_DOCUMENT.read_bytes()]
        for prefix, handler in (("/function/", self.proxy), ("/async-function/", self.enqueue)):
            if path.startswith(prefix):
                name, _, rest = path[len(prefix):].partition("/")
                return handler(name, "/" + rest, environ, start_response)
        return _error(start_response, "404 Not Found", f"no route for {path}")

    def system_functions(self) -> list[dict]:
        counts: dict[str, float] = {}
        for metric in INVOCATIONS.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    fn = sample.labels["function_name"]
                    counts[fn] = counts.get(fn, 0) + sample.value
        # labels and annotations as stack.yml declares them, as OpenFaaS reports them
        return [{"name": name, "image": f"local/{name}", "replicas": 1,
                 "availableReplicas": 1, "invocationCount": counts.get(name, 0),
                 "namespace": "openfaas-fn", "url": url, **stack_file.metadata(name)}
                for name, url in sorted(self.registry.urls().items())]

    def proxy(self, name: str, rest: str, environ: dict, start_response: Any) -> Iterable[bytes]:
        upstream = self.registry.get(name)
        if upstream is None:
            return _error(start_response, "404 Not Found", f"function {name!r} not found")
        query = environ.get("QUERY_STRING", "")
        # PATH_INFO is decoded (WSGI: latin-1 of the raw bytes): quote it again.
        path = quote(rest.encode("latin-1"), safe=PATH_SAFE)
        url = upstream + path + (f"?{query}" if query else "")
        headers = _forwarded(_request_headers(environ), environ)
        headers.setdefault("X-Call-Id", uuid.uuid4().hex)
        headers["X-Start-Time"] = str(time.time_ns())
        STARTED.labels(name).inc()
        started = time.perf_counter()
        try:
            conn, resp = _send(self.pool, environ["REQUEST_METHOD"], url, _body(environ),
                               headers)
        except (OSError, http.client.HTTPException) as exc:
            log.warning("function %s unreachable: %s", name, exc)
            INVOCATIONS.labels(name, "502").inc()
            return _error(start_response, "502 Bad Gateway", f"function {name!r} unreachable")
        # http.client undoes only the chunk framing (our server re-frames what has no
        # Content-Length); the body is relayed undecoded, so Content-Length holds.
        out = [(k, v) for k, v in resp.getheaders()
               if k.lower() not in HOP_BY_HOP or k.lower() == "content-length"]
        out.append(("X-Duration-Seconds", f"{time.perf_counter() - started:.6f}"))
        # Counted when the function has answered, before its body is relayed: a client that
        # has read the response sees it in /system/functions and /metrics.
        INVOCATIONS.labels(name, str(resp.status)).inc()
        start_response(f"{resp.status} {resp.reason}", out)
        return self._relay(conn, resp, name, started, urlsplit(url).netloc)

    def _relay(self, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse,
               name: str, started: float, netloc: str) -> Iterator[bytes]:
        observed = False
        try:
            block = resp.read(CHUNK)
            while block:
                following = resp.read(CHUNK)
                if not following:  # the whole body is in: observe before its last bytes go out
                    observed = self._observe(name, resp, started)
                yield block
                block = following
        finally:
            if resp.isclosed() and not resp.will_close:
                self.pool.give_back(netloc, conn)  # read to the end: reusable
            else:
                conn.close()  # the client went away mid-body, or the upstream closes
            if not observed:
                self._observe(name, resp, started)

    @staticmethod
    def _observe(name: str, resp: http.client.HTTPResponse, started: float) -> bool:
        DURATION.labels(name, str(resp.status)).observe(time.perf_counter() - started)
        return True

    def enqueue(self, name: str, rest: str, environ: dict, start_response: Any) -> list:
        if self.registry.get(name) is None:
            return _error(start_response, "404 Not Found", f"function {name!r} not found")
        if self.bridge is None:
            return _error(start_response, "503 Service Unavailable", "async queue not configured")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_ASYNC_BODY:
            return _error(start_response, "413 Request Entity Too Large",
                          f"async payloads are limited to {MAX_ASYNC_BODY} bytes")
        body = environ["wsgi.input"].read(length) if length else b""
        call_id = environ.get("HTTP_X_CALL_ID") or uuid.uuid4().hex
        headers = _request_headers(environ)
        headers.update({"X-Call-Id": call_id, "X-Fn-Name": name, "X-Fn-Path": rest,
                        "X-Fn-Method": environ["REQUEST_METHOD"],
                        "X-Fn-Query": environ.get("QUERY_STRING", "")})
        try:
            self.bridge.publish(f"{ASYNC_SUBJECT}.{name}", body, headers, msg_id=call_id)
        except Exception as exc:  # noqa: BLE001 - any queue failure is a 503 to the caller
            log.warning("async enqueue failed for %s: %s", name, exc)
            return _error(start_response, "503 Service Unavailable", "queue unavailable")
        start_response("202 Accepted", [("X-Call-Id", call_id), ("Content-Length", "0")])
        return [b""]


def async_stream_config() -> StreamConfig:
    """The queue of ``/async-function`` calls, the same for the gateway and the queue-worker."""
    return StreamConfig(name=ASYNC_STREAM, subjects=[f"{ASYNC_SUBJECT}.>"],
                        max_age=ASYNC_MAX_AGE_SECONDS)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="OpenFaaS-compatible gateway (local stack)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--functions", type=Path, required=True)
    parser.add_argument("--nats-url", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s %(message)s")
    bridge = None
    if args.nats_url:
        bridge = NatsBridge(args.nats_url)
        bridge.ensure_stream(async_stream_config())
    # A client's own X-Forwarded-For passes through (the server keeps every header), as the
    # OpenFaaS gateway does: the functions decide whom to trust.
    serve(Gateway(FunctionRegistry(args.functions), bridge), args.host, args.port, grace=30.0)


if __name__ == "__main__":
    main()
