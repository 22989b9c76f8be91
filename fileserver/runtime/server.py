"""A threaded HTTP/1.1 WSGI server that streams request bodies (standard library only).

Used for every function (``fileserver.runtime.serve``, locally and behind of-watchdog) and for
the local stack's gateway. What it does that waitress (the server before it) did not:
- the app is called as soon as the headers are in; ``wsgi.input`` reads the socket
  (``fileserver.runtime.wsgi_input``), so nothing is spooled to disk or memory and a request
  refused from its headers (401, 413) is answered before its body is read;
- a response sent while the request body is still unread closes the connection
  (``Connection: close``), after a short bounded linger so the client sees the response;
- SIGTERM drains: it keeps serving for ``delay`` s (the watchdog's ``healthcheck_interval``,
  while it stops routing to us), then stops accepting, lets in-flight requests finish for up
  to ``grace`` s (the watchdog's ``write_timeout``, what it waits itself) and exits 0.
One thread per connection; keep-alive; ``Content-Length`` or chunked responses.
"""

from __future__ import annotations

import contextlib
import json
import logging
import select
import signal
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import unquote_to_bytes

from fileserver.errors import AppError
from fileserver.runtime import metrics
from fileserver.runtime.wsgi_input import BodyInput, ChunkedInput, LengthInput

log = logging.getLogger("fileserver.runtime.server")
WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
LINGER_BYTES = 256 * 1024  # read at most this much of an unread body before closing
LINGER_SECONDS = 1.0
SOCKET_TIMEOUT = 300.0  # a client that sends nothing for this long is dropped
MAX_CONNECTIONS = 512  # open connections (threads) at once; more are answered 503
Body = BodyInput  # what wsgi.input is


class StreamingWSGIServer(socketserver.ThreadingMixIn, HTTPServer):
    """The listening socket, the app, and the count of requests in flight."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: WSGIApp,
                 max_connections: int = MAX_CONNECTIONS) -> None:
        super().__init__(address, WSGIRequestHandler)
        self.app = app
        self.draining = threading.Event()
        self._lock = threading.Lock()
        self._in_flight = 0
        self.idle = threading.Condition(self._lock)
        self._connections = threading.BoundedSemaphore(max_connections)

    def process_request(self, request: Any, client_address: Any) -> None:
        """A thread per connection, up to ``max_connections`` (idle keep-alive ones count);
        beyond that the connection is answered 503 and closed at once."""
        if not self._connections.acquire(blocking=False):
            with contextlib.suppress(OSError):
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                b"Retry-After: 1\r\nConnection: close\r\n\r\n")
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._connections.release()

    def request_started(self) -> None:
        with self._lock:
            self._in_flight += 1

    def request_finished(self) -> None:
        with self._lock:
            self._in_flight -= 1
            self.idle.notify_all()

    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is in flight; False if ``timeout`` passed first."""
        with self._lock:
            return self.idle.wait_for(lambda: self._in_flight == 0, timeout)


class WSGIRequestHandler(BaseHTTPRequestHandler):
    """One connection: parse a request, call the app with a streaming body, repeat."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = SOCKET_TIMEOUT
    server: StreamingWSGIServer

    def handle_expect_100(self) -> bool:
        return True  # answered lazily, on the app's first read of the body (see BodyInput)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        log.debug("%s " + format, self.address_string(), *args)

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except (TimeoutError, ConnectionError):
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.send_error(414)
            return
        if not self.raw_requestline or not self.parse_request():
            self.close_connection = True
            return
        self.server.request_started()
        try:
            self.run_app()
        finally:
            self.server.request_finished()
        if self.server.draining.is_set():
            self.close_connection = True

    def body_input(self) -> Body | None:
        """The request's body reader, or None after answering 400/501 for bad framing."""
        encoding = self.headers.get("Transfer-Encoding", "").strip().lower()
        length = self.headers.get("Content-Length")
        expect = self.headers.get("Expect", "").lower() == "100-continue"
        first_read = self._send_continue if expect and self.request_version >= "HTTP/1.1" \
            else None
        if encoding:
            if encoding != "chunked" or length is not None:
                self._refuse(501 if encoding != "chunked" else 400,
                             "only Transfer-Encoding: chunked, without Content-Length")
                return None
            return ChunkedInput(self.rfile, first_read)
        try:
            size = int(length) if length is not None else 0
        except ValueError:
            size = -1
        if size < 0 or (length is not None and not length.strip().isdigit()):
            self._refuse(400, "invalid Content-Length")
            return None
        return LengthInput(self.rfile, size, first_read)

    def _send_continue(self) -> None:
        self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _refuse(self, status: int, message: str) -> None:
        body = json.dumps({"error": {"code": "bad_request" if status < 500 else "internal_error",
                                     "message": message}}).encode()
        self.close_connection = True
        self.wfile.write(self._head(f"{status} {self.responses[status][0]}",
                                    [("Content-Type", "application/json"),
                                     ("Content-Length", str(len(body)))], True) + body)

    def environ(self, body: Body) -> dict[str, Any]:
        path, _, query = self.path.partition("?")
        env: dict[str, Any] = {
            "REQUEST_METHOD": self.command, "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"), "QUERY_STRING": query,
            "SERVER_NAME": self.server.server_name, "SERVER_PORT": str(self.server.server_port),
            "SERVER_PROTOCOL": self.request_version, "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": str(self.client_address[1]),
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": body,
            "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
            "wsgi.run_once": False, "wsgi.input_terminated": True,
        }
        for name, value in self.headers.items():
            if "_" in name:  # X_Forwarded_For would alias X-Forwarded-For: drop it
                continue
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                env[key] = value
                continue
            key = "HTTP_" + key
            env[key] = f"{env[key]},{value}" if key in env else value
        return env

    def run_app(self) -> None:
        body = self.body_input()
        if body is None:
            return
        response = ResponseWriter(self, body)
        try:
            self._call_app(body, response)
        finally:
            metrics.REQUEST_BODY_BYTES.inc(body.bytes_read)
        if not body.done:
            self.close_connection = True
            linger(self.connection)

    def _call_app(self, body: Body, response: ResponseWriter) -> None:
        try:
            chunks = self.server.app(self.environ(body), response.start_response)
            try:
                for chunk in chunks:
                    response.write(chunk)
            finally:
                if hasattr(chunks, "close"):
                    chunks.close()
            response.finish()
        except (ConnectionError, TimeoutError) as exc:
            log.info("client connection lost: %s", exc)
            self.close_connection = True
        except Exception as exc:  # noqa: BLE001 - never lose a request without an answer
            log.exception("unhandled error in the WSGI app")
            self.close_connection = True
            if not response.headers_sent:
                status = exc.status if isinstance(exc, AppError) else 500
                self._refuse(status, "internal error" if status == 500 else str(exc))

    def _head(self, status: str, headers: list[tuple[str, str]], close: bool) -> bytes:
        lines = [f"HTTP/1.1 {status}", f"Date: {self.date_time_string()}"]
        lines += [f"{k}: {v}" for k, v in headers]
        if close:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class ResponseWriter:
    """``start_response`` and the body of one response: Content-Length or chunked."""

    def __init__(self, handler: WSGIRequestHandler, body: Body) -> None:
        self.handler = handler
        self.body = body
        self.status = ""
        self.headers: list[tuple[str, str]] = []
        self.headers_sent = False
        self.chunked = False

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        if exc_info and self.headers_sent:
            raise exc_info[1].with_traceback(exc_info[2])
        self.status, self.headers = status, list(headers)
        return self.write

    def _send_head(self, first: bytes) -> None:
        handler = self.handler
        names = {k.lower() for k, _ in self.headers}
        bodyless = handler.command == "HEAD" or self.status[:3] in ("204", "304")
        if "content-length" not in names and not bodyless:
            if handler.request_version >= "HTTP/1.1":
                self.chunked = True
                self.headers.append(("Transfer-Encoding", "chunked"))
            else:
                handler.close_connection = True
        wants_close = handler.headers.get("Connection", "").lower() == "close"
        if not self.body.done or wants_close or handler.server.draining.is_set() \
                or handler.request_version < "HTTP/1.1":
            handler.close_connection = True
        self.headers = [(k, v) for k, v in self.headers if k.lower() != "connection"]
        head = handler._head(self.status, self.headers, handler.close_connection)
        self.headers_sent = True
        handler.wfile.write(head + self._frame(first))

    def _frame(self, data: bytes) -> bytes:
        if self.handler.command == "HEAD":
            return b""
        if self.chunked and data:
            return b"%x\r\n%s\r\n" % (len(data), data)
        return data

    def write(self, data: bytes) -> None:
        if not self.status:
            raise AssertionError("write() before start_response()")
        if not self.headers_sent:
            self._send_head(data)
        elif data:
            self.handler.wfile.write(self._frame(data))

    def finish(self) -> None:
        if not self.headers_sent:
            self._send_head(b"")
        if self.chunked and self.handler.command != "HEAD":
            self.handler.wfile.write(b"0\r\n\r\n")


def linger(sock: socket.socket) -> None:
    """Half-close after a response to an unread body, then give the client LINGER_SECONDS to
    read the response and stop, reading (and dropping) at most LINGER_BYTES of what it still
    sends; past that the socket is left unread (flow control stalls the sender) until the
    time is up. Closing at once would reset the connection while the client (or a proxy such
    as of-watchdog, which may then answer 500) has not read the response yet."""
    try:
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + LINGER_SECONDS
        drained = 0
        while (left := deadline - time.monotonic()) > 0:
            if drained >= LINGER_BYTES:
                time.sleep(left)
                break
            if not select.select([sock], [], [], left)[0]:
                break
            data = sock.recv(min(65536, LINGER_BYTES - drained))
            if not data:
                break
            drained += len(data)
    except OSError:
        pass


def drain_on_sigterm(server: StreamingWSGIServer, delay: float, grace: float) -> None:
    """On SIGTERM: serve on for ``delay`` s, then stop ``serve_forever`` (``serve`` then waits
    up to ``grace`` s for the requests in flight)."""

    def _drain() -> None:
        log.info("SIGTERM: serving %.0fs more, then draining (grace %.0fs)", delay, grace)
        time.sleep(delay)
        server.draining.set()
        server.shutdown()

    def _on_signal(signum: int, frame: object) -> None:
        if not server.draining.is_set():
            threading.Thread(target=_drain, name="drain", daemon=True).start()

    signal.signal(signal.SIGTERM, _on_signal)


def serve(app: WSGIApp, host: str, port: int, delay: float = 0.0, grace: float = 30.0) -> None:
    """Serve ``app`` until SIGTERM (drained as above) or Ctrl-C."""
    server = StreamingWSGIServer((host, port), app)
    drain_on_sigterm(server, delay, grace)
    log.info("serving on http://%s:%d (streaming bodies; drain grace %.0fs)", host, port, grace)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()  # no new connections from here on
    if server.draining.is_set():
        left = server.in_flight()
        finished = server.wait_idle(grace)
        if finished:
            log.info("drained %d requests", left)
        else:
            log.warning("grace over with %d requests in flight", server.in_flight())
